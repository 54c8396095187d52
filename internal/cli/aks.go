package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/netip"
	neturl "net/url"
	"os"
	"os/exec"
	"regexp"
	"strings"
	"time"

	"github.com/spf13/cobra"

	aksmanifest "github.com/uid2-private-operator/uid2-operator/deploy/aks"
	"github.com/uid2-private-operator/uid2-operator/internal/aks"
	"github.com/uid2-private-operator/uid2-operator/internal/egress"
)

const aksExitCodes = `
EXIT CODES
  0  success
  1  a rule failed, or Azure/Kubernetes/the operator answered with an error
  2  bad flags or arguments`

// aksEnv is what the aks commands take from the process: the environment
// and a command runner. Tests replace both.
type aksEnv struct {
	getenv func(string) string
	runner aks.Runner
	sleep  func(context.Context, time.Duration) error
}

func newAKSCommand(s streams) *cobra.Command {
	return newAKSCommandEnv(s, aksEnv{getenv: os.Getenv, runner: execRunner{}})
}

func newAKSCommandEnv(s streams, env aksEnv) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "aks",
		Short: "Deploy on AKS virtual nodes: preflight, policy, plan, render, health",
		Long: `The aks commands turn the AKS integration guide into validated, repeatable steps.

Every variable of the guide (RESOURCE_GROUP, LOCATION, VNET_NAME, ...) is read
from the environment, and a flag of the same name in lowercase with dashes
(--resource-group, --location, ...) overrides it. Run 'aks preflight' first;
'plan' and 'render' refuse inputs that fail it.`,
		Example: `  export RESOURCE_GROUP=my-vn-aks LOCATION=eastus VNET_NAME=my-vnet ...
  uid2-operator aks preflight
  uid2-operator aks policy --image oci:out/image -o cce-policy.base64
  uid2-operator aks plan -o provision.sh && bash provision.sh
  uid2-operator aks render -f operator.yaml -o operator.rendered.yaml
  uid2-operator aks health` + "\n" + aksExitCodes,
		Args: noArgs,
	}
	flags := cmd.PersistentFlags()
	for _, f := range aks.Fields() {
		def := f.Get(ptrVars(aks.Default()))
		usage := f.Usage + " (env " + f.Env
		if def != "" {
			usage += ", default " + def
		}
		flags.String(f.Flag, "", usage+")")
	}
	load := func(c *cobra.Command) aks.Vars {
		v := aks.Default()
		for _, f := range aks.Fields() {
			if val := env.getenv(f.Env); val != "" {
				f.Set(&v, val)
			}
			if fl := c.Flags().Lookup(f.Flag); fl != nil && fl.Changed {
				f.Set(&v, fl.Value.String())
			}
		}
		return v
	}
	cmd.AddCommand(
		newAKSPreflightCommand(s, load),
		newAKSPlanCommand(s, load),
		newAKSRenderCommand(s, load),
		newAKSPolicyCommand(s, load),
		newAKSHealthCommand(s, load, env),
	)
	return cmd
}

func ptrVars(v aks.Vars) *aks.Vars { return &v }

func noArgs(_ *cobra.Command, args []string) error {
	if len(args) > 0 {
		return usageError{fmt.Errorf("unexpected argument %q", args[0])}
	}
	return nil
}

// aksFailed is returned when rules or probes fail; the details were
// already printed.
type aksFailed struct{ msg string }

func (e aksFailed) Error() string { return e.msg }

