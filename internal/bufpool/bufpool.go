// Package bufpool recycles the large byte buffers of the API's bulk
// requests and responses (a 1 MiB identity-map body and its multi-MiB
// answer): one sync.Pool per power-of-two size class from 4 KiB to 8 MiB.
//
// Ownership: a buffer from Get belongs to the caller until it hands it to
// Put; after Put the caller must not touch it (nor any slice of it).
package bufpool

import (
	"io"
	"math/bits"
	"sync"
)

// Buffers of large requests and responses are recycled: a 1 MiB map
// request and its multi-MiB answer, allocated per request, make the
// garbage collector a large share of the CPU and let the heap grow with
// garbage. The pool keeps one sync.Pool per power-of-two size class, so a
// request for a large buffer never pulls (and drops) a smaller one.
const (
	minPooledBuf = 4 << 10
	maxPooledBuf = 8 << 20 // larger buffers are left to the GC
)

// sizeClasses covers minPooledBuf to maxPooledBuf.
const sizeClasses = 12 // 4 KiB << 11 = 8 MiB

// A Pool holds *[]byte (a slice in an interface would allocate its
// header on every Put). The pointers themselves are recycled through boxes:
// Get empties the one it took, Put refills one, so a Get/Put pair in steady
// state allocates nothing. The zero Pool is ready; it is safe for
// concurrent use.
type Pool struct {
	classes [sizeClasses]sync.Pool
	boxes   sync.Pool // empty *[]byte
}

// class returns the smallest class whose buffers hold n bytes.
func class(n int) int {
	if n <= minPooledBuf {
		return 0
	}
	return bits.Len(uint(n-1)) - bits.Len(uint(minPooledBuf-1))
}

// Get returns an empty buffer with capacity at least n.
func (bp *Pool) Get(n int) []byte {
	c := class(n)
	if c >= sizeClasses {
		return make([]byte, 0, n)
	}
	if v, ok := bp.classes[c].Get().(*[]byte); ok {
		b := (*v)[:0]
		*v = nil // the box must not keep the buffer alive
		bp.boxes.Put(v)
		return b
	}
	return make([]byte, 0, minPooledBuf<<c)
}

// Put recycles b; the caller must not use it afterwards. A buffer goes to
// the largest class it can serve.
func (bp *Pool) Put(b []byte) {
	if cap(b) < minPooledBuf || cap(b) > maxPooledBuf {
		return
	}
	c := class(cap(b))
	if minPooledBuf<<c > cap(b) {
		c-- // cap is not a class size: it serves the class below
	}
	v, ok := bp.boxes.Get().(*[]byte)
	if !ok {
		v = new([]byte)
	}
	*v = b[:0]
	bp.classes[c].Put(v)
}

// ReadAll reads r to EOF into b[:0] and returns the data, growing b only
// when it does not fit: when b is full, a small read probes for EOF first,
// so data of exactly cap(b) bytes (a request body of its Content-Length)
// stays in b. On error it returns the error of r, EOF excluded.
func ReadAll(r io.Reader, b []byte) ([]byte, error) {
	b = b[:0]
	for {
		var n int
		var err error
		if len(b) == cap(b) {
			var probe [512]byte
			n, err = r.Read(probe[:])
			b = append(b, probe[:n]...)
		} else {
			n, err = r.Read(b[len(b):cap(b)])
			b = b[:len(b)+n]
		}
		if err == io.EOF {
			return b, nil
		}
		if err != nil {
			return b, err
		}
	}
}
