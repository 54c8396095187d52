package core

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"sync"
	"sync/atomic"
	"time"

	"github.com/uid2-private-operator/uid2-operator/internal/clock"
	"github.com/uid2-private-operator/uid2-operator/internal/config"
	"github.com/uid2-private-operator/uid2-operator/internal/optout"
)

// ErrNoOptoutURL means neither the config nor Core's attestation response
// named an Opt-Out URL. The reference silently syncs an empty list here
// (§6 pitfall 10); we fail loudly instead.
var ErrNoOptoutURL = errors.New("optout: no optout_url from Core and no absolute optout_metadata_path")

// OptOutSync mirrors the Opt-Out service's delta and partition files into
// an in-memory cache and publishes their index to Store (§3.1). A failed
// sync keeps the previous index and is returned, logged and counted; it is
// never turned into an empty opt-out set.
type OptOutSync struct {
	Client *Client
	// Path is optout_metadata_path: absolute, or relative to Core's
	// optout_url ("" GETs optout_url itself).
	Path string
	// Folder is optout_s3_folder; listed locations must contain
	// Folder+"partition/", Folder+"delta/…" or Folder+"synthetic/".
	Folder string
	// Selection picks the files to load (§3.1, §3.4); the zero value is
	// the reference's default configuration.
	Selection OptOutSelection
	Store     *optout.Store
	Interval  time.Duration
	Metrics   *Metrics
	Log       *slog.Logger
	// Clock runs Run's ticker and dates the syncs; nil: the system clock.
	Clock clock.Clock

	mu       sync.Mutex
	cache    map[string][]byte // location without query -> file bytes
	lastSync time.Time
	badNames atomic.Int64
	rec      refreshRecord
}

// BadFileNames returns how many listed file names were rejected as
// malformed since start, counted once per sync in which they appear.
func (s *OptOutSync) BadFileNames() int64 { return s.badNames.Load() }

// State returns the sync's refresh record; Version is the listing version.
func (s *OptOutSync) State() RefreshState { return s.rec.state() }

// LastSync returns the time of the last successful sync (zero before).
func (s *OptOutSync) LastSync() time.Time {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.lastSync
}

func (s *OptOutSync) now() time.Time { return clock.Or(s.Clock).Now() }

func (s *OptOutSync) log() *slog.Logger {
	if s.Log != nil {
		return s.Log
	}
	return slog.New(slog.DiscardHandler)
}

// listingURL resolves Path against Core's optout_url.
func (s *OptOutSync) listingURL() (string, error) {
	if u, err := url.Parse(s.Path); err == nil && u.IsAbs() {
		return s.Path, nil
	}
	base := s.Client.OptoutURL()
	if base == "" {
		return "", ErrNoOptoutURL
	}
	bu, err := url.Parse(base)
	if err != nil {
		return "", fmt.Errorf("optout: optout_url: %w", err)
	}
	if s.Path == "" {
		return base, nil
	}
	ref, err := url.Parse(s.Path)
	if err != nil {
		return "", fmt.Errorf("optout: optout_metadata_path: %w", err)
	}
	return bu.ResolveReference(ref).String(), nil
}

// Listing is the /optout/refresh document (§3.2).
type Listing struct {
	Version   int64         `json:"version"`
	Generated int64         `json:"generated"`
	Logs      []ListingFile `json:"optout_logs"`
}

// ListingFile is one file of a Listing; the operator uses only Location.
type ListingFile struct {
	Type     string `json:"type"`
	From     int64  `json:"from"`
	To       int64  `json:"to"`
	Location string `json:"location"`
}

// ParseListing decodes an /optout/refresh document.
func ParseListing(b []byte) (Listing, error) {
	var l Listing
	if err := json.Unmarshal(b, &l); err != nil {
		return l, fmt.Errorf("optout: listing: %w", err)
	}
	for i, f := range l.Logs {
		if f.Location == "" {
			return l, fmt.Errorf("optout: listing: optout_logs[%d].location: missing", i)
		}
	}
	return l, nil
}

// Sync lists the Opt-Out files, downloads new ones, drops removed ones and,
// when anything changed (or on the first sync), publishes a new index.
func (s *OptOutSync) Sync(ctx context.Context) error {
	err := s.sync(ctx)
	if err != nil {
		if !errors.Is(err, context.Canceled) {
			s.rec.failure(s.now(), err)
		}
		s.Metrics.optoutFailed()
	}
	return err
}

