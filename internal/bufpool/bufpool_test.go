package bufpool

import "testing"

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
