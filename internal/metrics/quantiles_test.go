package metrics_test

import (
	"math"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"

	"github.com/uid2-private-operator/uid2-operator/internal/metrics"
)

// fakeClock is a settable clock.
type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *fakeClock) Now() time.Time          { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *fakeClock) Advance(d time.Duration) { c.mu.Lock(); c.t = c.t.Add(d); c.mu.Unlock() }

func collectSummary(t *testing.T, s *metrics.QuantileSummary) *dto.Summary {
	sum, _ := collect(t, s)
	return sum
}

// collect gathers s: its one summary and, with WithMax, its _max gauge (NaN
// without).
func collect(t *testing.T, s *metrics.QuantileSummary) (*dto.Summary, float64) {
	t.Helper()
	reg := prometheus.NewRegistry()
	reg.MustRegister(s)
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	var sum *dto.Summary
	maxValue := math.NaN()
	for _, mf := range mfs {
		if len(mf.Metric) != 1 {
			t.Fatalf("%s: %d series", mf.GetName(), len(mf.Metric))
		}
		switch {
		case mf.GetName() == metrics.VertxResponseTime.Name && mf.GetType() == dto.MetricType_SUMMARY:
			sum = mf.Metric[0].GetSummary()
		case mf.GetName() == metrics.VertxResponseTimeMax.Name && mf.GetType() == dto.MetricType_GAUGE:
			maxValue = mf.Metric[0].GetGauge().GetValue()
		default:
			t.Fatalf("family %s of type %v", mf.GetName(), mf.GetType())
		}
	}
	if sum == nil {
		t.Fatal("no summary gathered")
	}
	return sum, maxValue
}

func quantile(s *dto.Summary, q float64) float64 {
	for _, x := range s.GetQuantile() {
		if x.GetQuantile() == q {
			return x.GetValue()
		}
	}
	return math.NaN()
}

func TestQuantileSummaryEstimates(t *testing.T) {
	clock := &fakeClock{t: time.Unix(1_800_000_000, 0)}
	s := metrics.VertxResponseTime.NewQuantileSummary([]float64{0.5, 0.9, 0.99}, clock.Now).WithMax(metrics.VertxResponseTimeMax)
	c := s.With("200", "POST", "/v2/token/generate")
	if s.With("200", "POST", "/v2/token/generate") != c {
		t.Fatal("With returned a second child for the same labels")
	}
	// 1 ms … 1000 ms, uniform.
	var sum float64
	for i := 1; i <= 1000; i++ {
		v := float64(i) / 1000
		c.Observe(v)
		sum += v
	}
	got, slowest := collect(t, s)
	if slowest != 1 {
		t.Errorf("_max = %v; want 1", slowest)
	}
	if got.GetSampleCount() != 1000 || math.Abs(got.GetSampleSum()-sum) > 1e-9 {
		t.Errorf("count %d sum %v; want 1000, %v", got.GetSampleCount(), got.GetSampleSum(), sum)
	}
	for q, want := range map[float64]float64{0.5: 0.5, 0.9: 0.9, 0.99: 0.99} {
		if v := quantile(got, q); math.Abs(v-want)/want > 0.1 {
			t.Errorf("q%v = %v; want %v ± 10%%", q, v, want)
		}
	}
}

func TestQuantileSummaryWindow(t *testing.T) {
	clock := &fakeClock{t: time.Unix(1_800_000_000, 0)}
	s := metrics.VertxResponseTime.NewQuantileSummary([]float64{0.99}, clock.Now).WithMax(metrics.VertxResponseTimeMax)
	c := s.With("200", "GET", "/ops/healthcheck")
	for range 100 {
		c.Observe(2) // a slow period
	}
	clock.Advance(3 * 40 * time.Second) // past the 2-minute window
	for range 100 {
		c.Observe(0.001)
	}
	got, slowest := collect(t, s)
	if slowest != 0.001 {
		t.Errorf("_max = %v after the slow period left the window; want 0.001", slowest)
	}
	if v := quantile(got, 0.99); v > 0.0015 {
		t.Errorf("q0.99 = %v after the slow period left the window; want about 0.001", v)
	}
	if got.GetSampleCount() != 200 {
		t.Errorf("count %d; want the cumulative 200", got.GetSampleCount())
	}
	clock.Advance(10 * time.Minute)
	if got, slowest := collect(t, s); quantile(got, 0.99) != 0 || slowest != 0 {
		t.Errorf("q0.99 = %v, _max = %v with an empty window; want 0, 0", quantile(got, 0.99), slowest)
	}
}