func newAKSPreflightCommand(s streams, load func(*cobra.Command) aks.Vars) *cobra.Command {
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "preflight",
		Short: "Check every variable against the naming, region, CIDR and version rules",
		Long: `preflight checks the variables before anything is created: resource names
(Key Vault names are global), Europe and China regions (rejected), the
confidential-container region list (warning), CIDR containment and overlap,
the service CIDR and DNS IP, the Kubernetes and virtual-node chart versions,
node counts, and, when OPERATOR_KEY is set, the key's environment letter.
It makes no Azure call. Each finding names the variable, the problem and the fix.
Then it lists the egress the operator needs for DEPLOYMENT_ENV: the UID2
Core, Opt-Out and storage hosts (failover replicas included) to allow on
HTTPS from subnet cg.`,
		Example: `  uid2-operator aks preflight
  KEYVAULT_NAME=my--vault uid2-operator aks preflight --json` + "\n" + aksExitCodes,
		Args: noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			v := load(cmd)
			rep := aks.Preflight(v)
			if asJSON {
				type finding struct {
					Severity string `json:"severity"`
					Rule     string `json:"rule"`
					Field    string `json:"field"`
					Value    string `json:"value"`
					Problem  string `json:"problem"`
					Fix      string `json:"fix"`
				}
				type host struct {
					Host    string `json:"host"`
					Port    int    `json:"port"`
					Purpose string `json:"purpose"`
				}
				out := struct {
					OK       bool      `json:"ok"`
					Findings []finding `json:"findings"`
					Egress   []host    `json:"egress"`
				}{OK: rep.Errors() == 0, Findings: []finding{}, Egress: []host{}}
				for _, h := range egress.Hosts(v.DeploymentEnv) {
					out.Egress = append(out.Egress, host{h.Name, egress.Port, h.Purpose})
				}
				for _, f := range rep.Findings {
					out.Findings = append(out.Findings, finding{f.Severity.String(), f.Rule, f.Field, f.Value, f.Problem, f.Fix})
				}
				enc := json.NewEncoder(s.out)
				enc.SetIndent("", "  ")
				if err := enc.Encode(out); err != nil {
					return err
				}
			} else {
				writeFindings(s.out, rep)
				writeEgress(s.out, v.DeploymentEnv)
			}
			if n := rep.Errors(); n > 0 {
				return aksFailed{fmt.Sprintf("preflight: %d error(s)", n)}
			}
			return nil
		},
	}
	cmd.Flags().BoolVar(&asJSON, "json", false, "print the findings as JSON")
	return cmd
}

func writeFindings(w io.Writer, rep aks.Report) {
	warnings := len(rep.Findings) - rep.Errors()
	for _, f := range rep.Findings {
		fmt.Fprintf(w, "%-7s %s=%q: %s\n        fix: %s\n", f.Severity, f.Field, f.Value, f.Problem, f.Fix)
	}
	if rep.Errors() == 0 {
		fmt.Fprintf(w, "preflight: ok (%d warning(s))\n", warnings)
	} else {
		fmt.Fprintf(w, "preflight: %d error(s), %d warning(s)\n", rep.Errors(), warnings)
	}
}

// klogLine matches the log lines kubectl writes before its one-line reason
// (E1207 03:05:05.384372 32576 memcache.go:265] ...).
var klogLine = regexp.MustCompile(`^[IWEF]\d{4} \d\d:\d\d:\d\d\.\d+ `)

// maxReason caps a command's stderr in an error message.
const maxReason = 1 << 10

// commandReason is a failed command's stderr without klog lines, on one
// line, at most maxReason bytes.
func commandReason(stderr []byte) string {
	var keep []string
	for _, l := range strings.Split(string(stderr), "\n") {
		if l = strings.TrimSpace(l); l != "" && !klogLine.MatchString(l) {
			keep = append(keep, l)
		}
	}
	r := strings.Join(keep, "; ")
	if r == "" {
		r = strings.TrimSpace(string(stderr))
	}
	if len(r) > maxReason {
		r = "…" + r[len(r)-maxReason:]
	}
	return r
}

// writeEgress prints the hosts the operator must reach from subnet cg in
// env; nothing for an invalid env (preflight reports that).
func writeEgress(w io.Writer, env string) {
	hosts := egress.Hosts(env)
	if len(hosts) == 0 {
		return
	}
	fmt.Fprintf(w, "egress: the operator needs outbound HTTPS (port %d) from subnet cg to these hosts (%s); allow them by name:\n", egress.Port, env)
	for _, h := range hosts {
		fmt.Fprintf(w, "  %-58s %s\n", h.Name, h.Purpose)
	}
}

