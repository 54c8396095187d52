package cli

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io/fs"
	"net"
	"os"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/uid2-private-operator/uid2-operator/internal/core/standin"
	"github.com/uid2-private-operator/uid2-operator/internal/lifecycle"
	"github.com/uid2-private-operator/uid2-operator/internal/localdata"
	"github.com/uid2-private-operator/uid2-operator/internal/store"
)

// DefaultCoreAddr is the stand-in Core's listen address (Core's port 8088).
const DefaultCoreAddr = ":8088"

type coreFlags struct {
	httpAddr       string
	datasetDir     string
	printCreds     bool
	operatorKey    string
	operatorType   string
	siteID         int32
	encryptedFiles bool
	tokenLifetime  time.Duration
	tokenJitter    bool
	skipTokenCheck bool
	logFormat      string
	logLevel       string
}

func newCoreCommand(s streams) *cobra.Command {
	var f coreFlags
	cmd := &cobra.Command{
		Use:   "core",
		Short: "Run a stand-in UID2 Core and Opt-Out service for a local operator",
		Long: `Run a stand-in for UID2 Core and Opt-Out (core-and-optout.md §7) on one port:
operator-key auth, trusted attestation with RSA-encrypted tokens, checked
Attestation-Token headers, versioned store metadata and the data files,
encrypted files on request, opt-out deltas and /optout/replicate.

It serves the embedded demo dataset, or --dataset DIR in the same layout
(see "uid2-operator local generate"). Files are read on every request: edit
a file, then bump "version" in its metadata.json, and operators reload it.

Point an operator at it with
  uid2-operator serve --core-url http://localhost:8088 --operator-key KEY

EXIT CODES
  0  --print-credentials, or stopped by SIGTERM/SIGINT
  1  start-up failed (dataset, port in use)
  2  bad flags`,
		Example: `  uid2-operator core
  uid2-operator core --print-credentials
  uid2-operator core --http-addr 127.0.0.1:8088 --dataset ./my-dataset --operator-key "$UID2_OPERATOR_KEY"`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return runCore(cmd.Context(), s, f)
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&f.httpAddr, "http-addr", DefaultCoreAddr, "`address` to listen on")
	fl.StringVar(&f.datasetDir, "dataset", "", "serve the dataset in `dir` instead of the embedded one")
	fl.BoolVar(&f.printCreds, "print-credentials", false, "print the operator key and client credentials, then exit")
	fl.StringVar(&f.operatorKey, "operator-key", "", "the operator `key` to accept (default: a fixed demo key, printed at start-up)")
	fl.StringVar(&f.operatorType, "operator-type", "private", "operator type of the key: public or private")
	fl.Int32Var(&f.siteID, "site-id", standin.DefaultSiteID, "site `id` of the operator key (cloud encryption keys are per site)")
	fl.BoolVar(&f.encryptedFiles, "encrypted-files", true, "serve encrypted files and cloud encryption keys to operators that send \"Encrypted: true\"")
	fl.DurationVar(&f.tokenLifetime, "token-lifetime", standin.DefaultTokenLifetime, "attestation token lifetime (plus Core's random 5–10 min unless --token-jitter=false)")
	fl.BoolVar(&f.tokenJitter, "token-jitter", true, "add Core's random 5–10 min to --token-lifetime (false: tokens expire exactly, e.g. to rehearse an outage with a 30s token)")
	fl.BoolVar(&f.skipTokenCheck, "skip-token-check", false, "accept refresh calls without a valid Attestation-Token (as Core does for trusted keys)")
	fl.StringVar(&f.logFormat, "log-format", "json", "log format: json or text")
	fl.StringVar(&f.logLevel, "log-level", "info", "log level: debug, info, warn or error")
	return cmd
}

// demoOperatorKey is the stand-in's default operator key: fixed, so that
// --print-credentials and a running stand-in agree. Public; demo only.
func demoOperatorKey() string {
	h := sha256.Sum256([]byte("uid2-operator stand-in core operator key v1"))
	s := strings.NewReplacer("-", "a", "_", "b").Replace(base64.RawURLEncoding.EncodeToString(h[:]))
	return fmt.Sprintf("UID2-O-L-%d-%s.%s", standin.DefaultSiteID, s[:6], s[6:43]+"A")
}

