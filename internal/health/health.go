// Package health decides whether the operator can answer correctly, what is
// wrong without making answers wrong, and when it must give up
// (core-and-optout.md §5), in three words:
//
//   - ready (readiness 200 on /ops/healthcheck): the first load is done, the
//     process is not draining, and the data can produce correct answers:
//     active master and refresh keys (and the fallback publisher key when
//     that keyset exists);
//   - degraded (still ready; shown in /ops/status, metrics and logs): Core or
//     Opt-Out unreachable or failing, attestation failing or its token
//     expired, salts expired, stores not refreshed — inside the reference's
//     12-hour limits. Every replica sees these at the same moment, so a 503
//     would empty the load balancer; the reference keeps serving from its
//     last snapshots, and so do we;
//   - fatal (exit 1): stores not refreshed for store_refresh_stale_shutdown_hours,
//     salts expired for salts_expired_shutdown_hours (both 12 h by default);
//     attestation 401/403 or 12 h of other /attest failures are reported by
//     package core.
package health

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"slices"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/uid2-private-operator/uid2-operator/internal/clock"
	"github.com/uid2-private-operator/uid2-operator/internal/config"
	"github.com/uid2-private-operator/uid2-operator/internal/store"
)

// Limits of the reference's shutdown rules (§5.2) and the watchdog's period.
// The configurable limits default to config.DefaultStaleShutdownTime and
// config.DefaultSaltsExpiredShutdown.
const (
	// AttestFailureLimit is the reference's hard-coded limit on /attest
	// failures other than 401/403 (enforced by package core; shown here).
	AttestFailureLimit = 12 * time.Hour
	// DefaultWatchdogPeriod is how often Watch checks the fatal limits and
	// logs changes of the degraded conditions.
	DefaultWatchdogPeriod = 5 * time.Second
)

// Readiness reasons. Probes and people match these texts.
const (
	reasonNotReady         = "store: no data loaded yet"
	reasonOptoutNotSynced  = "optout: not synced yet"
	reasonNotAttested      = "attestation: not attested yet"
	reasonShuttingDownText = "shutting down"
	reasonNoMasterKey      = "keys: no active master key"
	reasonNoRefreshKey     = "keys: no active refresh key"
	reasonNoPublisherKey   = "keys: no active key in the fallback publisher keyset"
)

// Refresh is the state of one background refresh: a store, the opt-out sync
// or attestation. Error texts must be loggable (no secrets, no query strings).
type Refresh struct {
	LastSuccess  time.Time
	Version      int64
	LastError    string
	LastErrorAt  time.Time
	Failures     int       // consecutive, since the last success
	FailingSince time.Time // first of those failures
}

// Attestation is the attestation state.
type Attestation struct {
	Refresh
	// ExpiresAt is the current token's expiry (zero: never attested).
	ExpiresAt time.Time
}

// Checker computes readiness, degraded conditions, fatal conditions and the
// detailed status. Unset sources are skipped, so a local-mode checker needs
// only Store. Safe for concurrent use; do not copy after first use.
type Checker struct {
	Store *store.Store
	// Attestation returns the attestation state (nil: not attested, local mode).
	Attestation func() Attestation
	// Stores returns each synced store's refresh state, keyed by part
	// (nil: stores do not refresh, local mode).
	Stores func() map[store.Part]Refresh
	// OptOut returns the opt-out sync state (nil: no sync).
	OptOut func() Refresh
	// StaleLimit is store_refresh_stale_shutdown_hours (config.DefaultStaleShutdownTime when 0).
	StaleLimit time.Duration
	// SaltsLimit is salts_expired_shutdown_hours (config.DefaultSaltsExpiredShutdown when 0).
	SaltsLimit time.Duration
	// TerminationFile, when it exists, makes the checker unready: the
	// reference's PodTerminationMonitor (/app/pod_terminating/pod_terminating).
	TerminationFile string
	// Clock runs Watch and tells the time of every check; nil: the system
	// clock.
	Clock clock.Clock
	// Log receives degraded-condition changes from Watch (nil: discarded).
	Log *slog.Logger

	stopping     atomic.Pointer[string]
	saltsExpired atomic.Int64 // unix ms when salts were first seen expired; 0 = not expired

	logMu    sync.Mutex
	degraded map[string]bool // component names degraded at the last Watch tick
}

func (c *Checker) now() time.Time { return clock.Or(c.Clock).Now() }

func (c *Checker) staleLimit() time.Duration {
	if c.StaleLimit > 0 {
		return c.StaleLimit
	}
	return config.DefaultStaleShutdownTime
}

func (c *Checker) saltsLimit() time.Duration {
	if c.SaltsLimit > 0 {
		return c.SaltsLimit
	}
	return config.DefaultSaltsExpiredShutdown
}

