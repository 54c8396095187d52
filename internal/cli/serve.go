package cli

import (
	"context"
	"fmt"
	"io/fs"
	"log/slog"
	"net"
	"net/http"
	"os"
	"slices"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/spf13/cobra"

	"github.com/uid2-private-operator/uid2-operator/internal/api"
	"github.com/uid2-private-operator/uid2-operator/internal/attest"
	"github.com/uid2-private-operator/uid2-operator/internal/config"
	"github.com/uid2-private-operator/uid2-operator/internal/framing"
	"github.com/uid2-private-operator/uid2-operator/internal/health"
	"github.com/uid2-private-operator/uid2-operator/internal/lifecycle"
	"github.com/uid2-private-operator/uid2-operator/internal/localdata"
	"github.com/uid2-private-operator/uid2-operator/internal/metrics"
	"github.com/uid2-private-operator/uid2-operator/internal/optout"
	"github.com/uid2-private-operator/uid2-operator/internal/store"
)

// serveFlags are the flags of serve (and of the bare command).
type serveFlags struct {
	configFile   string
	defaultFile  string
	httpAddr     string
	metricsAddr  string
	datasetDir   string
	logFormat    string
	logLevel     string
	printCreds   bool
	shutdownWait time.Duration
	drainDelay   time.Duration
	readTimeout  time.Duration
	writeTimeout time.Duration
	idleTimeout  time.Duration
	startupWait  time.Duration
	azure        azureFlags
	memory       memoryFlags
	// Core mode convenience flags.
	coreURL     string
	optoutURL   string
	operatorKey string
	pprofAddr   string // debugging: net/http/pprof on its own address
}

func newServeCommand(s streams) *cobra.Command {
	var f serveFlags
	cmd := &cobra.Command{
		Use:   "serve",
		Short: "Run the operator API server (the default command)",
		Long: `Run the UID2 operator API server.

Without a Core URL the operator runs in local mode on the embedded demo
dataset (or --dataset DIR) and prints the demo credentials at start-up.

With --core-url (or core_attest_url in --config) it runs in Core mode: it
attests to UID2 Core with the operator key (--operator-key or
UID2_OPERATOR_KEY), loads every store and the opt-out data, then serves and
keeps them in sync.

Configuration layers, later wins (the reference operator's order): built-in
defaults, --default-config, environment variables named exactly like a config
key (e.g. enable_v2_encryption=false), --config, then flags.

EXIT CODES
  0  stopped by SIGTERM/SIGINT: readiness 503 at once, serving on for
     --drain-delay with "Connection: close", then in-flight requests get
     --shutdown-timeout (a second signal cuts both short)
  1  start-up failed (bad config, dataset, no active keys, port in use), or
     Core mode gave up: /attest answered 401/403 or failed for 12 h, stores
     stale or salts expired past their shutdown hours
  2  bad flags`,
		Example: `  uid2-operator
  uid2-operator serve --http-addr 127.0.0.1:8080 --metrics-addr 127.0.0.1:9080
  uid2-operator serve --config operator-config.json
  UID2_OPERATOR_KEY=... uid2-operator serve --core-url http://localhost:8088`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return runServe(cmd.Context(), s, f)
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&f.configFile, "config", "", "operator config `file` (the reference operator's JSON keys); wins over environment variables named like a key (default $VERTX_CONFIG_PATH)")
	fl.StringVar(&f.defaultFile, "default-config", "", "default config `file`: below environment variables named like a key, like the reference's conf/default-config.json (default $VERTX_DEFAULT_CONFIG_PATH)")
	fl.StringVar(&f.httpAddr, "http-addr", config.DefaultHTTPAddr, "`address` of the public API")
	fl.StringVar(&f.metricsAddr, "metrics-addr", config.DefaultMetricsAddr, "`address` of the Prometheus /metrics endpoint (empty disables it)")
	fl.StringVar(&f.datasetDir, "dataset", "", "local mode: load the dataset from `dir` (Core file formats) instead of the embedded one")
	fl.StringVar(&f.logFormat, "log-format", "json", "log format: json or text")
	fl.StringVar(&f.logLevel, "log-level", "info", "log level: debug, info, warn or error")
	fl.BoolVar(&f.printCreds, "print-credentials", true, "local mode on the embedded dataset: print the demo credentials at start-up")
	fl.DurationVar(&f.drainDelay, "drain-delay", config.DefaultDrainDelay, "after SIGTERM, how long to keep serving with readiness 503 and \"Connection: close\" before shutting down (endpoint propagation; 0: at once)")
	fl.DurationVar(&f.shutdownWait, "shutdown-timeout", config.DefaultShutdownTimeout, "after the drain delay, how long shutdown waits for in-flight requests")
	fl.DurationVar(&f.readTimeout, "read-timeout", config.DefaultReadTimeout, "bound on reading one request, headers and body")
	fl.DurationVar(&f.writeTimeout, "write-timeout", config.DefaultWriteTimeout, "bound on writing one response, from the end of its request headers; a cut response is logged")
	fl.DurationVar(&f.idleTimeout, "idle-timeout", config.DefaultIdleTimeout, "how long a keep-alive connection may wait for its next request")
	fl.DurationVar(&f.startupWait, "startup-timeout", config.DefaultStartupTimeout, "Core mode: how long start-up (attest, first load of every store and opt-outs) retries before exiting 1")
	f.azure.register(fl)
	f.memory.register(fl)
	fl.StringVar(&f.coreURL, "core-url", "", "Core mode: base `URL` of UID2 Core; derives core_attest_url and every *_metadata_path")
	fl.StringVar(&f.optoutURL, "optout-url", "", "Core mode: base `URL` of UID2 Opt-Out (default: the optout_url Core returns)")
	fl.StringVar(&f.operatorKey, "operator-key", "", "Core mode: the operator `key` (default $UID2_OPERATOR_KEY, then core_api_token)")
	fl.StringVar(&f.pprofAddr, "pprof-addr", "", "debugging: serve net/http/pprof on `address`, loopback only (e.g. 127.0.0.1:6060; empty disables it)")
	return cmd
}

