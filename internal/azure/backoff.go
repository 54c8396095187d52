package azure

import (
	"context"
	"time"
)

// Backoff is a bounded retry schedule: at most Attempts tries, waiting
// Initial before the second, doubling up to Max. The zero value tries once.
type Backoff struct {
	Attempts int
	Initial  time.Duration
	Max      time.Duration
}

// retry calls fn until it succeeds, says the error is final, the attempts
// run out or ctx ends, and returns fn's last error (or ctx's).
func (b Backoff) retry(ctx context.Context, fn func(attempt int) (retryable bool, err error)) error {
	wait := b.Initial
	for attempt := 1; ; attempt++ {
		retryable, err := fn(attempt)
		if err == nil || !retryable || attempt >= b.Attempts {
			return err
		}
		if wait > 0 {
			t := time.NewTimer(wait)
			select {
			case <-ctx.Done():
				t.Stop()
				return err
			case <-t.C:
			}
		} else if ctx.Err() != nil {
			return err
		}
		wait *= 2
		if b.Max > 0 && wait > b.Max {
			wait = b.Max
		}
	}
}
