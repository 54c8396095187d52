package load

import (
	"math"
	"slices"
	"time"
)

// Latency summarises the latencies of the requests of one run.
type Latency struct {
	P50, P90, P99, Max time.Duration
}

// Percentile returns the nearest-rank p-th percentile (0 < p ≤ 100) of
// sorted: the smallest sample that at least p % of the samples do not
// exceed. It returns 0 for no samples; p ≤ 0 gives the minimum.
func Percentile(sorted []time.Duration, p float64) time.Duration {
	n := len(sorted)
	if n == 0 {
		return 0
	}
	if p <= 0 {
		return sorted[0]
	}
	if p >= 100 {
		return sorted[n-1]
	}
	// A small epsilon keeps p*n that is an integer in exact arithmetic
	// (e.g. 0.9*10) from rounding up past it in floating point.
	rank := int(math.Ceil(p/100*float64(n) - 1e-9))
	if rank < 1 {
		rank = 1
	}
	return sorted[rank-1]
}

// summarise sorts samples in place and returns their percentiles.
func summarise(samples []time.Duration) Latency {
	slices.Sort(samples)
	return Latency{
		P50: Percentile(samples, 50),
		P90: Percentile(samples, 90),
		P99: Percentile(samples, 99),
		Max: Percentile(samples, 100),
	}
}