func newLogger(s streams, format, level string) (*slog.Logger, error) {
	var lv slog.Level
	if err := lv.UnmarshalText([]byte(level)); err != nil {
		return nil, usageError{fmt.Errorf("--log-level: %q is not debug, info, warn or error", level)}
	}
	opts := &slog.HandlerOptions{Level: lv}
	switch format {
	case "json":
		return slog.New(slog.NewJSONHandler(s.err, opts)), nil
	case "text":
		return slog.New(slog.NewTextHandler(s.err, opts)), nil
	}
	return nil, usageError{fmt.Errorf("--log-format: %q is not json or text", format)}
}

// Environment variables that name the config files when the flags are not
// given, as in the reference (uid2-shared VertxUtils).
const (
	envConfigPath        = "VERTX_CONFIG_PATH"
	envDefaultConfigPath = "VERTX_DEFAULT_CONFIG_PATH"
)

// loadConfig builds the configuration in the reference's order, later layers
// winning (uid2-shared VertxUtils#createConfigRetriever): code defaults, the
// default config file, environment variables named like a config key, the
// config file (the reference's -Dvertx-config-path override file), then
// flags. Unknown key names of both files are logged once.
func loadConfig(f serveFlags, lookup func(string) (string, bool), log *slog.Logger) (config.Config, error) {
	cfg := config.Default()
	cfg.Stores = configStores()
	var unknown []string
	parseFile := func(flag, path string) error {
		file, err := os.Open(path)
		if err != nil {
			return fmt.Errorf("%s: %w", flag, err)
		}
		defer file.Close()
		u, err := cfg.Parse(file)
		if err != nil {
			return fmt.Errorf("%s %s: %w", flag, path, err)
		}
		unknown = append(unknown, u...)
		return nil
	}
	orEnv := func(v, env string) string {
		if v == "" {
			v, _ = lookup(env)
		}
		return strings.TrimSpace(v)
	}
	if p := orEnv(f.defaultFile, envDefaultConfigPath); p != "" {
		if err := parseFile("--default-config", p); err != nil {
			return cfg, err
		}
	}
	set, err := cfg.ApplyEnv(lookup)
	if err != nil {
		return cfg, err
	}
	if len(set) > 0 {
		log.Info("config keys set by environment variables", "keys", set)
	}
	if p := orEnv(f.configFile, envConfigPath); p != "" {
		if err := parseFile("--config", p); err != nil {
			return cfg, err
		}
	}
	if len(unknown) > 0 {
		slices.Sort(unknown)
		log.Info("config keys not used by this operator", "keys", slices.Compact(unknown))
	}
	if f.coreURL != "" {
		cfg.StorageMock = false
		cfg.DeriveCorePaths(f.coreURL, f.optoutURL)
	}
	if cfg.CoreMode() && !cfg.IsSet("client_side_token_generate") {
		// The reference's code default for an attested operator: Core
		// refuses sites and keypairs to a private one (§2.4).
		cfg.ClientSideTokenGenerate = false
	}
	if key := f.operatorKey; key != "" {
		cfg.CoreAPIToken = key
	} else if key, _ := lookup("UID2_OPERATOR_KEY"); key != "" {
		cfg.CoreAPIToken = key
	}
	cfg.HTTPAddr = f.httpAddr
	cfg.MetricsAddr = f.metricsAddr
	cfg.DatasetDir = f.datasetDir
	cfg.ShutdownTimeout = f.shutdownWait
	cfg.DrainDelay = f.drainDelay
	cfg.ReadTimeout = f.readTimeout
	cfg.WriteTimeout = f.writeTimeout
	cfg.IdleTimeout = f.idleTimeout
	cfg.StartupTimeout = f.startupWait
	if err := f.memory.apply(&cfg); err != nil {
		return cfg, err
	}
	if err := cfg.Validate(); err != nil {
		return cfg, err
	}
	// Last, as it reads the timeouts and sets the runtime's memory limit.
	if err := sizeMemory(&cfg, log, os.Getenv, osRoot()); err != nil {
		return cfg, err
	}
	return cfg, nil
}

