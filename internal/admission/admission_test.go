package admission_test

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"testing/fstest"
	"time"

	"github.com/uid2-private-operator/uid2-operator/internal/admission"
	"github.com/uid2-private-operator/uid2-operator/internal/clock"
)

func TestAcquireWithinBudget(t *testing.T) {
	c := admission.New(admission.Config{Budget: 100, Slots: 3})
	var releases []func()
	for _, cost := range []int64{40, 30, 30} {
		rel, err := c.Acquire(context.Background(), cost)
		if err != nil {
			t.Fatalf("Acquire(%d) = %v; want admitted", cost, err)
		}
		releases = append(releases, rel)
	}
	if got := c.Stats(); got.InUse != 100 || got.Running != 3 {
		t.Fatalf("Stats() = %+v; want InUse 100, Running 3", got)
	}
	// Full: MaxWait 0 rejects at once.
	if _, err := c.Acquire(context.Background(), 1); !errors.Is(err, admission.ErrBusy) {
		t.Fatalf("Acquire over budget = %v; want ErrBusy", err)
	}
	for _, rel := range releases {
		rel()
		rel() // a second call is a no-op
	}
	if got := c.Stats(); got.InUse != 0 || got.Running != 0 || got.Rejected != 1 {
		t.Fatalf("Stats() after release = %+v; want zero use, 1 rejected", got)
	}
}

func TestSlotsBound(t *testing.T) {
	c := admission.New(admission.Config{Slots: 1})
	rel, err := c.Acquire(context.Background(), 0)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.Acquire(context.Background(), 0); !errors.Is(err, admission.ErrBusy) {
		t.Fatalf("second Acquire with one slot = %v; want ErrBusy", err)
	}
	rel()
	if _, err := c.Acquire(context.Background(), 0); err != nil {
		t.Fatalf("Acquire after release = %v", err)
	}
}

func TestOversizedRequestRunsAlone(t *testing.T) {
	c := admission.New(admission.Config{Budget: 10})
	rel, err := c.Acquire(context.Background(), 1000)
	if err != nil {
		t.Fatalf("Acquire(cost > budget) on an idle controller = %v; want admitted", err)
	}
	if _, err := c.Acquire(context.Background(), 1); !errors.Is(err, admission.ErrBusy) {
		t.Fatalf("Acquire beside an oversized request = %v; want ErrBusy", err)
	}
	rel()
}

func TestWaiterGrantedOnRelease(t *testing.T) {
	clk := clock.NewFake(time.Unix(0, 0))
	c := admission.New(admission.Config{Budget: 10, MaxWait: time.Hour, Clock: clk})
	rel, err := c.Acquire(context.Background(), 10)
	if err != nil {
		t.Fatal(err)
	}
	got := make(chan error, 1)
	go func() {
		rel2, err := c.Acquire(context.Background(), 5)
		if err == nil {
			rel2()
		}
		got <- err
	}()
	waitQueued(t, clk, c, 1)
	rel()
	if err := <-got; err != nil {
		t.Fatalf("queued Acquire = %v; want admitted after release", err)
	}
}

func TestQueueIsFIFO(t *testing.T) {
	clk := clock.NewFake(time.Unix(0, 0))
	c := admission.New(admission.Config{Budget: 10, MaxWait: time.Hour, Clock: clk})
	rel, err := c.Acquire(context.Background(), 10)
	if err != nil {
		t.Fatal(err)
	}
	// A large waiter first, then a small one that would fit alone: the
	// small one must not overtake it.
	order := make(chan int64, 2)
	var wg sync.WaitGroup
	for i, cost := range []int64{10, 1} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r, err := c.Acquire(context.Background(), cost)
			if err != nil {
				t.Error(err)
				return
			}
			order <- cost
			r()
		}()
		waitQueued(t, clk, c, i+1)
	}
	rel()
	wg.Wait()
	if first := <-order; first != 10 {
		t.Fatalf("first admitted cost = %d; want the head of the queue (10)", first)
	}
}

