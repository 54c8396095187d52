package cli

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/uid2-private-operator/uid2-operator/internal/load"
	"github.com/uid2-private-operator/uid2-operator/internal/localdata"
)

// maxRounds bounds --rounds.
const maxRounds = 100

type loadFlags struct {
	scenarios   []string
	conns       int
	duration    time.Duration
	warmup      time.Duration
	identities  int
	binary      bool
	rounds      int
	baseline    bool
	baseURL     string
	apiKey      string
	secret      string
	serverPID   int
	operatorArg []string
	operatorEnv []string
	profileDir  string
	pprofURL    string
	timeout     time.Duration
	json        bool
}

func newLoadCommand(s streams) *cobra.Command {
	var f loadFlags
	cmd := &cobra.Command{
		Use:   "load",
		Short: "Load-test an operator against a hello-world floor and report req/s, latency and server CPU per request",
		Long: `Drive operator endpoints with fresh v2 envelopes from N keep-alive
connections for a fixed time, and report requests per second, latency
percentiles (p50/p90/p99/max), errors by kind and the server's CPU per
request (utime+stime from /proc/PID/stat: the server's own work, not the
client's).

Every scenario is run twice per round, side by side with the same client and
the same request bytes: against a hello-world net/http server (600-byte
answer) that this command starts in a separate process, and against the
operator. "floor ratio" is the baseline's CPU per request over the
operator's: 1.0 means the operator costs no more than HTTP itself.

Without --base-url the command starts the operator itself ("serve" in local
mode on the embedded dataset, 127.0.0.1, a free port) and uses the demo
client with every role. With --base-url, give --api-key and --secret (or
UID2_API_KEY and UID2_SECRET_KEY) and --server-pid for the CPU figures.

A scenario is ENDPOINT[:CONNS][:text|binary]; endpoints are generate,
refresh, validate, map-v2 and map-v3. Refresh sends the refresh token itself
(binary only changes the encoding of the answer); refresh and validate
first call generate once per connection for their tokens. The machine is
usually shared: use --rounds and read the ranges, and compare only figures
taken in the same run.

EXIT CODES
  0  every request in every measured window succeeded
  1  some requests failed (see the errors column), or a run could not be
     measured (server exited, start-up failed)
  2  bad flags`,
		Example: `  uid2-operator load --scenario generate:32 --duration 10s
  uid2-operator load --rounds 3 --scenario generate:32,refresh:32 \
    --scenario map-v3:4:text,map-v3:4:binary,map-v2:4 --identities 5000
  uid2-operator load --profile-dir /tmp/prof --scenario generate:32
  uid2-operator load --base-url http://127.0.0.1:8080 --server-pid "$(pidof uid2-operator)" \
    --api-key "$UID2_API_KEY" --secret "$UID2_SECRET_KEY" --scenario validate:16`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return runLoad(cmd.Context(), s, f)
		},
	}
	fl := cmd.Flags()
	fl.StringSliceVar(&f.scenarios, "scenario", []string{"generate"}, "ENDPOINT[:CONNS][:text|binary], repeatable or comma-separated")
	fl.IntVar(&f.conns, "conns", load.DefaultConns, "keep-alive connections of a scenario that names none")
	fl.DurationVar(&f.duration, "duration", load.DefaultDuration, "measured window of each run")
	fl.DurationVar(&f.warmup, "warmup", load.DefaultWarmup, "traffic before each window that is not counted")
	fl.IntVar(&f.identities, "identities", load.DefaultIdentities, "emails per identity-map request")
	fl.BoolVar(&f.binary, "binary", false, "application/octet-stream envelopes for scenarios that name no envelope")
	fl.IntVar(&f.rounds, "rounds", 1, "times to repeat every scenario (the summary shows the ranges)")
	fl.BoolVar(&f.baseline, "baseline", true, "also run every scenario against the hello-world floor")
	fl.StringVar(&f.baseURL, "base-url", "", "operator base `URL` (default: start one)")
	fl.StringVar(&f.apiKey, "api-key", "", "API key with the roles the scenarios need (default $UID2_API_KEY)")
	fl.StringVar(&f.secret, "secret", "", "client secret, base64 (default $UID2_SECRET_KEY)")
	fl.IntVar(&f.serverPID, "server-pid", 0, "with --base-url: the operator's process `id`, for the server CPU figures")
	fl.StringArrayVar(&f.operatorArg, "operator-arg", nil, "extra argument for the started operator's serve (repeatable), e.g. --operator-arg=--config=op.json")
	fl.StringArrayVar(&f.operatorEnv, "operator-env", nil, "KEY=VALUE added to the started operator's environment (repeatable), e.g. --operator-env GOGC=400")
	fl.StringVar(&f.profileDir, "profile-dir", "", "save a CPU profile of the operator for every measured window into `dir` (go tool pprof)")
	fl.StringVar(&f.pprofURL, "pprof-url", "", "with --base-url and --profile-dir: the operator's pprof `URL` (http://HOST:PORT/debug/pprof/)")
	fl.DurationVar(&f.timeout, "timeout", load.DefaultTimeout, "per-request timeout")
	fl.BoolVar(&f.json, "json", false, "print the runs as JSON instead of tables")
	cmd.AddCommand(newBaselineServerCommand(s))
	return cmd
}