func (s *OptOutSync) sync(ctx context.Context) error {
	u, err := s.listingURL()
	if err != nil {
		return err
	}
	b, err := s.Client.GetOptout(ctx, u)
	if err != nil {
		return fmt.Errorf("optout: %w", err)
	}
	listing, err := ParseListing(b)
	if err != nil {
		return err
	}
	locs := make([]string, len(listing.Logs))
	for i, f := range listing.Logs {
		locs[i] = f.Location
	}
	sel, err := s.Selection.Select(locs, s.Folder, s.now())
	for _, bad := range sel.BadNames {
		s.badNames.Add(1)
		s.Metrics.optoutBadName()
		s.log().Error("opt-out listing: file name rejected", "err", bad)
	}
	if err != nil {
		return err
	}
	if sel.Listed == 0 && len(locs) > 0 {
		// Most likely optout_s3_folder does not match Opt-Out's keys;
		// syncing "nobody opted out" would hide that.
		return fmt.Errorf("optout: none of the %d listed locations is under %q", len(locs), s.Folder)
	}
	if len(sel.Files) == 0 && len(sel.BadNames) > 0 {
		// Every listed file was malformed: an empty set here would be a
		// failure published as "nobody opted out".
		return fmt.Errorf("optout: none of the %d listed files has a valid name: %w", sel.Listed, optout.ErrFileName)
	}
	want := make(map[string]string, len(sel.Files)) // cache key -> location
	for _, f := range sel.Files {
		want[redactURL(f.Location)] = f.Location
	}
	s.mu.Lock()
	cache := s.cache
	first := s.lastSync.IsZero()
	s.mu.Unlock()
	next := make(map[string][]byte, len(want))
	changed := first || len(cache) != len(want)
	for k, loc := range want {
		if b, ok := cache[k]; ok {
			next[k] = b
			continue
		}
		start := time.Now()
		data, err := s.Client.Download(ctx, loc)
		s.Metrics.optoutDownload(err == nil, time.Since(start))
		if err != nil {
			return fmt.Errorf("optout: %w", err)
		}
		if len(data)%optout.RecordSize != 0 {
			return fmt.Errorf("optout: %s: %w", k, optout.ErrFileSize)
		}
		next[k] = data
		changed = true
	}
	var n int
	if changed {
		total := 0
		for _, d := range next {
			total += len(d) / optout.RecordSize
		}
		recs := make([]optout.Record, 0, total)
		for k, d := range next {
			if recs, err = optout.ParseFile(recs, d); err != nil {
				return fmt.Errorf("optout: %s: %w", k, err)
			}
		}
		ix := optout.NewIndex(recs)
		s.Store.Replace(ix)
		n = ix.Len()
		deltas, partitions := 0, 0
		for _, f := range sel.Files {
			if f.Name.Kind == optout.Partition {
				partitions++
			} else {
				deltas++
			}
		}
		s.Metrics.optoutIndexed(deltas, partitions)
	} else {
		n = s.Store.Len()
	}
	now := s.now()
	s.mu.Lock()
	s.cache = next
	s.lastSync = now
	s.mu.Unlock()
	s.rec.success(now, listing.Version)
	s.Metrics.optoutOK(n, len(next), listing.Version, float64(now.UnixMilli())/1000)
	return nil
}

// Start runs the first sync, retrying with backoff until it succeeds, a
// fatal attestation error occurs or ctx ends.
func (s *OptOutSync) Start(ctx context.Context) error {
	return retry(ctx, clock.Or(s.Clock), s.log(), "optout", func() error { return s.Sync(ctx) })
}

// Run syncs every Interval (60 s when zero) until ctx ends. Failures are
// logged and counted; the previous index stays. It returns a fatal
// attestation error, or nil when ctx ends.
func (s *OptOutSync) Run(ctx context.Context) error {
	iv := s.Interval
	if iv <= 0 {
		iv = config.DefaultOptoutRefresh
	}
	t := clock.Or(s.Clock).NewTicker(iv)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-t.C():
		}
		if err := s.Sync(ctx); err != nil {
			if IsFatal(err) {
				return err
			}
			if ctx.Err() == nil {
				s.log().Warn("opt-out sync failed; keeping the previous index", "err", err)
			}
		}
	}
}

// Replicator sends logouts to the Opt-Out service's /optout/replicate
// (§3.5). It implements optout.Replicator.
type Replicator struct {
	// URL is optout_api_uri, e.g. https://optout-prod.uidapi.com/optout/replicate;
	// a path ("/optout/replicate") resolves against Core's optout_url.
	URL    string
	Client *Client // operator key, instance id and HTTP client
}

// Replicate POSTs l. Only Authorization, UID-Instance-Id, UID-Trace-Id and
// Content-Type are sent: no attestation token (§1.6).
func (r *Replicator) Replicate(ctx context.Context, l optout.Logout) error {
	u, err := url.Parse(r.URL)
	if err != nil {
		return fmt.Errorf("replicate: optout_api_uri: %w", err)
	}
	if !u.IsAbs() {
		base, err := url.Parse(r.Client.OptoutURL())
		if err != nil || !base.IsAbs() {
			return fmt.Errorf("replicate: %w", ErrNoOptoutURL)
		}
		u = base.ResolveReference(u)
	}
	q := u.Query()
	q.Set("identity_hash", base64.StdEncoding.EncodeToString(l.FLH[:]))
	q.Set("advertising_id", base64.StdEncoding.EncodeToString(l.AdvertisingID))
	u.RawQuery = q.Encode()
	body := map[string]string{}
	if l.Email != "" {
		body["email"] = l.Email
	}
	if l.Phone != "" {
		body["phone"] = l.Phone
	}
	if l.ClientIP != "" {
		body["client_ip"] = l.ClientIP
	}
	jb, _ := json.Marshal(body)
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, u.String(), bytes.NewReader(jb))
	if err != nil {
		return fmt.Errorf("replicate: %w", err)
	}
	req.Header.Set("Content-Type", "application/json")
	if r.Client.OperatorKey != "" {
		req.Header.Set("Authorization", "Bearer "+r.Client.OperatorKey)
	}
	req.Header.Set(HeaderInstanceID, r.Client.InstanceID)
	if l.TraceID != "" {
		req.Header.Set(HeaderTraceID, l.TraceID)
	}
	resp, err := r.Client.httpClient().Do(req)
	if err != nil {
		return fmt.Errorf("replicate: %w", unwrapURLError(err))
	}
	defer resp.Body.Close()
	io.Copy(io.Discard, io.LimitReader(resp.Body, 4096))
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("replicate: opt-out answered HTTP %d", resp.StatusCode)
	}
	return nil
}
