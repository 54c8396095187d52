package load

import (
	"testing"
	"time"
)

func TestPercentile(t *testing.T) {
	seq := func(n int) []time.Duration { // 1…n ms
		s := make([]time.Duration, n)
		for i := range s {
			s[i] = time.Duration(i+1) * time.Millisecond
		}
		return s
	}
	tests := []struct {
		n    int
		p    float64
		want time.Duration // ms
	}{
		{0, 50, 0},
		{1, 50, 1}, {1, 99, 1}, {1, 100, 1},
		{2, 50, 1}, {2, 51, 2},
		{10, 0, 1}, {10, 10, 1}, {10, 50, 5}, {10, 90, 9}, {10, 91, 10}, {10, 99, 10}, {10, 100, 10},
		{100, 50, 50}, {100, 90, 90}, {100, 99, 99}, {100, 99.5, 100},
		{1000, 99, 990}, {1000, 99.9, 999},
		{3, 100.0 / 3, 1}, {3, 66.67, 3},
	}
	for _, tt := range tests {
		want := tt.want * time.Millisecond
		if got := Percentile(seq(tt.n), tt.p); got != want {
			t.Errorf("Percentile(1…%d ms, %v) = %v; want %v", tt.n, tt.p, got, want)
		}
	}
}

func TestSummariseSorts(t *testing.T) {
	samples := []time.Duration{9, 3, 7, 1, 5, 10, 2, 8, 4, 6}
	got := summarise(samples)
	want := Latency{P50: 5, P90: 9, P99: 10, Max: 10}
	if got != want {
		t.Errorf("summarise = %+v; want %+v", got, want)
	}
	if samples[0] != 1 || samples[9] != 10 {
		t.Errorf("samples not sorted in place: %v", samples)
	}
}