// newBaselineServerCommand is the hidden child that `load` starts: the
// hello-world floor in its own process, so its CPU is measured apart.
func newBaselineServerCommand(s streams) *cobra.Command {
	var addr string
	cmd := &cobra.Command{
		Use:    "baseline-server",
		Short:  "Serve the hello-world baseline (started by load)",
		Hidden: true,
		Args:   cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ln, err := net.Listen("tcp", addr)
			if err != nil {
				return usageError{fmt.Errorf("--addr: %w", err)}
			}
			fmt.Fprintln(s.out, load.ListeningPrefix+ln.Addr().String())
			return load.ServeBaseline(cmd.Context(), ln)
		},
	}
	cmd.Flags().StringVar(&addr, "addr", "127.0.0.1:0", "listen `address`")
	return cmd
}

// parseScenarios turns the --scenario values (ENDPOINT[:CONNS][:text|binary])
// into run options.
func parseScenarios(f loadFlags) ([]load.Options, error) {
	var out []load.Options
	for _, spec := range f.scenarios {
		parts := strings.Split(strings.TrimSpace(spec), ":")
		if len(parts) > 3 {
			return nil, fmt.Errorf("--scenario %q: want ENDPOINT[:CONNS][:text|binary]", spec)
		}
		e, err := load.ParseEndpoint(parts[0])
		if err != nil {
			return nil, fmt.Errorf("--scenario %q: %w", spec, err)
		}
		o := load.Options{Endpoint: e, Conns: f.conns, Duration: f.duration, Warmup: f.warmup,
			Binary: f.binary, Identities: f.identities, Timeout: f.timeout}
		if f.warmup == 0 {
			o.Warmup = -1 // an explicit 0 means none, not the default
		}
		if len(parts) > 1 && parts[1] != "" {
			n, err := strconv.Atoi(parts[1])
			if err != nil || n < 1 || n > load.MaxConns {
				return nil, fmt.Errorf("--scenario %q: connections must be 1…%d", spec, load.MaxConns)
			}
			o.Conns = n
		}
		if len(parts) > 2 {
			switch parts[2] {
			case "text":
				o.Binary = false
			case "binary":
				o.Binary = true
			default:
				return nil, fmt.Errorf("--scenario %q: envelope must be text or binary", spec)
			}
		}
		out = append(out, o)
	}
	if len(out) == 0 {
		return nil, errors.New("--scenario: give at least one")
	}
	return out, nil
}

