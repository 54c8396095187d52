package core

import (
	"sync"
	"time"
)

// RefreshState is the record of one background refresh (a store, the
// opt-out sync or attestation) that health and /ops/status read. Error
// texts are the loggable ones: no query strings, keys or tokens.
// health.Refresh has the same fields in the same order, so cli converts one
// into the other; a field added here must be added there.
type RefreshState struct {
	// LastSuccess is the time of the last success (zero: none yet).
	LastSuccess time.Time
	// Version is the loaded version after the last success.
	Version int64
	// LastError and LastErrorAt describe the last failure (empty: none).
	LastError   string
	LastErrorAt time.Time
	// Failures counts consecutive failures since the last success.
	Failures int
	// FailingSince is the time of the first of those failures (zero: not failing).
	FailingSince time.Time
}

// refreshRecord is a RefreshState behind a mutex.
type refreshRecord struct {
	mu sync.Mutex
	s  RefreshState
}

func (r *refreshRecord) success(at time.Time, version int64) {
	r.mu.Lock()
	r.s.LastSuccess, r.s.Version, r.s.Failures, r.s.FailingSince = at, version, 0, time.Time{}
	r.mu.Unlock()
}

func (r *refreshRecord) failure(at time.Time, err error) {
	r.mu.Lock()
	r.s.LastError, r.s.LastErrorAt = err.Error(), at
	if r.s.Failures == 0 {
		r.s.FailingSince = at
	}
	r.s.Failures++
	r.mu.Unlock()
}

func (r *refreshRecord) state() RefreshState {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.s
}