func (f coreFlags) key() string {
	if f.operatorKey != "" {
		return f.operatorKey
	}
	if k := os.Getenv("UID2_OPERATOR_KEY"); k != "" {
		return k
	}
	return demoOperatorKey()
}

func runCore(ctx context.Context, s streams, f coreFlags) error {
	if f.operatorType != "public" && f.operatorType != "private" {
		return usageError{fmt.Errorf("--operator-type: %q is not public or private", f.operatorType)}
	}
	var dataset fs.FS
	if f.datasetDir != "" {
		dataset = os.DirFS(f.datasetDir)
	} else {
		var err error
		if dataset, err = localdata.Open(time.Now()); err != nil {
			return fmt.Errorf("embedded dataset: %w", err)
		}
	}
	if f.printCreds {
		return printCoreCredentials(s, f, dataset, f.httpAddr)
	}
	log, err := newLogger(s, f.logFormat, f.logLevel)
	if err != nil {
		return err
	}
	opt := standin.Options{
		Dataset:        dataset,
		Operators:      []standin.Operator{{Key: f.key(), SiteID: f.siteID, Type: f.operatorType}},
		TokenLifetime:  f.tokenLifetime,
		NoJitter:       !f.tokenJitter,
		SkipTokenCheck: f.skipTokenCheck,
		Log:            log,
	}
	if !f.encryptedFiles {
		opt.CloudKeys = []store.CloudEncryptionKey{} // none: Encrypted requests fail
	}
	srv, err := standin.New(opt)
	if err != nil {
		return err
	}
	// The dataset's opt-outs (the e2e suite's mock opt-out) become Opt-Out's
	// latest partition, as local mode loads them.
	if recs, err := localdata.OptOuts(dataset); err != nil {
		return fmt.Errorf("dataset: %w", err)
	} else if len(recs) > 0 {
		srv.AddPartition(time.Now().Add(-time.Minute), recs...)
	}
	ln, err := net.Listen("tcp", f.httpAddr)
	if err != nil {
		return fmt.Errorf("--http-addr: %w", err)
	}
	if err := printCoreCredentials(s, f, dataset, ln.Addr().String()); err != nil {
		ln.Close()
		return err
	}
	// The stand-in's lifecycle is the operator's, without a drain delay:
	// stop on ctx, Shutdown within 5 s.
	proc := lifecycle.New(lifecycle.Options{ShutdownTimeout: 5 * time.Second, Log: log})
	hs := proc.NewServer("stand-in core", srv.Handler(), lifecycle.Timeouts{
		ReadHeader: 10 * time.Second, Read: 30 * time.Second, Write: 5 * time.Minute, Idle: 2 * time.Minute})
	log.Info("stand-in core listening", "http_addr", ln.Addr().String())
	return proc.Serve(ctx, []lifecycle.Listener{{Name: "stand-in core", Server: hs, Ln: ln}})
}

// printCoreCredentials prints the operator key, the client credentials of
// the dataset (its credentials.json) and the serve command to run.
func printCoreCredentials(s streams, f coreFlags, dataset fs.FS, addr string) error {
	w := s.out
	fmt.Fprintln(w, "Stand-in Core: demo credentials (public; never use them in production)")
	fmt.Fprintf(w, "  operator key (%s, site %d): %s\n", f.operatorType, f.siteID, f.key())
	if b, err := fs.ReadFile(dataset, localdata.CredentialsFile); err == nil {
		var c localdata.Credentials
		if err := json.Unmarshal(b, &c); err != nil {
			return fmt.Errorf("%s: %w", localdata.CredentialsFile, err)
		}
		writeCredentialTable(w, &c)
	}
	fmt.Fprintf(w, "Run an operator against it:\n  UID2_OPERATOR_KEY='%s' uid2-operator serve --core-url %s\n", f.key(), baseURL(addr))
	return nil
}