// checkLoadFlags rejects out-of-range numeric flags before anything starts,
// naming the flag: load.Options would otherwise take a zero for "default"
// (--conns 0 silently running 32 connections) or fail only after the
// operator has been started, with the option's name instead of the flag's.
func checkLoadFlags(f loadFlags) error {
	switch {
	case f.conns < 1 || f.conns > load.MaxConns:
		return fmt.Errorf("--conns: must be 1…%d (got %d)", load.MaxConns, f.conns)
	case f.duration <= 0 || f.duration > load.MaxDuration:
		return fmt.Errorf("--duration: must be positive and at most %v (got %v)", load.MaxDuration, f.duration)
	case f.warmup < 0 || f.warmup > load.MaxDuration:
		return fmt.Errorf("--warmup: must be 0…%v (got %v)", load.MaxDuration, f.warmup)
	case f.identities < 1 || f.identities > load.MaxIdentities:
		return fmt.Errorf("--identities: must be 1…%d (got %d)", load.MaxIdentities, f.identities)
	case f.timeout <= 0:
		return fmt.Errorf("--timeout: must be positive (got %v)", f.timeout)
	case f.rounds < 1 || f.rounds > maxRounds:
		return fmt.Errorf("--rounds: must be 1…%d (got %d)", maxRounds, f.rounds)
	case f.serverPID < 0:
		return fmt.Errorf("--server-pid: must be a process id (got %d)", f.serverPID)
	}
	for _, u := range []struct{ flag, value string }{{"--base-url", f.baseURL}, {"--pprof-url", f.pprofURL}} {
		if u.value == "" {
			continue
		}
		if p, err := url.Parse(u.value); err != nil || (p.Scheme != "http" && p.Scheme != "https") || p.Host == "" {
			return fmt.Errorf("%s %q: want http://HOST:PORT", u.flag, u.value)
		}
	}
	return nil
}

func runLoad(ctx context.Context, s streams, f loadFlags) error {
	if err := checkLoadFlags(f); err != nil {
		return usageError{err}
	}
	scenarios, err := parseScenarios(f)
	if err != nil {
		return usageError{err}
	}
	self, err := os.Executable()
	if err != nil {
		return fmt.Errorf("find own executable: %w", err)
	}

	op := load.Server{Name: "operator", BaseURL: strings.TrimRight(f.baseURL, "/"), PID: f.serverPID}
	var creds load.Credentials
	if f.baseURL == "" {
		if f.serverPID != 0 || f.pprofURL != "" {
			return usageError{errors.New("--server-pid and --pprof-url need --base-url")}
		}
		for _, kv := range f.operatorEnv {
			if k, _, ok := strings.Cut(kv, "="); !ok || k == "" {
				return usageError{fmt.Errorf("--operator-env %q: want KEY=VALUE", kv)}
			}
		}
		proc, url, pprofURL, err := startOperator(ctx, self, f)
		if err != nil {
			return err
		}
		defer proc.Stop()
		op.BaseURL, op.PID, op.ProfileURL = url, proc.PID(), pprofURL
		all, err := localdata.ReadCredentials()
		if err != nil {
			return err
		}
		creds = load.Credentials{BaseURL: url, APIKey: all.All.APIKey, Secret: all.All.Secret}
	} else {
		if len(f.operatorArg) > 0 || len(f.operatorEnv) > 0 {
			return usageError{errors.New("--operator-arg and --operator-env apply only to an operator that load starts (no --base-url)")}
		}
		creds = load.Credentials{BaseURL: op.BaseURL, APIKey: firstNonEmpty(f.apiKey, os.Getenv("UID2_API_KEY")),
			Secret: firstNonEmpty(f.secret, os.Getenv("UID2_SECRET_KEY"))}
		if creds.APIKey == "" || creds.Secret == "" {
			return usageError{errors.New("--base-url needs --api-key and --secret (or UID2_API_KEY and UID2_SECRET_KEY)")}
		}
		if k, err := base64.StdEncoding.DecodeString(creds.Secret); err != nil || len(k) != 32 {
			return usageError{errors.New("--secret (or UID2_SECRET_KEY): must be base64 of 32 bytes")}
		}
		if f.profileDir != "" && f.pprofURL == "" {
			return usageError{errors.New("--profile-dir with --base-url needs --pprof-url")}
		}
		if f.serverPID > 0 {
			if _, err := load.ReadStat(f.serverPID); err != nil {
				return usageError{fmt.Errorf("--server-pid %d: %w", f.serverPID, err)}
			}
		}
		op.ProfileURL = f.pprofURL
	}
	if op.ProfileURL != "" && !strings.HasSuffix(op.ProfileURL, "/") {
		op.ProfileURL += "/"
	}
	if f.profileDir == "" {
		op.ProfileURL = ""
	}

	if f.profileDir != "" {
		if err := os.MkdirAll(f.profileDir, 0o755); err != nil {
			return fmt.Errorf("--profile-dir: %w", err)
		}
	}

	var floor *load.Server
	if f.baseline {
		proc, err := load.StartProcess(self, []string{"load", "baseline-server"}, nil)
		if err != nil {
			return err
		}
		defer proc.Stop()
		addr, err := proc.ReadAddr()
		if err != nil {
			return fmt.Errorf("baseline: %w", err)
		}
		floor = &load.Server{Name: "baseline", BaseURL: "http://" + addr, PID: proc.PID(), Baseline: true}
	}

	workloads := make([]*load.Workload, len(scenarios))
	for i, sc := range scenarios {
		if workloads[i], err = load.Prepare(ctx, creds, sc); err != nil {
			return fmt.Errorf("--scenario %s: %w", sc.Endpoint, err)
		}
	}
	var rows []load.Row
	var failed int64
	for round := 1; round <= f.rounds; round++ {
		for i, w := range workloads {
			o := w.Options()
			srv := op
			if srv.ProfileURL != "" {
				env := "text"
				if o.Binary {
					env = "binary"
				}
				srv.ProfileFile = filepath.Join(f.profileDir,
					fmt.Sprintf("round%d-%s-%s-%dconns.pprof", round, o.Endpoint, env, o.Conns))
			}
			// Alternate which server goes first, so a drift in the
			// machine's load does not always favour the same one.
			order := []load.Server{srv}
			if floor != nil {
				order = []load.Server{*floor, srv}
				if round%2 == 0 {
					order = []load.Server{srv, *floor}
				}
			}
			var base *load.Result
			var opRes load.Result
			for _, target := range order {
				fmt.Fprintf(s.err, "round %d/%d, scenario %d/%d: %s %s, %d conns, %v…\n",
					round, f.rounds, i+1, len(workloads), target.Name, o.Endpoint, o.Conns, o.Duration)
				res, err := w.Run(ctx, target)
				if err != nil {
					return fmt.Errorf("%s %s: %w", target.Name, o.Endpoint, err)
				}
				failed += res.ErrorCount()
				if target.Baseline {
					base = &res
				} else {
					opRes = res
				}
			}
			if base != nil {
				rows = append(rows, load.NewRow(round, *base, nil))
			}
			rows = append(rows, load.NewRow(round, opRes, base))
		}
	}
	if f.json {
		enc := json.NewEncoder(s.out)
		enc.SetIndent("", "  ")
		if err := enc.Encode(rows); err != nil {
			return err
		}
	} else {
		if err := load.WriteTable(s.out, rows); err != nil {
			return err
		}
		fmt.Fprintln(s.out)
		if err := load.WriteSummary(s.out, rows); err != nil {
			return err
		}
	}
	if failed > 0 {
		return fmt.Errorf("%d requests failed in the measured windows", failed)
	}
	return nil
}

