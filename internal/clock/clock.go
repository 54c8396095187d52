// Package clock is the time source of the operator's background loops
// (store sync, opt-out sync, re-attestation, the health watchdog, the
// liveness heartbeat and the drain delay): Now, tickers and timers behind
// one interface, as tailscale's tstime.Clock, so tests drive the loops with
// a Fake they advance instead of sleeping until a real ticker fires.
//
// It is a leaf package of its own (not part of lifecycle) so that the
// packages the loops live in take a Clock without importing HTTP servers
// and signal handling.
package clock

import "time"

// Clock tells the time and makes tickers and timers.
type Clock interface {
	Now() time.Time
	// NewTicker returns a ticker that fires every d (d > 0), as
	// time.NewTicker. The caller must Stop it.
	NewTicker(d time.Duration) Ticker
	// NewTimer returns a timer that fires once after d, as time.NewTimer.
	NewTimer(d time.Duration) Timer
}

// Ticker is a time.Ticker behind an interface.
type Ticker interface {
	// C delivers the ticks.
	C() <-chan time.Time
	// Stop turns the ticker off; no tick is delivered after it returns.
	Stop()
}

// Timer is a time.Timer behind an interface.
type Timer interface {
	// C delivers the one tick.
	C() <-chan time.Time
	// Stop prevents the timer from firing; it reports whether it did.
	Stop() bool
}

// Real is the system clock.
var Real Clock = realClock{}

// Or returns c, or Real when c is nil: the zero value of a struct with a
// Clock field runs on the system clock.
func Or(c Clock) Clock {
	if c == nil {
		return Real
	}
	return c
}

type realClock struct{}

func (realClock) Now() time.Time                   { return time.Now() }
func (realClock) NewTicker(d time.Duration) Ticker { return realTicker{time.NewTicker(d)} }
func (realClock) NewTimer(d time.Duration) Timer   { return realTimer{time.NewTimer(d)} }

type realTicker struct{ t *time.Ticker }

func (r realTicker) C() <-chan time.Time { return r.t.C }
func (r realTicker) Stop()               { r.t.Stop() }

type realTimer struct{ t *time.Timer }

func (r realTimer) C() <-chan time.Time { return r.t.C }
func (r realTimer) Stop() bool          { return r.t.Stop() }