// ShuttingDown makes the checker unready with reason from now on (the
// drain after SIGTERM, or a fatal condition).
func (c *Checker) ShuttingDown(reason string) {
	if reason == "" {
		reason = reasonShuttingDownText
	}
	c.stopping.Store(&reason)
}

// Healthy reports readiness; reason lists what is wrong, one
// "<component>: <reason>" per line, as the reference does.
func (c *Checker) Healthy() (bool, string) {
	r := c.evaluate(c.now())
	if len(r.notReady) == 0 {
		return true, ""
	}
	return false, strings.Join(r.notReady, "\n")
}

// Degraded returns the degraded conditions, one "<component>: <reason>" each.
func (c *Checker) Degraded() []string { return c.evaluate(c.now()).degraded }

type evaluation struct {
	notReady []string
	degraded []string
	fatal    []string
	stale    []string
	salts    *saltState
	keys     KeyStatus
}

// evaluate computes everything from one snapshot and one instant.
func (c *Checker) evaluate(now time.Time) evaluation {
	var e evaluation
	if r := c.stopping.Load(); r != nil {
		e.notReady = append(e.notReady, "server: "+*r)
	}
	if c.TerminationFile != "" {
		if _, err := os.Stat(c.TerminationFile); err == nil {
			e.notReady = append(e.notReady, "PodTerminationMonitor: pod is terminating")
		}
	}
	snap := c.Store.Load()
	if !snap.Complete() {
		e.notReady = append(e.notReady, reasonNotReady)
	} else {
		e.notReady = append(e.notReady, c.checkKeys(snap, now, &e.keys)...)
		e.salts = c.checkSalts(snap, now)
		if e.salts != nil && e.salts.Expired {
			msg := fmt.Sprintf("salts: the current salt file expired at %s; serving with it (exit after salts_expired_shutdown_hours, %s)",
				time.UnixMilli(e.salts.Expires).UTC().Format(time.RFC3339), c.saltsLimit())
			if now.Sub(e.salts.ExpiredSince) > c.saltsLimit() {
				// Past the limit the process is about to exit: stop taking traffic.
				e.fatal = append(e.fatal, fmt.Sprintf("salts expired for more than salts_expired_shutdown_hours (%s)", c.saltsLimit()))
				e.notReady = append(e.notReady, fmt.Sprintf("salts: expired for more than salts_expired_shutdown_hours (%s)", c.saltsLimit()))
			} else {
				e.degraded = append(e.degraded, msg)
			}
		}
	}
	if c.Attestation != nil {
		a := c.Attestation()
		switch {
		case a.ExpiresAt.IsZero():
			e.notReady = append(e.notReady, reasonNotAttested)
		case !now.Before(a.ExpiresAt):
			e.degraded = append(e.degraded, fmt.Sprintf("attestation: token expired at %s%s; serving from the last snapshots",
				a.ExpiresAt.UTC().Format(time.RFC3339), lastError(a.Refresh)))
		case a.Failures > 0:
			e.degraded = append(e.degraded, fmt.Sprintf("attestation: %d failures since %s%s; token valid until %s",
				a.Failures, a.FailingSince.UTC().Format(time.RFC3339), lastError(a.Refresh), a.ExpiresAt.UTC().Format(time.RFC3339)))
		}
	}
	if c.Stores != nil {
		states := c.Stores()
		parts := make([]store.Part, 0, len(states))
		for p := range states {
			parts = append(parts, p)
		}
		slices.Sort(parts)
		for _, p := range parts {
			st := states[p]
			if st.LastSuccess.IsZero() {
				continue // the first load is covered by Complete
			}
			age := now.Sub(st.LastSuccess)
			if age > c.staleLimit() {
				e.stale = append(e.stale, fmt.Sprintf("%s-rotator: no successful refresh for %s", p, age.Truncate(time.Second)))
			} else if st.Failures > 0 {
				e.degraded = append(e.degraded, fmt.Sprintf("%s-rotator: %d failed refreshes, last success %s ago%s",
					p, st.Failures, age.Truncate(time.Second), lastError(st)))
			}
		}
		if len(e.stale) > 0 {
			e.fatal = append(e.fatal, fmt.Sprintf("stores stale past store_refresh_stale_shutdown_hours (%s): %s", c.staleLimit(), strings.Join(e.stale, "; ")))
		}
	}
	if c.OptOut != nil {
		st := c.OptOut()
		switch {
		case st.LastSuccess.IsZero():
			e.notReady = append(e.notReady, reasonOptoutNotSynced)
		case st.Failures > 0:
			// The reference neither exits nor turns unready on opt-out
			// staleness; the opt-out lag metric alerts on it.
			e.degraded = append(e.degraded, fmt.Sprintf("optout: %d failed syncs, last success %s ago%s",
				st.Failures, now.Sub(st.LastSuccess).Truncate(time.Second), lastError(st)))
		}
	}
	// Past the stale limit the process is about to exit: stop taking traffic.
	e.notReady = append(e.notReady, e.stale...)
	return e
}