func newAKSPlanCommand(s streams, load func(*cobra.Command) aks.Vars) *cobra.Command {
	var out string
	var opts aks.PlanOptions
	var req policyRequest
	cmd := &cobra.Command{
		Use:   "plan",
		Short: "Print the complete provisioning script of the guide, values filled",
		Long: `plan prints a bash script that runs the guide from the resource group to
'kubectl apply', with every value filled in. Each step checks before it
creates, so the script can be re-run after a failure. It also fixes the
guide's known failure points: it registers resource providers and waits for
them, checks the Kubernetes version is offered, reads the node resource group
from 'az aks show', assigns roles by object id with retries, clones a pinned
virtual-node chart over HTTPS, recovers a soft-deleted vault, waits for RBAC
propagation and renders the manifest without sed.

Step 0 runs first, before any script is written: it takes the image and
computes the CCE policy and its enclave id (--image-source: your own build,
an OCI layout or a registry reference), or takes the enclave id from
--cce-policy-file or from the policy of a release ZIP's operator.yaml
(--manifest). It prints the enclave id, which UID2 must have registered,
and stops when there is no image and no policy. The script repeats the
check before its first az call, pushes an OCI layout to IMAGE before it
renders, and checks the rendered manifest carries the same enclave id.

The operator key is read from $OPERATOR_KEY when the script runs; it is never
written into the script. The inputs must pass preflight. The script's header
(and, with -o, stdout) lists the egress the operator needs, as preflight does.

-o writes through a device, FIFO or pipe (/dev/null, /dev/stdout) and keeps a
symlink; only a regular file is replaced, atomically.`,
		Example: `  go run ./cmd/uid2-release image --oci-layout out/image
  IMAGE=myacr.azurecr.io/uid2-operator:1.0 uid2-operator aks plan --image-source oci:out/image -o provision.sh
  uid2-operator aks plan --manifest release/operator.yaml -o provision.sh
  OPERATOR_KEY=... bash provision.sh` + "\n" + aksExitCodes,
		Args: noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			v := load(cmd)
			if rep := aks.Preflight(v); rep.Errors() > 0 {
				writeFindings(s.err, rep)
				return aksFailed{fmt.Sprintf("plan: preflight found %d error(s)", rep.Errors())}
			}
			if err := planStepZero(cmd.Context(), s, v, &opts, cmd.Flags().Changed("manifest"), req); err != nil {
				return err
			}
			var buf bytes.Buffer
			if err := aks.Plan(&buf, v, opts); err != nil {
				return err
			}
			if out == "" || out == "-" {
				_, err := s.out.Write(buf.Bytes())
				return err
			}
			if err := writeOutput(out, buf.Bytes(), 0o755); err != nil {
				return err
			}
			fmt.Fprintf(s.out, "wrote %s; run it with: bash %s\n", out, out)
			writeEgress(s.out, v.DeploymentEnv)
			fmt.Fprintf(s.out, "enclave id: %s\n", opts.EnclaveID)
			return nil
		},
	}
	f := cmd.Flags()
	f.StringVarP(&out, "output", "o", "", "write the script to this file (default stdout)")
	f.StringVar(&opts.ManifestPath, "manifest", "operator.yaml", "operator.yaml the script renders (the release ZIP's; with --image-source the default is the manifest built into this binary)")
	f.StringVar(&opts.RenderedPath, "rendered", "operator.rendered.yaml", "file the script writes the filled manifest to")
	f.StringVar(&opts.PolicyFile, "cce-policy-file", "", "CCE policy passed to render; with --image-source step 0 writes it (default "+defaultPlanPolicyFile+")")
	f.StringVar(&req.image, "image-source", "", "your operator image for step 0: oci:DIR (pushed to IMAGE by the script) or a registry reference")
	f.StringVar(&req.sidecarImage, "sidecar-image", "", "SKR sidecar image for step 0: oci:DIR or a registry reference (default: the manifest's)")
	f.BoolVar(&req.debug, "debug-policy", false, "step 0 computes a debug policy (CORE_BASE_URL etc. allowed; a different enclave id)")
	return cmd
}

