package cli

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/uid2-private-operator/uid2-operator/internal/api"
	"github.com/uid2-private-operator/uid2-operator/internal/attest"
	"github.com/uid2-private-operator/uid2-operator/internal/config"
	"github.com/uid2-private-operator/uid2-operator/internal/core"
	"github.com/uid2-private-operator/uid2-operator/internal/health"
	"github.com/uid2-private-operator/uid2-operator/internal/metrics"
	"github.com/uid2-private-operator/uid2-operator/internal/optout"
	"github.com/uid2-private-operator/uid2-operator/internal/store"
)

// coreConfig maps the operator configuration onto core.Config.
func coreConfig(cfg config.Config, provider attest.Provider, log *slog.Logger) core.Config {
	cc := core.Config{
		AttestURL:        cfg.CoreAttestURL,
		OperatorKey:      cfg.CoreAPIToken,
		OperatorType:     cfg.OperatorType,
		Provider:         provider,
		AppVersion:       version,
		InstanceIDPrefix: cfg.UIDInstanceIDPrefix,
		Paths:            coreStorePaths(cfg),
		Encrypted:        cfg.EncryptedFiles,
		OptoutPath:       cfg.OptoutMetadataPath,
		OptoutFolder:     cfg.OptoutS3Folder,
		OptoutSelection: core.OptOutSelection{
			DeltaRotateInterval:  time.Duration(cfg.OptoutDeltaRotateInterval) * time.Second,
			DeltaBacktrackDays:   int(cfg.OptoutDeltaBacktrackInDays),
			PartitionInterval:    time.Duration(cfg.OptoutPartitionInterval) * time.Second,
			MaxPartitions:        int(cfg.OptoutMaxPartitions),
			SyntheticLogsEnabled: cfg.OptoutSyntheticLogsEnabled,
			SyntheticLogsCount:   int(cfg.OptoutSyntheticLogsCount),
			PathCompat:           cfg.OptoutS3PathCompat,
		},
		OptoutAPIURI:    cfg.OptoutAPIURI,
		Intervals:       refreshIntervals(cfg),
		DefaultInterval: config.DefaultRefreshInterval,
		OptoutInterval:  time.Duration(cfg.CloudRefreshInterval) * time.Second,
		Log:             log,
	}
	if cfg.EncryptedFiles {
		cc.CloudKeysURL = cfg.CloudEncryptionKeysMetadataPath
	}
	return cc
}

// runCoreMode runs an attested operator: attest to Core, load every store
// and the opt-out data, then serve the API while keeping everything in
// sync. It returns nil after a SIGTERM drain, and an error — which exits
// non-zero — on the reference's fatal conditions: /attest 401/403,
// attestation failing for 12 h, stores stale or salts expired past their
// limits (core-and-optout.md §5.2).
//
// cfg must already hold the operator key and Core URLs. The Azure start-up
// calls this with its Key Vault operator key and its SKR/MAA provider;
// serve passes attest.Trusted{}.
func runCoreMode(ctx context.Context, cfg config.Config, provider attest.Provider, log *slog.Logger) error {
	reg := newRegistry()
	cc := coreConfig(cfg, provider, log)
	cc.Metrics = core.NewMetrics(reg)
	op, err := core.New(cc)
	if err != nil {
		return err
	}
	if err := loadBootstrap(&cfg, op.Store, log); err != nil {
		return err
	}
	log.Info("core mode: attesting and loading stores", "core_attest_url", cfg.CoreAttestURL, "platform", provider.Name())
	startCtx, cancelStart := context.WithTimeout(ctx, cfg.StartupTimeout)
	err = op.Start(startCtx)
	cancelStart()
	if err != nil {
		if ctx.Err() != nil {
			log.Info("stopped before start-up finished")
			return nil
		}
		if errors.Is(err, context.DeadlineExceeded) {
			return fmt.Errorf("start-up did not finish within --startup-timeout %s: %w", cfg.StartupTimeout, err)
		}
		return err
	}
	log.Info("core mode: stores and opt-outs loaded", "optout_entries", op.OptOuts.Len())

	checker := &health.Checker{
		Store: op.Store,
		Attestation: func() health.Attestation {
			return health.Attestation{Refresh: health.Refresh(op.Client.AttestState()), ExpiresAt: tokenExpiry(op.Client.Token())}
		},
		Stores: func() map[store.Part]health.Refresh {
			states := op.Sync.States()
			out := make(map[store.Part]health.Refresh, len(states))
			for p, st := range states {
				out[p] = health.Refresh(st)
			}
			return out
		},
		OptOut:     func() health.Refresh { return health.Refresh(op.OptOutSync.State()) },
		StaleLimit: time.Duration(cfg.StoreRefreshStaleShutdownHour) * time.Hour,
		SaltsLimit: time.Duration(cfg.SaltsExpiredShutdownHours) * time.Hour,
		// The reference's PodTerminationMonitor file.
		TerminationFile: "/app/pod_terminating/pod_terminating",
		Log:             log,
	}
	logouts := &optout.Service{Store: op.OptOuts}
	if op.Replicator != nil {
		logouts.Replicator = op.Replicator
	}
	opts := apiOptions(cfg, op.Store, op.OptOuts, logouts, log)
	opts.Health, opts.Status = checker, checker

	proc := newProcess(cfg, log, checker, reg)
	opts.Liveness = proc
	cc.Metrics.SetHealthy(httpServerComponent, true)
	// The loops stop when the drain starts; an error from one (attestation
	// rejected, stores or salts past their limits) drains without the delay
	// and exits 1.
	return serveHTTP(ctx, cfg, proc, newAPIHandler(opts, reg), metricsHandler(reg),
		op.Run, func(ctx context.Context) error { return checker.Watch(ctx, health.DefaultWatchdogPeriod) })
}

func tokenExpiry(t *attest.Token) time.Time {
	if t == nil {
		return time.Time{}
	}
	return t.ExpiresAt
}

// newAPIHandler builds the public API handler with its metrics on reg.
func newAPIHandler(opts api.Options, reg *prometheus.Registry) http.Handler {
	opts.Metrics = metrics.NewAPI(reg)
	reg.MustRegister(metrics.NewSnapshotCollector(opts.Store.Load))
	registerAdmissionMetrics(reg, opts.Admission)
	return api.New(opts).Handler()
}