func lastError(r Refresh) string {
	if r.LastError == "" || r.Failures == 0 {
		return ""
	}
	return " (last error: " + r.LastError + ")"
}

// checkKeys returns the readiness reasons about keys: without an active
// master or refresh key no token can be issued or refreshed.
func (c *Checker) checkKeys(snap *store.Snapshot, now time.Time, ks *KeyStatus) []string {
	if snap.Keyring == nil {
		return nil
	}
	var out []string
	sec := now.Unix()
	if k, err := snap.Keyring.MasterKey(sec); err == nil {
		ks.MasterKeyID, ks.MasterKeyExpires = k.ID, time.Unix(k.Expires, 0).UTC()
	} else {
		out = append(out, reasonNoMasterKey)
	}
	if k, err := snap.Keyring.RefreshKey(sec); err == nil {
		ks.RefreshKeyID, ks.RefreshKeyExpires = k.ID, time.Unix(k.Expires, 0).UTC()
	} else {
		out = append(out, reasonNoRefreshKey)
	}
	if ks2, err := snap.Keyring.DefaultKeyset(store.FallbackPublisherSiteID); err == nil && ks2 != nil {
		if k, err := snap.Keyring.ActiveKey(ks2.ID, sec); err == nil {
			ks.PublisherKeyID, ks.PublisherKeyExpires = k.ID, time.Unix(k.Expires, 0).UTC()
		} else {
			out = append(out, reasonNoPublisherKey)
		}
	}
	return out
}

// checkSalts returns the current salt snapshot's state and keeps the timer
// the reference keeps for salts_expired_shutdown_hours.
// saltState is the current salt snapshot's validity (epoch ms).
type saltState struct {
	Effective, Expires int64
	Expired            bool
	ExpiredSince       time.Time
}

func (c *Checker) checkSalts(snap *store.Snapshot, now time.Time) *saltState {
	if snap.Salts == nil {
		return nil
	}
	ms := now.UnixMilli()
	sn := snap.Salts.At(ms)
	if sn == nil {
		return nil
	}
	s := &saltState{Effective: sn.Effective, Expires: sn.Expires}
	if sn.Expires >= ms {
		c.saltsExpired.Store(0)
		return s
	}
	c.saltsExpired.CompareAndSwap(0, ms)
	s.Expired = true
	s.ExpiredSince = time.UnixMilli(c.saltsExpired.Load())
	return s
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
	if f := c.evaluate(c.now()).fatal; len(f) > 0 {
		return &FatalError{Reason: f[0]}
	}
	return nil
}

// Watch runs Check every period (DefaultWatchdogPeriod when 0), logging
// each degraded condition when it appears and when it clears, and returns
// the first fatal error, or nil when ctx ends.
func (c *Checker) Watch(ctx context.Context, period time.Duration) error {
	if period <= 0 {
		period = DefaultWatchdogPeriod
	}
	t := clock.Or(c.Clock).NewTicker(period)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-t.C():
			e := c.evaluate(c.now())
			c.logChanges(e.degraded)
			if len(e.fatal) > 0 {
				return &FatalError{Reason: e.fatal[0]}
			}
		}
	}
}

// logChanges logs degraded conditions by component: a warning when one
// appears, an info line when it clears (not on every tick: no log flood).
func (c *Checker) logChanges(degraded []string) {
	if c.Log == nil {
		return
	}
	c.logMu.Lock()
	defer c.logMu.Unlock()
	now := map[string]bool{}
	for _, d := range degraded {
		comp, _, _ := strings.Cut(d, ":")
		now[comp] = true
		if !c.degraded[comp] {
			c.Log.Warn("degraded: still serving", "component", comp, "condition", d)
		}
	}
	for comp := range c.degraded {
		if !now[comp] {
			c.Log.Info("recovered", "component", comp)
		}
	}
	c.degraded = now
}

// Status is the body of /ops/status. It holds no secrets, tokens or DII.
type Status struct {
	Ready    bool     `json:"ready"`
	NotReady []string `json:"not_ready"`
	Degraded []string `json:"degraded"`
	Now      string   `json:"now"`
	// Attestation is absent in local mode.
	Attestation *AttestationStatus `json:"attestation,omitempty"`
	Stores      []StoreStatus      `json:"stores,omitempty"`
	OptOut      *StoreStatus       `json:"optout,omitempty"`
	Salts       *SaltStatus        `json:"salts,omitempty"`
	Keys        KeyStatus          `json:"keys"`
	Limits      Limits             `json:"limits"`
}