func newAKSRenderCommand(s streams, load func(*cobra.Command) aks.Vars) *cobra.Command {
	var in, out, policyFile string
	cmd := &cobra.Command{
		Use:   "render",
		Short: "Fill operator.yaml from the variables and validate it (no sed)",
		Long: `render fills the placeholders of operator.yaml:

  IDENTITY_PLACEHOLDER                  MANAGED_IDENTITY_ID, or derived from SUBSCRIPTION_ID,
                                        RESOURCE_GROUP and MANAGED_IDENTITY
  VAULT_NAME_PLACEHOLDER                KEYVAULT_NAME
  OPERATOR_KEY_SECRET_NAME_PLACEHOLDER  KEYVAULT_SECRET_NAME
  DEPLOYMENT_ENVIRONMENT_PLACEHOLDER    DEPLOYMENT_ENV
  IMAGE_PLACEHOLDER                     IMAGE (--image)
  CCE_POLICY_PLACEHOLDER                --cce-policy-file or CCE_POLICY

The same bytes come out on Linux and macOS. render refuses to write a
manifest with a placeholder left, decodes every object strictly into the
Kubernetes API types, checks the deployment (virtual node, SKR sidecar,
probes, ports, rollout), prints the enclave id (SHA-256 of the decoded CCE
policy) and warns about env vars the policy would drop inside the TEE.
Without --file it renders the manifest built into this binary.`,
		Example: `  uid2-operator aks render -f operator.yaml -o operator.rendered.yaml
  uid2-operator aks render --image ghcr.io/example/uid2-operator:1.0.0 --cce-policy-file policy.base64 > operator.rendered.yaml` + "\n" + aksExitCodes,
		Args: noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			v := load(cmd)
			manifest := aksmanifest.Operator
			if in != "" {
				b, err := readInput(in)
				if err != nil {
					return fmt.Errorf("render: %w", err)
				}
				manifest = b
			}
			if policyFile != "" {
				b, err := readInput(policyFile)
				if err != nil {
					return fmt.Errorf("render: %w", err)
				}
				p, err := aks.NormalizePolicy(b)
				if err != nil {
					return fmt.Errorf("render: %s: %w", policyFile, err)
				}
				v.CCEPolicy = p
			}
			if rep := aks.RenderChecks(v); rep.Errors() > 0 {
				writeFindings(s.err, rep)
				return aksFailed{fmt.Sprintf("render: %d error(s) in the inputs", rep.Errors())}
			}
			r, err := aks.Render(manifest, v)
			if err != nil {
				return err
			}
			info := s.out
			if out == "" || out == "-" {
				if _, err := s.out.Write(r.Manifest); err != nil {
					return err
				}
				info = s.err
			} else {
				if err := writeOutput(out, r.Manifest, 0o644); err != nil {
					return err
				}
				fmt.Fprintf(info, "wrote %s\n", out)
			}
			fmt.Fprintf(info, "enclave id: %s\n", r.EnclaveID)
			for _, w := range r.Warnings {
				fmt.Fprintf(s.err, "warning: %s\n", w)
			}
			return nil
		},
	}
	cmd.Flags().StringVarP(&in, "file", "f", "", "operator.yaml to fill (default: the manifest built into this binary)")
	cmd.Flags().StringVarP(&out, "output", "o", "", "write the manifest to this file (default stdout)")
	cmd.Flags().StringVar(&policyFile, "cce-policy-file", "", "CCE policy: base64 (acipolicygen --print-policy) or rego text")
	return cmd
}

