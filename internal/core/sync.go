package core

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/uid2-private-operator/uid2-operator/internal/clock"
	"github.com/uid2-private-operator/uid2-operator/internal/config"
	"github.com/uid2-private-operator/uid2-operator/internal/lifecycle"
	"github.com/uid2-private-operator/uid2-operator/internal/store"
)

// PartCloudKeys names the cloud encryption keys store (encrypted_files).
const PartCloudKeys store.Part = "cloud_encryption_keys"

// Start-up retry backoff.
const (
	startBackoffMin = 500 * time.Millisecond
	startBackoffMax = 30 * time.Second
)

// Source is the store.Source of Core mode: metadata locations are fetched
// from Core with the §1.6 headers, everything else is a plain download of a
// presigned location, decrypted when encrypted files are on (§2.5).
type Source struct {
	client   *Client
	metadata map[string]bool
	decrypt  bool
	keys     atomic.Pointer[store.CloudKeys]
}

// NewSource returns a Source for c whose Core-served locations are
// metadataURLs. With decrypt, downloaded files are encrypted envelopes.
func NewSource(c *Client, metadataURLs []string, decrypt bool) *Source {
	s := &Source{client: c, metadata: map[string]bool{}, decrypt: decrypt}
	for _, u := range metadataURLs {
		if u != "" {
			s.metadata[u] = true
		}
	}
	return s
}

// SetCloudKeys publishes the keys used to decrypt files.
func (s *Source) SetCloudKeys(k *store.CloudKeys) { s.keys.Store(k) }

// Fetch implements store.Source.
func (s *Source) Fetch(ctx context.Context, location string) ([]byte, error) {
	if s.metadata[location] {
		return s.client.GetCore(ctx, location)
	}
	b, err := s.client.Download(ctx, location)
	if err != nil || !s.decrypt {
		return b, err
	}
	return s.keys.Load().Decrypt(b)
}

// Sync keeps every store of a Loader in step with Core: one loop per part,
// each with its own interval, version-gated by the Loader, plus the cloud
// encryption keys when the Source decrypts. It records per-store last
// success times for health and metrics.
type Sync struct {
	Loader *store.Loader
	Source *Source
	// CloudKeysURL is /cloud_encryption_keys/retrieve; set with encrypted files.
	CloudKeysURL string
	// Intervals per part; parts without one use DefaultInterval.
	Intervals       map[store.Part]time.Duration
	DefaultInterval time.Duration
	Metrics         *Metrics
	Log             *slog.Logger
	// Clock runs the refresh tickers and the start-up backoff, and dates
	// the refreshes; nil: the system clock.
	Clock clock.Clock

	mu     sync.Mutex
	states map[store.Part]*refreshRecord
}

func (s *Sync) now() time.Time { return clock.Or(s.Clock).Now() }

func (s *Sync) log() *slog.Logger {
	if s.Log != nil {
		return s.Log
	}
	return slog.New(slog.DiscardHandler)
}

// Parts returns the synced parts: cloud keys first (files need them), then
// the Loader's parts.
func (s *Sync) Parts() []store.Part {
	var out []store.Part
	if s.CloudKeysURL != "" {
		out = append(out, PartCloudKeys)
	}
	return append(out, s.Loader.Parts()...)
}

// record returns part's refresh record, creating it.
func (s *Sync) record(part store.Part) *refreshRecord {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.states == nil {
		s.states = map[store.Part]*refreshRecord{}
	}
	r := s.states[part]
	if r == nil {
		r = &refreshRecord{}
		s.states[part] = r
	}
	return r
}

// LastSuccess returns the time of each part's last successful refresh
// (parts without one are absent).
func (s *Sync) LastSuccess() map[store.Part]time.Time {
	out := map[store.Part]time.Time{}
	for p, st := range s.States() {
		if !st.LastSuccess.IsZero() {
			out[p] = st.LastSuccess
		}
	}
	return out
}

// States returns the refresh record of every part refreshed at least once.
func (s *Sync) States() map[store.Part]RefreshState {
	s.mu.Lock()
	recs := make(map[store.Part]*refreshRecord, len(s.states))
	for k, v := range s.states {
		recs[k] = v
	}
	s.mu.Unlock()
	out := make(map[store.Part]RefreshState, len(recs))
	for k, r := range recs {
		out[k] = r.state()
	}
	return out
}

