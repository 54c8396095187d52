package metrics_test

import (
	"strings"
	"sync"
	"testing"

	"github.com/uid2-private-operator/uid2-operator/internal/metrics"
)

func TestCache(t *testing.T) {
	var c metrics.Cache[int, string]
	if _, ok := c.Get(1); ok {
		t.Fatal("empty cache hit")
	}
	if got := c.Add(1, "a"); got != "a" {
		t.Fatalf("Add(1, a) = %q", got)
	}
	if got := c.Add(1, "b"); got != "a" {
		t.Fatalf("second Add(1, b) = %q; want the first value a", got)
	}
	if v, ok := c.Get(1); !ok || v != "a" {
		t.Fatalf("Get(1) = %q, %v", v, ok)
	}
	small := metrics.Cache[int, int]{Max: 2}
	for i := range 5 {
		if got := small.Add(i, i*10); got != i*10 {
			t.Fatalf("Add(%d) = %d", i, got)
		}
	}
	if small.Len() != 2 {
		t.Fatalf("Len = %d; want the bound 2", small.Len())
	}
	if _, ok := small.Get(4); ok {
		t.Fatal("an entry past Max was cached")
	}
}

func TestCacheConcurrent(t *testing.T) {
	var c metrics.Cache[int, int]
	var wg sync.WaitGroup
	for g := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 200 {
				k := (i + g) % 50
				if v, ok := c.Get(k); ok && v != k {
					t.Errorf("Get(%d) = %d", k, v)
				}
				if v := c.Add(k, k); v != k {
					t.Errorf("Add(%d) = %d", k, v)
				}
			}
		}()
	}
	wg.Wait()
	if c.Len() != 50 {
		t.Fatalf("Len = %d; want 50", c.Len())
	}
}

func TestBounded(t *testing.T) {
	b := metrics.Bounded{Max: 3, MaxLen: 8}
	for _, tc := range []struct{ in, want string }{
		{"a.example", metrics.Other}, // longer than MaxLen
		{"a:80", "a:80"},
		{"", metrics.Other},
		{"has space", metrics.Other},
		{"quo\"te", metrics.Other},
		{"ctl\x01", metrics.Other},
		{"naïve", metrics.Other},
		{"b", "b"},
		{"a:80", "a:80"},
		{"c", "c"},
		{"d", metrics.Other}, // past Max
		{"b", "b"},           // kept values stay
	} {
		if got := b.Label(tc.in); got != tc.want {
			t.Errorf("Label(%q) = %q; want %q", tc.in, got, tc.want)
		}
	}
}

// TestBoundedCopies: a kept label does not alias the caller's buffer.
func TestBoundedCopies(t *testing.T) {
	var b metrics.Bounded
	buf := []byte("v1.2.3")
	l := b.Label(string(buf[:])) // a conversion the compiler may not copy
	copy(buf, "XXXXXX")
	if l != "v1.2.3" || b.Label("v1.2.3") != "v1.2.3" {
		t.Fatalf("label changed with the caller's buffer: %q", l)
	}
}

func TestBoundedHitDoesNotAllocate(t *testing.T) {
	var b metrics.Bounded
	b.Label("api.example:443")
	host := strings.Clone("api.example:443")
	if n := testing.AllocsPerRun(100, func() { b.Label(host) }); n != 0 {
		t.Fatalf("Label on a kept value: %v allocs; want 0", n)
	}
}

func TestFamilies(t *testing.T) {
	seen := map[string]bool{}
	for _, f := range metrics.Families() {
		if seen[f.Name] {
			t.Errorf("%s listed twice", f.Name)
		}
		seen[f.Name] = true
		if f.Help == "" {
			t.Errorf("%s has no help", f.Name)
		}
		if (f.Kind == metrics.Counter) != strings.HasSuffix(f.Name, "_total") {
			t.Errorf("%s: a %s; counters and only counters end in _total", f.Name, f.Kind)
		}
		for _, l := range f.Labels {
			if l == "application" {
				t.Errorf("%s lists the common label", f.Name)
			}
		}
	}
	// Building each family as its kind works; the wrong kind panics.
	defer func() {
		if recover() == nil {
			t.Error("NewCounterVec on a gauge did not panic")
		}
	}()
	metrics.StoreVersion.NewCounterVec()
}
