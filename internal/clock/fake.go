package clock

import (
	"context"
	"sync"
	"time"
)

// Fake is a Clock whose time moves only when a test calls Advance. One
// goroutine advances it; any number read it and make tickers and timers.
//
// Its tickers hand each tick over synchronously: Advance returns only after
// every due tick was received by its loop, or the ticker was stopped. A loop
// still busy with an earlier tick holds Advance until it is back at its
// receive, so when Advance returns, every ticker loop has finished the work
// of every tick before the last one it received: advancing one period twice
// waits for the first tick's work, with no sleep and no polling. (A loop
// that leaves without stopping its ticker blocks Advance: always defer
// Stop.) Timers behave as time.Timer: the tick waits in a buffer of one and
// is lost if nobody reads it. Nothing fires by itself, not even a timer of
// zero duration: everything due fires in the next Advance.
type Fake struct {
	mu      sync.Mutex
	now     time.Time
	seq     uint64
	waiters []*fakeWaiter
	changed chan struct{} // closed and replaced when a ticker or timer is added
}

// NewFake returns a Fake that reads start until advanced.
func NewFake(start time.Time) *Fake {
	return &Fake{now: start, changed: make(chan struct{})}
}

type fakeWaiter struct {
	f      *Fake
	when   time.Time
	period time.Duration // 0 for a timer
	seq    uint64        // creation order: ties fire oldest first
	c      chan time.Time
	stop   chan struct{} // closed by a ticker's Stop
	once   sync.Once
}

// Now returns the fake time.
func (f *Fake) Now() time.Time {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.now
}

// NewTicker implements Clock; d must be positive.
func (f *Fake) NewTicker(d time.Duration) Ticker {
	if d <= 0 {
		panic("clock: non-positive interval for NewTicker")
	}
	return fakeTicker{f.add(d, d, make(chan time.Time))}
}

// NewTimer implements Clock.
func (f *Fake) NewTimer(d time.Duration) Timer {
	return f.add(d, 0, make(chan time.Time, 1))
}

func (f *Fake) add(d, period time.Duration, c chan time.Time) *fakeWaiter {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.seq++
	w := &fakeWaiter{f: f, when: f.now.Add(d), period: period, seq: f.seq, c: c, stop: make(chan struct{})}
	f.waiters = append(f.waiters, w)
	close(f.changed)
	f.changed = make(chan struct{})
	return w
}

// Waiters returns the number of tickers and timers that are armed: tickers
// not stopped, timers neither fired nor stopped.
func (f *Fake) Waiters() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return len(f.waiters)
}

// BlockUntil waits until at least n tickers and timers are armed (the loops
// a test started are at their first wait, so Advance reaches them), or ctx
// ends.
func (f *Fake) BlockUntil(ctx context.Context, n int) error {
	for {
		f.mu.Lock()
		armed, changed := len(f.waiters), f.changed
		f.mu.Unlock()
		if armed >= n {
			return nil
		}
		select {
		case <-changed:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

// Advance moves the time forward by d, firing every ticker and timer that
// falls due on the way, in time order, with Now reading each one's time as
// it fires. See Fake for when it returns.
func (f *Fake) Advance(d time.Duration) {
	f.mu.Lock()
	target := f.now.Add(d)
	f.mu.Unlock()
	for {
		f.mu.Lock()
		w := f.nextDue(target)
		if w == nil {
			if target.After(f.now) {
				f.now = target
			}
			f.mu.Unlock()
			return
		}
		if w.when.After(f.now) {
			f.now = w.when
		}
		at := f.now
		if w.period > 0 {
			w.when = w.when.Add(w.period)
		} else {
			f.removeLocked(w)
		}
		f.mu.Unlock()
		if w.period > 0 {
			select {
			case w.c <- at:
			case <-w.stop:
			}
		} else {
			w.c <- at // buffered, and a timer fires once
		}
	}
}

// nextDue returns the earliest waiter due at or before target.
func (f *Fake) nextDue(target time.Time) *fakeWaiter {
	var next *fakeWaiter
	for _, w := range f.waiters {
		if w.when.After(target) {
			continue
		}
		if next == nil || w.when.Before(next.when) || (w.when.Equal(next.when) && w.seq < next.seq) {
			next = w
		}
	}
	return next
}

// removeLocked removes w and reports whether it was armed.
func (f *Fake) removeLocked(w *fakeWaiter) bool {
	for i, x := range f.waiters {
		if x == w {
			f.waiters = append(f.waiters[:i], f.waiters[i+1:]...)
			return true
		}
	}
	return false
}

func (w *fakeWaiter) C() <-chan time.Time { return w.c }

// Stop implements both Ticker and Timer.
func (w *fakeWaiter) Stop() bool {
	w.f.mu.Lock()
	armed := w.f.removeLocked(w)
	w.f.mu.Unlock()
	w.once.Do(func() { close(w.stop) })
	return armed
}

// fakeTicker adapts a fakeWaiter to Ticker, whose Stop returns nothing.
type fakeTicker struct{ *fakeWaiter }

func (t fakeTicker) Stop() { t.fakeWaiter.Stop() }