// AttestationStatus is the attestation part of Status.
type AttestationStatus struct {
	ExpiresAt    string `json:"expires_at,omitempty"`
	Expired      bool   `json:"expired"`
	LastSuccess  string `json:"last_success,omitempty"`
	Failures     int    `json:"consecutive_failures"`
	FailingSince string `json:"failing_since,omitempty"`
	LastError    string `json:"last_error,omitempty"`
	LastErrorAt  string `json:"last_error_at,omitempty"`
}

// StoreStatus is one store (or the opt-out sync) in Status.
type StoreStatus struct {
	Name        string  `json:"name"`
	Version     int64   `json:"version"`
	LastSuccess string  `json:"last_success,omitempty"`
	AgeSeconds  float64 `json:"age_seconds"`
	Failures    int     `json:"consecutive_failures"`
	LastError   string  `json:"last_error,omitempty"`
	LastErrorAt string  `json:"last_error_at,omitempty"`
}

// SaltStatus is the current salt snapshot in Status.
type SaltStatus struct {
	Effective    string `json:"effective"`
	Expires      string `json:"expires"`
	Expired      bool   `json:"expired"`
	ExpiredSince string `json:"expired_since,omitempty"`
}

// KeyStatus names the active keys that readiness requires (ids and
// expiry only).
type KeyStatus struct {
	MasterKeyID         int32     `json:"master_key_id,omitempty"`
	MasterKeyExpires    time.Time `json:"master_key_expires,omitzero"`
	RefreshKeyID        int32     `json:"refresh_key_id,omitempty"`
	RefreshKeyExpires   time.Time `json:"refresh_key_expires,omitzero"`
	PublisherKeyID      int32     `json:"fallback_publisher_key_id,omitempty"`
	PublisherKeyExpires time.Time `json:"fallback_publisher_key_expires,omitzero"`
}

// Limits are the fatal limits in force.
type Limits struct {
	StoreStale         string `json:"store_refresh_stale_shutdown"`
	SaltsExpired       string `json:"salts_expired_shutdown"`
	AttestationFailing string `json:"attestation_failure_shutdown"`
}

func stamp(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format(time.RFC3339)
}

func storeStatus(name string, r Refresh, now time.Time) StoreStatus {
	s := StoreStatus{Name: name, Version: r.Version, LastSuccess: stamp(r.LastSuccess), Failures: r.Failures,
		LastError: r.LastError, LastErrorAt: stamp(r.LastErrorAt)}
	if !r.LastSuccess.IsZero() {
		s.AgeSeconds = now.Sub(r.LastSuccess).Truncate(time.Second).Seconds()
	}
	return s
}

// Status returns the detailed state for /ops/status.
func (c *Checker) Status() any {
	now := c.now()
	e := c.evaluate(now)
	s := &Status{
		Ready: len(e.notReady) == 0, NotReady: e.notReady, Degraded: e.degraded, Now: stamp(now),
		Keys:   e.keys,
		Limits: Limits{StoreStale: c.staleLimit().String(), SaltsExpired: c.saltsLimit().String(), AttestationFailing: AttestFailureLimit.String()},
	}
	if e.salts != nil {
		s.Salts = &SaltStatus{Effective: stamp(time.UnixMilli(e.salts.Effective)), Expires: stamp(time.UnixMilli(e.salts.Expires)),
			Expired: e.salts.Expired, ExpiredSince: stamp(e.salts.ExpiredSince)}
	}
	if s.NotReady == nil {
		s.NotReady = []string{}
	}
	if s.Degraded == nil {
		s.Degraded = []string{}
	}
	if c.Attestation != nil {
		a := c.Attestation()
		s.Attestation = &AttestationStatus{ExpiresAt: stamp(a.ExpiresAt), Expired: !a.ExpiresAt.IsZero() && !now.Before(a.ExpiresAt),
			LastSuccess: stamp(a.LastSuccess), Failures: a.Failures, FailingSince: stamp(a.FailingSince),
			LastError: a.LastError, LastErrorAt: stamp(a.LastErrorAt)}
	}
	if c.Stores != nil {
		for p, r := range c.Stores() {
			s.Stores = append(s.Stores, storeStatus(string(p), r, now))
		}
		sort.Slice(s.Stores, func(i, j int) bool { return s.Stores[i].Name < s.Stores[j].Name })
	}
	if c.OptOut != nil {
		o := storeStatus("optout", c.OptOut(), now)
		s.OptOut = &o
	}
	return s
}