func TestWaitTimesOut(t *testing.T) {
	clk := clock.NewFake(time.Unix(0, 0))
	c := admission.New(admission.Config{Slots: 1, MaxWait: time.Second, Clock: clk})
	rel, err := c.Acquire(context.Background(), 0)
	if err != nil {
		t.Fatal(err)
	}
	defer rel()
	got := make(chan error, 1)
	go func() { _, err := c.Acquire(context.Background(), 0); got <- err }()
	waitQueued(t, clk, c, 1)
	clk.Advance(999 * time.Millisecond)
	select {
	case err := <-got:
		t.Fatalf("Acquire before MaxWait = %v; want it still waiting", err)
	default:
	}
	clk.Advance(time.Millisecond)
	if err := <-got; !errors.Is(err, admission.ErrBusy) {
		t.Fatalf("Acquire past MaxWait = %v; want ErrBusy", err)
	}
	if got := c.Stats(); got.Waiting != 0 || got.Rejected != 1 {
		t.Fatalf("Stats() = %+v; want an empty queue and 1 rejected", got)
	}
}

func TestContextCancelLeavesQueue(t *testing.T) {
	clk := clock.NewFake(time.Unix(0, 0))
	c := admission.New(admission.Config{Slots: 1, MaxWait: time.Hour, Clock: clk})
	rel, err := c.Acquire(context.Background(), 0)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	got := make(chan error, 1)
	go func() { _, err := c.Acquire(ctx, 0); got <- err }()
	waitQueued(t, clk, c, 1)
	cancel()
	if err := <-got; !errors.Is(err, context.Canceled) {
		t.Fatalf("Acquire with cancelled ctx = %v; want context.Canceled", err)
	}
	rel()
	if got := c.Stats(); got.Running != 0 || got.Waiting != 0 || got.Rejected != 0 {
		t.Fatalf("Stats() = %+v; want idle with nothing rejected", got)
	}
}

func TestMaxQueue(t *testing.T) {
	clk := clock.NewFake(time.Unix(0, 0))
	c := admission.New(admission.Config{Slots: 1, MaxWait: time.Hour, MaxQueue: 1, Clock: clk})
	rel, err := c.Acquire(context.Background(), 0)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { c.Acquire(ctx, 0); close(done) }()
	waitQueued(t, clk, c, 1)
	if _, err := c.Acquire(context.Background(), 0); !errors.Is(err, admission.ErrBusy) {
		t.Fatalf("Acquire with a full queue = %v; want ErrBusy", err)
	}
	cancel()
	<-done
	rel()
}

// TestConcurrentNeverExceeds hammers a controller from many goroutines
// (run with -race) and checks the bounds hold at every admission.
func TestConcurrentNeverExceeds(t *testing.T) {
	const budget, slots = 100, 4
	c := admission.New(admission.Config{Budget: budget, Slots: slots, MaxWait: time.Second})
	var inUse, running, admitted atomic.Int64
	var wg sync.WaitGroup
	for g := range 32 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 50 {
				cost := int64((g*7+i)%40 + 1)
				rel, err := c.Acquire(context.Background(), cost)
				if err != nil {
					continue
				}
				admitted.Add(1)
				if u := inUse.Add(cost); u > budget {
					t.Errorf("in use %d > budget %d", u, budget)
				}
				if r := running.Add(1); r > slots {
					t.Errorf("running %d > slots %d", r, slots)
				}
				running.Add(-1)
				inUse.Add(-cost)
				rel()
			}
		}()
	}
	wg.Wait()
	if s := c.Stats(); s.InUse != 0 || s.Running != 0 || s.Waiting != 0 {
		t.Fatalf("Stats() after all released = %+v; want idle", s)
	}
	if admitted.Load() == 0 {
		t.Fatal("nothing admitted")
	}
}

