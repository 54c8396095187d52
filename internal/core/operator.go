package core

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"time"

	"github.com/uid2-private-operator/uid2-operator/internal/attest"
	"github.com/uid2-private-operator/uid2-operator/internal/clock"
	"github.com/uid2-private-operator/uid2-operator/internal/lifecycle"
	"github.com/uid2-private-operator/uid2-operator/internal/optout"
	"github.com/uid2-private-operator/uid2-operator/internal/store"
)

// Config is everything Core mode needs, already resolved: absolute URLs,
// the operator key and the attestation provider.
type Config struct {
	AttestURL    string
	OperatorKey  string
	OperatorType string
	Provider     attest.Provider
	AppVersion   string
	// InstanceIDPrefix is uid_instance_id_prefix.
	InstanceIDPrefix string
	// Paths are the store metadata URLs; an empty one disables the store.
	Paths store.Paths
	// Encrypted turns on encrypted files; CloudKeysURL is then required.
	Encrypted    bool
	CloudKeysURL string
	// OptoutPath is optout_metadata_path; OptoutFolder optout_s3_folder.
	OptoutPath   string
	OptoutFolder string
	// OptoutSelection picks the opt-out files to load (the optout_* keys).
	OptoutSelection OptOutSelection
	// OptoutAPIURI is optout_api_uri; empty disables logout replication.
	OptoutAPIURI    string
	Intervals       map[store.Part]time.Duration
	DefaultInterval time.Duration
	OptoutInterval  time.Duration
	// AttestCheck is the re-attestation check period (AttestCheckInterval when 0).
	AttestCheck time.Duration
	HTTP        *http.Client
	Metrics     *Metrics
	Log         *slog.Logger
	// Clock runs every loop and dates everything; nil: the system clock.
	Clock clock.Clock
}

// Operator is a Core-mode operator's data plane: the attested client, the
// synced stores and the synced opt-outs.
type Operator struct {
	Client     *Client
	Store      *store.Store
	Sync       *Sync
	OptOuts    *optout.Store
	OptOutSync *OptOutSync
	// Replicator is nil without OptoutAPIURI.
	Replicator *Replicator
	attestOK   time.Duration
}

// New assembles an Operator from cfg. Nothing runs until Start.
func New(cfg Config) (*Operator, error) {
	if cfg.Encrypted && cfg.CloudKeysURL == "" {
		return nil, errors.New("core: encrypted files need the cloud encryption keys URL")
	}
	clk := clock.Or(cfg.Clock)
	c := &Client{
		AttestURL: cfg.AttestURL, OperatorKey: cfg.OperatorKey, OperatorType: cfg.OperatorType,
		Provider: cfg.Provider, AppVersion: cfg.AppVersion, InstanceID: NewInstanceID(cfg.InstanceIDPrefix),
		Encrypted: cfg.Encrypted, HTTP: cfg.HTTP, Clock: clk, Log: cfg.Log,
	}
	c.OnAttest = func(t *attest.Token) { cfg.Metrics.Attested(t.ExpiresAt.Unix()) }
	c.OnAttestError = func(error) { cfg.Metrics.AttestFailed() }
	st := store.New(clk.Now)
	urls := make([]string, 0, len(cfg.Paths))
	for _, u := range cfg.Paths {
		urls = append(urls, u)
	}
	src := NewSource(c, urls, cfg.Encrypted)
	loader := &store.Loader{Src: src, Store: st, Paths: cfg.Paths, Now: clk.Now}
	o := &Operator{
		Client: c,
		Store:  st,
		Sync: &Sync{Loader: loader, Source: src, Intervals: cfg.Intervals, DefaultInterval: cfg.DefaultInterval,
			Metrics: cfg.Metrics, Log: cfg.Log, Clock: clk},
		OptOuts:  optout.NewStore(),
		attestOK: cfg.AttestCheck,
	}
	if cfg.Encrypted {
		o.Sync.CloudKeysURL = cfg.CloudKeysURL
	}
	o.OptOutSync = &OptOutSync{Client: c, Path: cfg.OptoutPath, Folder: cfg.OptoutFolder, Store: o.OptOuts,
		Interval: cfg.OptoutInterval, Selection: cfg.OptoutSelection, Metrics: cfg.Metrics, Log: cfg.Log, Clock: clk}
	if cfg.OptoutAPIURI != "" {
		o.Replicator = &Replicator{URL: cfg.OptoutAPIURI, Client: c}
	}
	return o, nil
}

// Start attests, loads every store and runs the first opt-out sync, the way
// the reference does before it opens the API port (§2.1). Retryable
// failures are retried with backoff; a 401/403 from /attest returns a fatal
// *AttestError at once.
func (o *Operator) Start(ctx context.Context) error {
	if err := retry(ctx, clock.Or(o.Client.Clock), o.Client.log(), "attest", func() error { return o.Client.Attest(ctx) }); err != nil {
		return err
	}
	if err := o.Sync.Start(ctx); err != nil {
		return err
	}
	if !o.Store.Load().Complete() {
		return fmt.Errorf("core: stores loaded but the snapshot is incomplete (clients, keys, salts and runtime config are required)")
	}
	return o.OptOutSync.Start(ctx)
}

// Run keeps the operator in sync until ctx ends: re-attestation, every
// store loop and the opt-out loop. It returns the first fatal error (after
// stopping the other loops), or nil when ctx ends.
func (o *Operator) Run(ctx context.Context) error {
	return lifecycle.Supervise(ctx,
		func(ctx context.Context) error { return o.Client.Run(ctx, o.attestOK) },
		o.Sync.Run,
		o.OptOutSync.Run,
	)
}
