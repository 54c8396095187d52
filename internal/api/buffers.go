package api

import "sync"

// Response buffers are recycled: a 5,000-identity map answer is several
// hundred KiB, and allocating it (plus its sealed copy) per request makes
// the garbage collector a large share of the CPU.
const (
	minPooledBuf = 4 << 10
	maxPooledBuf = 8 << 20 // larger buffers are left to the GC
)

type bufPool struct{ p sync.Pool }

// get returns an empty buffer with capacity at least n.
func (bp *bufPool) get(n int) []byte {
	if v, ok := bp.p.Get().(*[]byte); ok && cap(*v) >= n {
		return (*v)[:0]
	} else if ok {
		bp.p.Put(v)
	}
	return make([]byte, 0, max(n, minPooledBuf))
}

// put recycles b; the caller must not use it afterwards.
func (bp *bufPool) put(b []byte) {
	if cap(b) < minPooledBuf || cap(b) > maxPooledBuf {
		return
	}
	b = b[:0]
	bp.p.Put(&b)
}