// Refresh runs one tick of part: fetch metadata, reload if the version grew.
// A tick whose metadata fetch succeeded counts as a success (§2.1).
func (s *Sync) Refresh(ctx context.Context, part store.Part) error {
	start := time.Now()
	var err error
	var version int64
	if part == PartCloudKeys {
		err = s.refreshCloudKeys(ctx)
		version = s.now().Unix() // the reference reports version = now
	} else {
		_, err = s.Loader.Load(ctx, part)
		version = s.Loader.Version(part)
	}
	if err != nil {
		if !errors.Is(err, context.Canceled) {
			s.record(part).failure(s.now(), err)
		}
		s.Metrics.storeFailed(string(part), time.Since(start))
		return err
	}
	now := s.now()
	s.record(part).success(now, version)
	s.Metrics.storeOK(string(part), version, float64(now.UnixMilli())/1000, time.Since(start))
	return nil
}

func (s *Sync) refreshCloudKeys(ctx context.Context) error {
	b, err := s.Source.client.GetCore(ctx, s.CloudKeysURL)
	if err != nil {
		return fmt.Errorf("%s: %w", PartCloudKeys, err)
	}
	list, err := store.ParseCloudEncryptionKeys(b)
	if err != nil {
		return fmt.Errorf("%s: %w", PartCloudKeys, err)
	}
	keys, err := store.NewCloudKeys(list)
	if err != nil {
		return fmt.Errorf("%s: %w", PartCloudKeys, err)
	}
	s.Source.SetCloudKeys(keys)
	return nil
}

// Start loads every part once, in order, retrying each failed part with
// backoff until it loads. It returns a fatal attestation error at once, and
// ctx's error if ctx ends first.
func (s *Sync) Start(ctx context.Context) error {
	for _, p := range s.Parts() {
		s.Metrics.StartStore(string(p))
	}
	for _, p := range s.Parts() {
		start := time.Now()
		if err := retry(ctx, clock.Or(s.Clock), s.log(), string(p), func() error { return s.Refresh(ctx, p) }); err != nil {
			return err
		}
		s.Metrics.storeLoaded(string(p), time.Since(start))
	}
	return nil
}

// retry calls fn until it succeeds, a fatal error occurs or ctx ends,
// waiting on clk between attempts.
func retry(ctx context.Context, clk clock.Clock, log *slog.Logger, what string, fn func() error) error {
	wait := startBackoffMin
	var prev error // the last attempt that failed on its own
	for {
		err := fn()
		if err == nil {
			return nil
		}
		if IsFatal(err) {
			return err
		}
		if ctx.Err() != nil {
			// An attempt cut by the deadline only says "deadline exceeded";
			// name the failure that kept start-up from finishing.
			if prev != nil {
				err = prev
			}
			return fmt.Errorf("%s: %w (last error: %v)", what, ctx.Err(), err)
		}
		prev = err
		log.Warn("initial load failed; retrying", "store", what, "in", wait.String(), "err", err)
		t := clk.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return fmt.Errorf("%s: %w (last error: %v)", what, ctx.Err(), err)
		case <-t.C():
		}
		wait = min(wait*2, startBackoffMax)
	}
}

func (s *Sync) interval(p store.Part) time.Duration {
	if d, ok := s.Intervals[p]; ok && d > 0 {
		return d
	}
	if s.DefaultInterval > 0 {
		return s.DefaultInterval
	}
	return config.DefaultRefreshInterval
}

// Run refreshes every part on its interval until ctx ends. Failures are
// logged and counted; the last good snapshot stays in service. It returns
// a fatal attestation error, or nil when ctx ends.
func (s *Sync) Run(ctx context.Context) error {
	parts := s.Parts()
	loops := make([]lifecycle.Loop, len(parts))
	for i, p := range parts {
		loops[i] = func(ctx context.Context) error { return s.runPart(ctx, p) }
	}
	return lifecycle.Supervise(ctx, loops...)
}

// runPart refreshes p every interval until ctx ends or a refresh fails
// fatally.
func (s *Sync) runPart(ctx context.Context, p store.Part) error {
	t := clock.Or(s.Clock).NewTicker(s.interval(p))
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-t.C():
		}
		if err := s.Refresh(ctx, p); err != nil {
			if IsFatal(err) {
				return err
			}
			if !errors.Is(err, context.Canceled) {
				s.log().Warn("store refresh failed; serving the last snapshot", "store", string(p), "err", err)
			}
		}
	}
}