func TestRequestCostAndBudget(t *testing.T) {
	const maxBody = 1 << 20
	if a, b := admission.RequestCost(1000, maxBody), admission.RequestCost(2000, maxBody); a >= b {
		t.Errorf("RequestCost grows with the body: %d for 1000 B, %d for 2000 B", a, b)
	}
	if got, want := admission.RequestCost(-1, maxBody), admission.RequestCost(maxBody, maxBody); got != want {
		t.Errorf("RequestCost(unknown length) = %d; want the max-body cost %d", got, want)
	}
	if got, want := admission.RequestCost(10*maxBody, maxBody), admission.RequestCost(maxBody, maxBody); got != want {
		t.Errorf("RequestCost(over max) = %d; want %d", got, want)
	}
	if got := admission.Budget(0); got != admission.DefaultBudget {
		t.Errorf("Budget(0) = %d; want DefaultBudget", got)
	}
	if got, want := admission.Budget(1<<30), int64(1<<30)/100*admission.BudgetPercent; got != want {
		t.Errorf("Budget(1 GiB) = %d; want %d", got, want)
	}
}

func TestContainerMemoryLimit(t *testing.T) {
	tests := []struct {
		name    string
		files   map[string]string
		want    int64
		wantSrc string
	}{
		{"no cgroup files", nil, 0, ""},
		{"v2 namespaced root", map[string]string{
			"proc/self/cgroup":         "0::/\n",
			"sys/fs/cgroup/memory.max": "1073741824\n",
		}, 1 << 30, "/sys/fs/cgroup/memory.max"},
		{"v2 max is no limit", map[string]string{
			"proc/self/cgroup":         "0::/\n",
			"sys/fs/cgroup/memory.max": "max\n",
		}, 0, ""},
		{"v2 nested, parent smaller", map[string]string{
			"proc/self/cgroup":                          "0::/kubepods/pod1/c1\n",
			"sys/fs/cgroup/kubepods/pod1/c1/memory.max": "max\n",
			"sys/fs/cgroup/kubepods/pod1/memory.max":    "536870912\n",
			"sys/fs/cgroup/kubepods/memory.max":         "8589934592\n",
		}, 512 << 20, "/sys/fs/cgroup/kubepods/pod1/memory.max"},
		{"v1 memory controller", map[string]string{
			"proc/self/cgroup": "4:memory:/docker/abc\n3:cpu,cpuacct:/docker/abc\n0::/\n",
			"sys/fs/cgroup/memory/docker/abc/memory.limit_in_bytes": "2147483648\n",
		}, 2 << 30, "/sys/fs/cgroup/memory/docker/abc/memory.limit_in_bytes"},
		{"v1 unlimited", map[string]string{
			"proc/self/cgroup":                           "4:memory:/\n",
			"sys/fs/cgroup/memory/memory.limit_in_bytes": "9223372036854771712\n",
		}, 0, ""},
		{"v1 path not mounted, root file used", map[string]string{
			"proc/self/cgroup":                           "4:memory:/process_api/x\n",
			"sys/fs/cgroup/memory/memory.limit_in_bytes": "1073741824\n",
		}, 1 << 30, "/sys/fs/cgroup/memory/memory.limit_in_bytes"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fsys := fstest.MapFS{}
			for name, data := range tt.files {
				fsys[name] = &fstest.MapFile{Data: []byte(data)}
			}
			got, src, err := admission.ContainerMemoryLimit(fsys)
			if err != nil || got != tt.want || src != tt.wantSrc {
				t.Fatalf("ContainerMemoryLimit() = %d, %q, %v; want %d, %q, nil", got, src, err, tt.want, tt.wantSrc)
			}
		})
	}
	t.Run("garbage", func(t *testing.T) {
		fsys := fstest.MapFS{
			"proc/self/cgroup":         {Data: []byte("0::/\n")},
			"sys/fs/cgroup/memory.max": {Data: []byte("lots\n")},
		}
		if _, _, err := admission.ContainerMemoryLimit(fsys); err == nil {
			t.Fatal("ContainerMemoryLimit(memory.max = lots) = nil error; want an error naming the file")
		}
	})
}

// waitQueued waits until n requests are queued: a waiter arms its MaxWait
// timer on the fake clock right after joining the queue, so n armed timers
// mean n waiters, with no polling.
func waitQueued(t *testing.T, clk *clock.Fake, c *admission.Controller, n int) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := clk.BlockUntil(ctx, n); err != nil {
		t.Fatalf("%d waiters never queued: %v", n, err)
	}
	if got := c.Stats().Waiting; got != n {
		t.Fatalf("Stats().Waiting = %d with %d timers armed; want %d", got, n, n)
	}
}
