package api

import "testing"

func TestBufPoolClasses(t *testing.T) {
	var bp bufPool
	for _, n := range []int{0, 1, 4 << 10, 4<<10 + 1, 1 << 20, 1<<20 + 1, 3 << 20, 8 << 20, 8<<20 + 1} {
		b := bp.get(n)
		if cap(b) < n || len(b) != 0 {
			t.Fatalf("get(%d) = len %d cap %d", n, len(b), cap(b))
		}
		bp.put(b)
		if b2 := bp.get(n); cap(b2) < n {
			t.Fatalf("get(%d) after put = cap %d", n, cap(b2))
		}
	}
	// A buffer whose capacity is not a class size serves the class below.
	bp.put(make([]byte, 0, 3<<20))
	for range 4 {
		if b := bp.get(3 << 20); cap(b) < 3<<20 {
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
	var bp bufPool
	bp.put(bp.get(16 << 10))
	if n := testing.AllocsPerRun(1000, func() { bp.put(bp.get(16 << 10)) }); n > 0.01 {
		t.Errorf("get+put = %v allocs; want 0", n)
	}
}