// A late observation, stamped with a period that has left the window and
// whose slot a newer period now owns, must not clear the newer counts.
func TestQuantileSummaryLateObservation(t *testing.T) {
	clock := &fakeClock{t: time.Unix(1_800_000_000, 0)}
	s := metrics.VertxResponseTime.NewQuantileSummary([]float64{0.99}, clock.Now).WithMax(metrics.VertxResponseTimeMax)
	c := s.With("200", "POST", "/v2/identity/map")
	for range 100 {
		c.Observe(0.001)
	}
	c.ObserveAt(5, clock.Now().Add(-3*40*time.Second))
	got, slowest := collect(t, s)
	if slowest != 0.001 {
		t.Errorf("_max = %v; want 0.001 (the late observation is outside the window)", slowest)
	}
	if v := quantile(got, 0.99); v < 0.0009 || v > 0.0011 {
		t.Errorf("q0.99 = %v; want about 0.001", v)
	}
	if got.GetSampleCount() != 101 || math.Abs(got.GetSampleSum()-5.1) > 1e-9 {
		t.Errorf("count %d sum %v; want 101, 5.1", got.GetSampleCount(), got.GetSampleSum())
	}
}

// An observation stamped before 1970 counts in _count and _sum only; it
// used to index the slot ring with a negative number and panic.
func TestQuantileObserveBefore1970(t *testing.T) {
	s := metrics.VertxResponseTime.NewQuantileSummary([]float64{0.9}, nil)
	s.With("200", "GET", "/x").ObserveAt(0.5, time.Unix(-100, 0))
	if got := collectSummary(t, s); got.GetSampleCount() != 1 || quantile(got, 0.9) != 0 {
		t.Errorf("count %d q0.9 %v; want 1, 0", got.GetSampleCount(), quantile(got, 0.9))
	}
}

func TestQuantileSummaryWrongLabelCount(t *testing.T) {
	s := metrics.VertxResponseTime.NewQuantileSummary([]float64{0.9}, nil)
	defer func() {
		if recover() == nil {
			t.Error("With with 2 of 3 label values did not panic")
		}
	}()
	s.With("200", "POST")
}

func TestQuantileSummaryConcurrent(t *testing.T) {
	s := metrics.VertxResponseTime.NewQuantileSummary([]float64{0.9}, nil)
	c := s.With("200", "POST", "/x")
	var wg sync.WaitGroup
	for range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 1000 {
				c.Observe(float64(i) / 1e4)
			}
		}()
	}
	wg.Wait()
	if got := collectSummary(t, s).GetSampleCount(); got != 4000 {
		t.Fatalf("count %d; want 4000", got)
	}
}

func TestQuantileObserveDoesNotAllocate(t *testing.T) {
	c := metrics.VertxResponseTime.NewQuantileSummary([]float64{0.9}, nil).With("200", "POST", "/x")
	now := time.Now()
	if n := testing.AllocsPerRun(100, func() { c.ObserveAt(0.01, now) }); n != 0 {
		t.Fatalf("ObserveAt: %v allocs", n)
	}
}

func BenchmarkQuantileObserve(b *testing.B) {
	c := metrics.VertxResponseTime.NewQuantileSummary([]float64{0.9, 0.95, 0.99}, nil).With("200", "POST", "/x")
	now := time.Now()
	for i := 0; b.Loop(); i++ {
		c.ObserveAt(float64(i%1000)*1e-5, now)
	}
}
