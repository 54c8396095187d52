package metrics

import (
	"fmt"
	"math"
	"slices"
	"sort"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// QuantileSummary is a summary family whose quantiles are estimated at scrape
// time from bucketed counts over a sliding window, the way Micrometer's
// percentiles behave in the reference (a ring of 3 buffers over a 2-minute
// expiry). An observation costs a few atomic adds; client_golang's summary
// with objectives sorts and merges a quantile stream under a lock (about
// 600 ns per observation, measured), too much for every request.
//
// Estimates come from buckets 10% apart, interpolated linearly, so a
// quantile is within 10% of the exact value. _count and _sum are
// cumulative, as in Micrometer. With no observation in the window the
// quantiles are 0, as Micrometer reports them. WithMax adds Micrometer's
// companion _max gauge: the largest observation in the window.
type QuantileSummary struct {
	desc      *prometheus.Desc
	labels    int              // number of label values With takes
	maxDesc   *prometheus.Desc // nil: no _max gauge
	quantiles []float64
	now       func() time.Time

	mu       sync.Mutex // guards children
	children []*QuantileChild
}

// Window layout: quantileSlots buffers of quantileSlotLen each.
const (
	quantileSlots   = 3
	quantileSlotLen = 40 * time.Second
)

// quantileBounds are the bucket upper bounds: 50 µs × 1.1^i up to ~60 s
// (about 150 buckets).
var quantileBounds = func() []float64 {
	var b []float64
	for v := 50e-6; v < 60; v *= 1.1 {
		b = append(b, v)
	}
	return b
}()

// NewQuantileSummary returns a summary for f with the given quantiles. now
// is time.Now when nil.
func (f Family) NewQuantileSummary(quantiles []float64, now func() time.Time) *QuantileSummary {
	f.must(Summary)
	if now == nil {
		now = time.Now
	}
	return &QuantileSummary{desc: f.Desc(), labels: len(f.Labels), quantiles: quantiles, now: now}
}

// WithMax makes s also report f, a gauge with s's labels, as the largest
// observation in the window; call it before registering s.
func (s *QuantileSummary) WithMax(f Family) *QuantileSummary {
	f.must(Gauge)
	s.maxDesc = f.Desc()
	return s
}

// With returns the child for label values lvs (in f.Labels order),
// creating it on first use. Callers cache children; With takes a lock.
// Like client_golang's WithLabelValues it panics on a wrong number of
// values: here, in the caller, rather than later in a scrape's Collect,
// where the panic would end the process.
func (s *QuantileSummary) With(lvs ...string) *QuantileChild {
	if len(lvs) != s.labels {
		panic(fmt.Sprintf("metrics: %d label values for a summary with %d labels", len(lvs), s.labels))
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, c := range s.children {
		if slices.Equal(c.labels, lvs) {
			return c
		}
	}
	c := &QuantileChild{labels: append([]string(nil), lvs...), now: s.now}
	for i := range c.slots {
		c.slots[i].counts = make([]atomic.Uint64, len(quantileBounds)+1)
	}
	s.children = append(s.children, c)
	return c
}

// Describe implements prometheus.Collector.
func (s *QuantileSummary) Describe(ch chan<- *prometheus.Desc) {
	ch <- s.desc
	if s.maxDesc != nil {
		ch <- s.maxDesc
	}
}

// Collect implements prometheus.Collector.
func (s *QuantileSummary) Collect(ch chan<- prometheus.Metric) {
	s.mu.Lock()
	children := append([]*QuantileChild(nil), s.children...)
	s.mu.Unlock()
	epoch := s.now().UnixNano() / int64(quantileSlotLen)
	counts := make([]uint64, len(quantileBounds)+1)
	for _, c := range children {
		clear(counts)
		maxBits := c.windowCounts(epoch, counts)
		qs := make(map[float64]float64, len(s.quantiles))
		for _, q := range s.quantiles {
			qs[q] = estimate(counts, q)
		}
		ch <- prometheus.MustNewConstSummary(s.desc, c.count.Load(), math.Float64frombits(c.sum.Load()), qs, c.labels...)
		if s.maxDesc != nil {
			ch <- prometheus.MustNewConstMetric(s.maxDesc, prometheus.GaugeValue, math.Float64frombits(maxBits), c.labels...)
		}
	}
}

// QuantileChild is one label set of a QuantileSummary; safe for concurrent use.
type QuantileChild struct {
	labels []string
	now    func() time.Time
	count  atomic.Uint64
	sum    atomic.Uint64 // float64 bits
	slots  [quantileSlots]quantileSlot
}

type quantileSlot struct {
	epoch  atomic.Int64 // which slot-length period the counts belong to
	counts []atomic.Uint64
	// max holds the float64 bits of the largest observation; for
	// non-negative floats the bit patterns order like the values.
	max atomic.Uint64
}

// Observe records v (seconds) now.
func (c *QuantileChild) Observe(v float64) { c.ObserveAt(v, c.now()) }

// ObserveAt records v as observed at t. An observation whose period has
// already left the window counts in _count and _sum only.
func (c *QuantileChild) ObserveAt(v float64, t time.Time) {
	c.count.Add(1)
	for {
		old := c.sum.Load()
		if c.sum.CompareAndSwap(old, math.Float64bits(math.Float64frombits(old)+v)) {
			break
		}
	}
	epoch := t.UnixNano() / int64(quantileSlotLen)
	if epoch < 0 {
		return // before 1970 (a zero or bogus time): no slot, and a negative index would panic
	}
	s := &c.slots[epoch%quantileSlots]
	if e := s.epoch.Load(); e != epoch {
		if e > epoch {
			// t's period has already left the window and a newer one owns
			// the slot: clearing it for t would wipe the newer counts.
			return
		}
		// The slot holds an expired period: the first observer of the new
		// one clears it. Concurrent observations at that instant may be
		// lost; the estimate tolerates that.
		if s.epoch.CompareAndSwap(e, epoch) {
			for i := range s.counts {
				s.counts[i].Store(0)
			}
			s.max.Store(0)
		}
	}
	s.counts[sort.SearchFloat64s(quantileBounds, v)].Add(1)
	if v > 0 {
		bits := math.Float64bits(v)
		for old := s.max.Load(); bits > old && !s.max.CompareAndSwap(old, bits); old = s.max.Load() {
		}
	}
}

// windowCounts adds the counts of the slots inside the window ending at
// epoch to dst and returns the float64 bits of their largest observation.
func (c *QuantileChild) windowCounts(epoch int64, dst []uint64) (maxBits uint64) {
	for i := range c.slots {
		s := &c.slots[i]
		if e := s.epoch.Load(); e > epoch-quantileSlots && e <= epoch {
			for j := range s.counts {
				dst[j] += s.counts[j].Load()
			}
			maxBits = max(maxBits, s.max.Load())
		}
	}
	return maxBits
}

// estimate returns the q-quantile of bucketed counts, interpolating linearly
// inside the bucket that holds it; 0 without observations.
func estimate(counts []uint64, q float64) float64 {
	var total uint64
	for _, n := range counts {
		total += n
	}
	if total == 0 {
		return 0
	}
	rank := q * float64(total)
	var seen float64
	for i, n := range counts {
		if n == 0 {
			continue
		}
		if seen+float64(n) >= rank {
			if i == len(quantileBounds) {
				return quantileBounds[i-1] // past the last bound
			}
			lo := 0.0
			if i > 0 {
				lo = quantileBounds[i-1]
			}
			return lo + (quantileBounds[i]-lo)*(rank-seen)/float64(n)
		}
		seen += float64(n)
	}
	return quantileBounds[len(quantileBounds)-1]
}