// startOperator runs `serve` in local mode on a free 127.0.0.1 port (with
// pprof when profiles are wanted) and waits until it is healthy.
func startOperator(ctx context.Context, self string, f loadFlags) (proc *load.Process, url, pprofURL string, err error) {
	addr, err := freeLoopbackAddr()
	if err != nil {
		return nil, "", "", err
	}
	// No drain delay: nothing routes to this operator but us, and the
	// default would hold every exit for 15 s.
	args := []string{"serve", "--http-addr", addr, "--metrics-addr", "", "--print-credentials=false",
		"--log-level", "warn", "--drain-delay", "0"}
	if f.profileDir != "" {
		paddr, err := freeLoopbackAddr()
		if err != nil {
			return nil, "", "", err
		}
		args = append(args, "--pprof-addr", paddr)
		pprofURL = "http://" + paddr + "/debug/pprof/"
	}
	args = append(args, f.operatorArg...)
	proc, err = load.StartProcess(self, args, f.operatorEnv)
	if err != nil {
		return nil, "", "", err
	}
	url = "http://" + addr
	if err := proc.WaitHealthy(ctx, url+"/ops/healthcheck"); err != nil {
		proc.Stop()
		return nil, "", "", fmt.Errorf("operator: %w", err)
	}
	return proc, url, pprofURL, nil
}

// freeLoopbackAddr returns a 127.0.0.1 address that was free a moment ago.
func freeLoopbackAddr() (string, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	defer ln.Close()
	return ln.Addr().String(), nil
}

func firstNonEmpty(v ...string) string {
	for _, s := range v {
		if s != "" {
			return s
		}
	}
	return ""
}