func runServe(ctx context.Context, s streams, f serveFlags) error {
	log, err := newLogger(s, f.logFormat, f.logLevel)
	if err != nil {
		return err
	}
	if err := startPprof(ctx, f.pprofAddr, log); err != nil {
		return err
	}
	lookup := os.LookupEnv
	if az, err := useAzure(f.azure, lookup); err != nil {
		return err
	} else if az {
		return runAzureAKS(ctx, s, f, log, lookup)
	}
	cfg, err := loadConfig(f, lookup, log)
	if err != nil {
		return err
	}
	if cfg.EnclavePlatform == config.PlatformAzureCC {
		if f.azure.platform == platformDefault {
			return usageError{fmt.Errorf("--platform default conflicts with enclave_platform %q from the config or the environment; drop one of them", cfg.EnclavePlatform)}
		}
		return runAzureCC(ctx, cfg, f.azure.retryFor, log, lookup)
	}
	if cfg.CoreMode() {
		return runCoreMode(ctx, cfg, attest.Trusted{}, log)
	}

	st := store.New(nil)
	dataset, err := loadLocal(ctx, cfg, st, time.Now())
	if err != nil {
		return err
	}
	mockOptOuts, err := localdata.OptOuts(dataset)
	if err != nil {
		return fmt.Errorf("local dataset: %w", err)
	}
	if cfg.DatasetDir == "" && f.printCreds {
		if err := printLocalCredentials(s, cfg.HTTPAddr); err != nil {
			return err
		}
	}

	// Local mode has no Opt-Out service: the index holds the dataset's
	// opt-out partition, and logouts apply locally at once.
	optouts := optout.NewStore()
	optouts.Replace(optout.NewIndex(mockOptOuts))
	reg := newRegistry()
	// Local mode has no store loops: the one component is the HTTP server.
	components := metrics.ComponentHealth.NewGaugeVec()
	components.WithLabelValues(httpServerComponent).Set(1)
	reg.MustRegister(components)
	opts := apiOptions(cfg, st, optouts, &optout.Service{Store: optouts}, log)
	checker := &health.Checker{Store: st, SaltsLimit: time.Duration(cfg.SaltsExpiredShutdownHours) * time.Hour, Log: log}
	proc := newProcess(cfg, log, checker, reg)
	opts.Health, opts.Liveness, opts.Status = checker, proc, checker
	// The watchdog applies the salt-expiry limit and logs degraded
	// conditions here too: the same rules in every mode.
	return serveHTTP(ctx, cfg, proc, newAPIHandler(opts, reg), metricsHandler(reg),
		func(ctx context.Context) error { return checker.Watch(ctx, health.DefaultWatchdogPeriod) })
}

// apiOptions maps the configuration onto the API server's options.
func apiOptions(cfg config.Config, st *store.Store, optouts *optout.Store, logouts api.Logouts, log *slog.Logger) api.Options {
	return api.Options{
		Scope:                      cfg.Scope(),
		DisableV2Encryption:        !cfg.EnableV2Encryption,
		DisablePhone:               !cfg.EnablePhoneSupport,
		IdentityV3:                 cfg.IdentityV3,
		CSTG:                       cfg.ClientSideTokenGenerate,
		DisableCSTGDomainCheck:     !cfg.CSTGDomainNameCheckEnabled,
		ProvideAppNames:            cfg.KeySharingEndpointProvideAppName,
		DisableOptoutStatus:        !cfg.OptoutStatusAPIEnabled,
		OptoutStatusMaxRequestSize: cfg.OptoutStatusMaxRequestSize,
		AllowClockSkewSeconds:      cfg.AllowClockSkewSeconds,
		TCFVendorID:                cfg.TCFVendorID,
		Store:                      st,
		OptOuts:                    optouts,
		Logouts:                    logouts,
		Logger:                     log,
		Admission:                  newAdmission(cfg),
	}
}

