// Package ratelog writes warnings a client can cause at its request rate
// (reference-mandated 500s, admission rejections) at most once a minute,
// with the number of events since the previous line.
package ratelog

import (
	"log/slog"
	"sync"
	"time"
)

// Interval is the shortest time between two lines of one Log.
const Interval = time.Minute

// Log writes a warning at most once per Interval with the
// number of events since its previous line, so that events a client can
// cause at its request rate (mandated 500s, admission rejections) stay
// visible without letting the client flood the log. The zero value is
// ready; it is safe for concurrent use.
type Log struct {
	mu      sync.Mutex
	last    time.Time // when the previous line was written
	pending int64     // events since then
}

// Warn counts one event at now and writes msg with args and "count" when
// the previous line is at least Interval old.
func (l *Log) Warn(log *slog.Logger, now time.Time, msg string, args ...any) {
	l.mu.Lock()
	l.pending++
	if !l.last.IsZero() && now.Sub(l.last) < Interval {
		l.mu.Unlock()
		return
	}
	count := l.pending
	l.pending, l.last = 0, now
	l.mu.Unlock()
	log.Warn(msg, append(args, "count", count)...)
}
