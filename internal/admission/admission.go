// Package admission bounds what heavy requests (identity map v2/v3, buckets,
// opt-out status) hold at once, so that a flood of large requests queues and
// is turned away instead of growing the heap past the container's memory
// limit or starving small requests of CPU.
//
// A Controller admits a request that reserves a cost from a byte budget
// and one of a few slots. When either is exhausted the request waits in one
// FIFO queue for at most [Config.MaxWait]; a request still waiting then gets
// [ErrBusy], which the API answers with 429 and Retry-After. The API uses
// two: memory, charged [RequestCost] before a body is read, and CPU slots,
// taken once it is in. The budget is sized from the memory limit ([Budget],
// [ContainerMemoryLimit], [GoLimit]).
//
// A Controller is safe for concurrent use and does no I/O;
// ContainerMemoryLimit reads only the file system it is given. The package
// knows nothing of HTTP.
package admission

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"time"

	"github.com/uid2-private-operator/uid2-operator/internal/clock"
)

// Errors returned by Acquire.
var (
	// ErrBusy reports that the request waited MaxWait (or found the queue
	// full) without the budget or a slot becoming free.
	ErrBusy = errors.New("admission: too many heavy requests in progress")
)

// Config bounds heavy requests. The zero value admits everything at once.
type Config struct {
	// Budget is the memory, in bytes, that admitted requests may hold
	// together, as estimated by RequestCost; <= 0 means no memory bound. A
	// request costing more than the whole budget is charged the budget, so
	// it can still run alone.
	Budget int64
	// Slots is how many heavy requests may run at once; <= 0 means no
	// bound. Heavy requests are CPU-bound: a few per core keep the
	// scheduler's run queue short, so small requests stay fast.
	Slots int
	// MaxWait is how long a request waits in the queue before ErrBusy; 0
	// rejects at once when the request does not fit.
	MaxWait time.Duration
	// MaxQueue bounds the number of waiting requests; <= 0 means no bound
	// other than MaxWait.
	MaxQueue int
	// Clock times MaxWait; nil: the system clock. A waiting request arms
	// its timer after it joined the queue.
	Clock clock.Clock
}

// Controller admits requests against a Config. Create it with New.
type Controller struct {
	cfg Config

	// mu guards the fields that follow.
	mu      sync.Mutex
	used    int64     // bytes held by admitted requests
	running int       // admitted requests
	queue   []*waiter // FIFO; granted waiters are removed

	rejected atomic.Uint64
}

type waiter struct {
	cost  int64
	ready chan struct{} // closed when granted
}

// New returns a Controller for cfg.
func New(cfg Config) *Controller {
	return &Controller{cfg: cfg}
}

// Config returns the configuration c was created with.
func (c *Controller) Config() Config { return c.cfg }

// Stats is a point-in-time view of a Controller.
type Stats struct {
	InUse    int64  // bytes held by admitted requests
	Running  int    // admitted requests
	Waiting  int    // requests in the queue
	Rejected uint64 // ErrBusy answers since New
}

// Stats returns the current counts.
func (c *Controller) Stats() Stats {
	c.mu.Lock()
	defer c.mu.Unlock()
	return Stats{InUse: c.used, Running: c.running, Waiting: len(c.queue), Rejected: c.rejected.Load()}
}

// Acquire admits a request of the given estimated cost in bytes, waiting up
// to MaxWait (or until ctx ends) in FIFO order. On success the caller must
// call release exactly once when the request no longer holds its memory.
// Errors are ErrBusy or ctx.Err().
func (c *Controller) Acquire(ctx context.Context, cost int64) (release func(), err error) {
	cost = c.clamp(cost)
	c.mu.Lock()
	if len(c.queue) == 0 && c.fits(cost) {
		c.take(cost)
		c.mu.Unlock()
		return c.releaser(cost), nil
	}
	if c.cfg.MaxWait <= 0 || (c.cfg.MaxQueue > 0 && len(c.queue) >= c.cfg.MaxQueue) {
		c.mu.Unlock()
		c.rejected.Add(1)
		return nil, ErrBusy
	}
	w := &waiter{cost: cost, ready: make(chan struct{})}
	c.queue = append(c.queue, w)
	c.mu.Unlock()

	timer := clock.Or(c.cfg.Clock).NewTimer(c.cfg.MaxWait)
	defer timer.Stop()
	select {
	case <-w.ready:
		return c.releaser(cost), nil
	case <-timer.C():
		err = ErrBusy
	case <-ctx.Done():
		err = ctx.Err()
	}
	c.mu.Lock()
	select {
	case <-w.ready:
		// Granted while we gave up: keep it rather than leak the grant.
		c.mu.Unlock()
		return c.releaser(cost), nil
	default:
	}
	c.remove(w)
	// A large waiter at the head may have held back smaller ones behind it.
	c.grant()
	c.mu.Unlock()
	if err == ErrBusy {
		c.rejected.Add(1)
	}
	return nil, err
}

func (c *Controller) clamp(cost int64) int64 {
	if cost < 0 {
		return 0
	}
	if c.cfg.Budget > 0 && cost > c.cfg.Budget {
		return c.cfg.Budget
	}
	return cost
}

// fits reports whether a request of cost may start now; c.mu is held.
func (c *Controller) fits(cost int64) bool {
	if c.cfg.Slots > 0 && c.running >= c.cfg.Slots {
		return false
	}
	return c.cfg.Budget <= 0 || c.used+cost <= c.cfg.Budget
}

// take charges an admitted request; c.mu is held.
func (c *Controller) take(cost int64) {
	c.used += cost
	c.running++
}

// grant admits waiters from the head of the queue while they fit; c.mu is
// held. Strict FIFO: a waiter that does not fit blocks those behind it, so
// large requests are not starved by a stream of small ones.
func (c *Controller) grant() {
	for len(c.queue) > 0 && c.fits(c.queue[0].cost) {
		w := c.queue[0]
		c.queue[0] = nil
		c.queue = c.queue[1:]
		c.take(w.cost)
		close(w.ready)
	}
	if len(c.queue) == 0 {
		c.queue = nil // let the backing array go
	}
}

// remove drops w from the queue; c.mu is held.
func (c *Controller) remove(w *waiter) {
	for i, q := range c.queue {
		if q == w {
			c.queue = append(c.queue[:i], c.queue[i+1:]...)
			return
		}
	}
}

func (c *Controller) releaser(cost int64) func() {
	var once sync.Once
	return func() {
		once.Do(func() {
			c.mu.Lock()
			c.used -= cost
			c.running--
			c.grant()
			c.mu.Unlock()
		})
	}
}