// loadLocal loads the local dataset into st, applies the reference's
// local-mode start-up checks (an active master key, unexpired salts) and
// returns the dataset for the files that are not stores.
func loadLocal(ctx context.Context, cfg config.Config, st *store.Store, now time.Time) (fs.FS, error) {
	var fsys fs.FS
	var err error
	if cfg.DatasetDir != "" {
		fsys = os.DirFS(cfg.DatasetDir)
	} else if fsys, err = localdata.Open(now); err != nil {
		return nil, fmt.Errorf("embedded dataset: %w", err)
	}
	if err := loadBootstrap(&cfg, st, nil); err != nil {
		return nil, err
	}
	loader := &store.Loader{Src: store.FSSource{FS: fsys}, Store: st, Paths: localPaths(cfg)}
	if err := loader.LoadAll(ctx); err != nil {
		return nil, fmt.Errorf("local dataset: %w", err)
	}
	snap := st.Load()
	if _, err := snap.Keyring.MasterKey(now.Unix()); err != nil {
		return nil, fmt.Errorf("local dataset: no active master key")
	}
	if sn := snap.Salts.At(now.UnixMilli()); sn.Expires < now.UnixMilli() {
		return nil, fmt.Errorf("local dataset: the current salt file expired at %s", time.UnixMilli(sn.Expires).UTC().Format(time.RFC3339))
	}
	return fsys, nil
}

// newProcess returns the process lifecycle of serve: readiness turns 503
// (checker.ShuttingDown) first thing in the drain.
func newProcess(cfg config.Config, log *slog.Logger, checker *health.Checker, reg *prometheus.Registry) *lifecycle.Process {
	cut := metrics.ResponsesCut.NewCounterVec().WithLabelValues()
	ready := metrics.Ready.NewGaugeFunc(func() float64 {
		if ok, _ := checker.Healthy(); ok {
			return 1
		}
		return 0
	})
	degraded := metrics.DegradedConditions.NewGaugeFunc(func() float64 { return float64(len(checker.Degraded())) })
	reg.MustRegister(cut, ready, degraded)
	return lifecycle.New(lifecycle.Options{
		DrainDelay:      cfg.DrainDelay,
		ShutdownTimeout: cfg.ShutdownTimeout,
		OnDrain:         checker.ShuttingDown,
		OnCut:           cut.Inc,
		Log:             log,
	})
}

// serveHTTP runs the API and metrics servers and the background loops until
// ctx ends or a loop fails, then drains (lifecycle.Process.Serve). Every mode
// serves this way.
func serveHTTP(ctx context.Context, cfg config.Config, proc *lifecycle.Process, apiHandler, metrics http.Handler, loops ...lifecycle.Loop) error {
	apiLn, err := net.Listen("tcp", cfg.HTTPAddr)
	if err != nil {
		return fmt.Errorf("--http-addr: %w", err)
	}
	timeouts := lifecycle.Timeouts{Read: cfg.ReadTimeout, Write: cfg.WriteTimeout, Idle: cfg.IdleTimeout}
	apiSrv := proc.NewServer("api", apiHandler, timeouts)
	// The guard lets the API reject Content-Length with Transfer-Encoding.
	lifecycleConn := apiSrv.ConnContext
	apiSrv.ConnContext = func(ctx context.Context, c net.Conn) context.Context {
		return framing.ConnContext(lifecycleConn(ctx, c), c)
	}
	ls := []lifecycle.Listener{{Name: "api", Server: apiSrv, Ln: framing.GuardListener(apiLn)}}
	if cfg.MetricsAddr != "" {
		mLn, err := net.Listen("tcp", cfg.MetricsAddr)
		if err != nil {
			apiLn.Close()
			return fmt.Errorf("--metrics-addr: %w", err)
		}
		ls = append(ls, lifecycle.Listener{Name: "metrics", Server: proc.NewServer("metrics", metrics, timeouts), Ln: mLn})
	}
	proc.Log().Info("operator listening", "http_addr", apiLn.Addr().String(), "metrics_addr", cfg.MetricsAddr,
		"read_timeout", cfg.ReadTimeout.String(), "write_timeout", cfg.WriteTimeout.String(), "drain_delay", cfg.DrainDelay.String())
	return proc.Serve(ctx, ls, loops...)
}
