package bufpool

import (
	"bytes"
	"errors"
	"io"
	"testing"
)

func TestBufPoolClasses(t *testing.T) {
	var bp Pool
	for _, n := range []int{0, 1, 4 << 10, 4<<10 + 1, 1 << 20, 1<<20 + 1, 3 << 20, 8 << 20, 8<<20 + 1} {
		b := bp.Get(n)
		if cap(b) < n || len(b) != 0 {
			t.Fatalf("get(%d) = len %d cap %d", n, len(b), cap(b))
		}
		bp.Put(b)
		if b2 := bp.Get(n); cap(b2) < n {
			t.Fatalf("get(%d) after put = cap %d", n, cap(b2))
		}
	}
	// A buffer whose capacity is not a class size serves the class below.
	bp.Put(make([]byte, 0, 3<<20))
	for range 4 {
		if b := bp.Get(3 << 20); cap(b) < 3<<20 {
			t.Fatalf("get(3 MiB) = cap %d", cap(b))
		}
	}
}

// TestBufPoolNoAllocs: a get/put pair in steady state allocates nothing
// (the pointer boxes are recycled with the buffers).
func TestBufPoolNoAllocs(t *testing.T) {
	if raceEnabled {
		t.Skip("sync.Pool drops items at random under the race detector")
	}
	var bp Pool
	bp.Put(bp.Get(16 << 10))
	if n := testing.AllocsPerRun(1000, func() { bp.Put(bp.Get(16 << 10)) }); n > 0.01 {
		t.Errorf("get+put = %v allocs; want 0", n)
	}
}

// oneByteReader returns its data a byte at a time, then err.
type oneByteReader struct {
	data []byte
	err  error
}

func (r *oneByteReader) Read(p []byte) (int, error) {
	if len(r.data) == 0 {
		return 0, r.err
	}
	p[0] = r.data[0]
	r.data = r.data[1:]
	return 1, nil
}

func TestReadAll(t *testing.T) {
	for _, n := range []int{0, 1, 100, 512, 513, 5000} {
		data := bytes.Repeat([]byte{'x'}, n)
		buf := make([]byte, min(7, n), n) // exactly the data's size, with stale content
		got, err := ReadAll(&oneByteReader{data: data, err: io.EOF}, buf)
		if err != nil || !bytes.Equal(got, data) {
			t.Fatalf("ReadAll(%d bytes) = %d bytes, %v", n, len(got), err)
		}
		if n > 0 && &got[0] != &buf[:1][0] {
			t.Errorf("ReadAll(%d bytes) into a buffer of that size grew it", n)
		}
		if got, _ := ReadAll(bytes.NewReader(data), nil); !bytes.Equal(got, data) {
			t.Errorf("ReadAll(%d bytes) into nil = %d bytes", n, len(got))
		}
	}
	boom := errors.New("boom")
	if _, err := ReadAll(&oneByteReader{data: []byte("ab"), err: boom}, nil); err != boom {
		t.Errorf("ReadAll error = %v; want boom", err)
	}
}
