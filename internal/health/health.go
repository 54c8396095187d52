// Package health decides whether the operator can serve and when it must
// give up (core-and-optout.md §5): readiness with a short reason for
// /ops/healthcheck, and a watchdog for the reference's fatal conditions.
package health

import (
	"context"
	"fmt"
	"os"
	"sort"
	"strings"
	"sync/atomic"
	"time"

	"github.com/uid2-private-operator/uid2-operator/internal/store"
)

// Defaults of the reference's shutdown rules (§5.2).
const (
	DefaultStaleLimit      = 12 * time.Hour
	DefaultSaltsLimit      = 12 * time.Hour
	DefaultWatchdogPeriod  = time.Minute
	reasonNotReady         = "store: no data loaded yet"
	reasonAttestExpired    = "attestation: token expired"
	reasonOptoutNotSynced  = "optout: not synced yet"
	reasonSaltsExpired     = "salts: the current salt file has expired"
	reasonShuttingDownText = "shutting down"
)

// Checker computes readiness. Unset sources are skipped, so a local-mode
// checker needs only Store. Safe for concurrent use.
type Checker struct {
	Store *store.Store
	// AttestedUntil returns the attestation token's expiry (zero: none yet).
	AttestedUntil func() time.Time
	// LastSuccess returns each synced store's last successful refresh.
	LastSuccess func() map[store.Part]time.Time
	// OptoutLastSync returns the last successful opt-out sync (zero: none).
	OptoutLastSync func() time.Time
	// StaleLimit is store_refresh_stale_shutdown_hours (DefaultStaleLimit when 0).
	StaleLimit time.Duration
	// SaltsLimit is salts_expired_shutdown_hours (DefaultSaltsLimit when 0).
	SaltsLimit time.Duration
	// TerminationFile, when it exists, makes the checker unhealthy: the
	// reference's PodTerminationMonitor (/app/pod_terminating/pod_terminating).
	TerminationFile string
	Now             func() time.Time

	stopping     atomic.Pointer[string]
	saltsExpired atomic.Int64 // unix ms when salts were first seen expired; 0 = not expired
}

func (c *Checker) now() time.Time {
	if c.Now != nil {
		return c.Now()
	}
	return time.Now()
}

func (c *Checker) staleLimit() time.Duration {
	if c.StaleLimit > 0 {
		return c.StaleLimit
	}
	return DefaultStaleLimit
}

func (c *Checker) saltsLimit() time.Duration {
	if c.SaltsLimit > 0 {
		return c.SaltsLimit
	}
	return DefaultSaltsLimit
}

// ShuttingDown makes the checker unhealthy with reason from now on (SIGTERM).
func (c *Checker) ShuttingDown(reason string) {
	if reason == "" {
		reason = reasonShuttingDownText
	}
	c.stopping.Store(&reason)
}

// Healthy reports whether the operator can serve; reason lists what is
// wrong, one "<component>: <reason>" per line, as the reference does.
func (c *Checker) Healthy() (bool, string) {
	var reasons []string
	if r := c.stopping.Load(); r != nil {
		reasons = append(reasons, "server: "+*r)
	}
	if c.TerminationFile != "" {
		if _, err := os.Stat(c.TerminationFile); err == nil {
			reasons = append(reasons, "PodTerminationMonitor: pod is terminating")
		}
	}
	now := c.now()
	snap := c.Store.Load()
	if !snap.Complete() {
		reasons = append(reasons, reasonNotReady)
	} else if c.saltsExpiredSince(snap, now) != 0 {
		reasons = append(reasons, reasonSaltsExpired)
	}
	if c.AttestedUntil != nil {
		if exp := c.AttestedUntil(); exp.IsZero() {
			reasons = append(reasons, "attestation: not attested yet")
		} else if !now.Before(exp) {
			reasons = append(reasons, reasonAttestExpired)
		}
	}
	reasons = append(reasons, c.stale(now)...)
	if c.OptoutLastSync != nil {
		if t := c.OptoutLastSync(); t.IsZero() {
			reasons = append(reasons, reasonOptoutNotSynced)
		} else if now.Sub(t) > c.staleLimit() {
			reasons = append(reasons, fmt.Sprintf("optout: no successful sync for %s", now.Sub(t).Truncate(time.Second)))
		}
	}
	if len(reasons) == 0 {
		return true, ""
	}
	return false, strings.Join(reasons, "\n")
}

// stale lists stores whose last success is older than the stale limit.
func (c *Checker) stale(now time.Time) []string {
	if c.LastSuccess == nil {
		return nil
	}
	var out []string
	for part, t := range c.LastSuccess() {
		if age := now.Sub(t); age > c.staleLimit() {
			out = append(out, fmt.Sprintf("%s-rotator: no successful refresh for %s", part, age.Truncate(time.Second)))
		}
	}
	sort.Strings(out)
	return out
}

// saltsExpiredSince returns when the current salt snapshot was first seen
// expired (unix ms), or 0 when it is not expired. It updates the timer the
// reference keeps for salts_expired_shutdown_hours.
func (c *Checker) saltsExpiredSince(snap *store.Snapshot, now time.Time) int64 {
	if snap.Salts == nil {
		return 0
	}
	ms := now.UnixMilli()
	if sn := snap.Salts.At(ms); sn == nil || sn.Expires >= ms {
		c.saltsExpired.Store(0)
		return 0
	}
	c.saltsExpired.CompareAndSwap(0, ms)
	return c.saltsExpired.Load()
}

// FatalError is a condition on which the reference operator exits.
type FatalError struct{ Reason string }

func (e *FatalError) Error() string { return "fatal: " + e.Reason }

// ExitCode makes cli.Run exit with 1 on this error.
func (e *FatalError) ExitCode() int { return 1 }

// Check returns a *FatalError when a store has had no successful refresh
// for longer than the stale limit, or salts have been expired for longer
// than the salts limit (§5.2); otherwise nil.
func (c *Checker) Check() error {
	now := c.now()
	if s := c.stale(now); len(s) > 0 {
		return &FatalError{Reason: fmt.Sprintf("stores stale past store_refresh_stale_shutdown_hours (%s): %s", c.staleLimit(), strings.Join(s, "; "))}
	}
	if since := c.saltsExpiredSince(c.Store.Load(), now); since != 0 && now.Sub(time.UnixMilli(since)) > c.saltsLimit() {
		return &FatalError{Reason: fmt.Sprintf("salts expired for more than salts_expired_shutdown_hours (%s)", c.saltsLimit())}
	}
	return nil
}

// Watch runs Check every period (DefaultWatchdogPeriod when 0) and returns
// the first fatal error, or nil when ctx ends.
func (c *Checker) Watch(ctx context.Context, period time.Duration) error {
	if period <= 0 {
		period = DefaultWatchdogPeriod
	}
	t := time.NewTicker(period)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
			if err := c.Check(); err != nil {
				return err
			}
		}
	}
}