func newAKSHealthCommand(s streams, load func(*cobra.Command) aks.Vars, env aksEnv) *cobra.Command {
	var (
		ip, url, namespace string
		probe              aks.Probe
		commandTimeout     time.Duration
	)
	cmd := &cobra.Command{
		Use:   "health",
		Short: "Poll http://<ip>/ops/healthcheck until the operator answers 200 OK",
		Long: `health finds the public IP of operator-svc (kubectl get service, falling back
to the guide's 'az network public-ip list' in the node resource group when
RESOURCE_GROUP and AKS_CLUSTER_NAME are set), then polls
http://<ip>/ops/healthcheck until it answers 200 OK. Each attempt is printed
to stderr; a 503 shows the operator's reasons.

--attempts and --interval bound both waits: the lookup of a pending IP and
the polling; --command-timeout bounds each kubectl or az call. A missing kubectl or az, or a command that fails (no kubeconfig,
no cluster, not logged in), ends the lookup at once with the reason; pass
--ip or --url to skip it.`,
		Example: `  uid2-operator aks health
  uid2-operator aks health --ip 20.1.2.3 --attempts 10 --interval 3s` + "\n" + aksExitCodes,
		Args: noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			switch {
			case probe.Attempts < 1:
				return usageError{fmt.Errorf("--attempts must be at least 1 (got %d)", probe.Attempts)}
			case probe.Interval < 0:
				return usageError{fmt.Errorf("--interval must not be negative (got %v)", probe.Interval)}
			case probe.Timeout <= 0:
				return usageError{fmt.Errorf("--timeout must be positive (got %v)", probe.Timeout)}
			case commandTimeout <= 0:
				return usageError{fmt.Errorf("--command-timeout must be positive (got %v)", commandTimeout)}
			}
			// A malformed --ip or --url would otherwise be retried --attempts times.
			if ip != "" {
				_, errAddr := netip.ParseAddr(ip)
				_, errAddrPort := netip.ParseAddrPort(ip)
				if errAddr != nil && errAddrPort != nil {
					return usageError{fmt.Errorf("--ip: %q is not an IP address or IP:port (give a host name with --url http://HOST/ops/healthcheck)", ip)}
				}
			}
			if url != "" {
				if u, err := neturl.Parse(url); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
					return usageError{fmt.Errorf("--url: %q is not an http:// or https:// URL with a host", url)}
				}
			}
			ctx := cmd.Context()
			probe.URL = url
			probe.Sleep = env.sleep
			probe.Progress = func(a aks.Attempt) { fmt.Fprintln(s.err, a) }
			if probe.URL == "" {
				if ip == "" {
					v := load(cmd)
					lookup := aks.IPLookup{Runner: env.runner, Namespace: namespace, ResourceGroup: v.ResourceGroup,
						ClusterName: v.AKSClusterName, Attempts: probe.Attempts, Interval: probe.Interval, CommandTimeout: commandTimeout, Sleep: env.sleep, Progress: func(m string) { fmt.Fprintln(s.err, m) }}
					found, err := lookup.Find(ctx)
					if err != nil {
						return fmt.Errorf("health: find the operator IP: %w", err)
					}
					ip = found
				}
				probe.URL = aks.HealthURL(ip)
			}
			fmt.Fprintf(s.err, "checking %s\n", probe.URL)
			a, err := probe.Run(ctx)
			if err != nil {
				return err
			}
			fmt.Fprintf(s.out, "healthy: %s answered %d %s (attempt %d)\n", probe.URL, a.Status, a.Body, a.N)
			return nil
		},
	}
	f := cmd.Flags()
	f.StringVar(&ip, "ip", "", "public IP (or IP:PORT) of operator-svc (default: look it up)")
	f.StringVar(&url, "url", "", "full health URL (overrides --ip)")
	f.StringVar(&namespace, "namespace", "", "namespace of operator-svc (default: the kubectl context's)")
	f.IntVar(&probe.Attempts, "attempts", aks.DefaultHealthAttempts, "IP lookups, then health requests, before giving up")
	f.DurationVar(&probe.Interval, "interval", aks.DefaultHealthInterval, "wait between IP lookups and between health requests")
	f.DurationVar(&probe.Timeout, "timeout", aks.DefaultHealthTimeout, "timeout of one health request")
	f.DurationVar(&commandTimeout, "command-timeout", aks.DefaultCommandTimeout, "timeout of one kubectl or az call of the IP lookup")
	return cmd
}

// execRunner runs commands with os/exec and puts their stderr in the error.
type execRunner struct{}

func (execRunner) Run(ctx context.Context, name string, args ...string) ([]byte, error) {
	if _, err := exec.LookPath(name); err != nil {
		return nil, fmt.Errorf("%s: %w (%v)", name, aks.ErrToolMissing, err)
	}
	out, err := exec.CommandContext(ctx, name, args...).Output()
	if err != nil {
		var ee *exec.ExitError
		if errors.As(err, &ee) && len(ee.Stderr) > 0 {
			return out, fmt.Errorf("%s: %w: %s", name, err, commandReason(ee.Stderr))
		}
		return out, fmt.Errorf("%s: %w", name, err)
	}
	return out, nil
}
