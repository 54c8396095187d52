package aks

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/netip"
	"strings"
	"time"
)

// Health probe defaults, as UID2's own E2E check does it (curl -m 5 every
// 5 s, 60 tries; the IP lookup 30 × 10 s; azure-aks.md §6.1). The cli
// bounds the IP lookup with the probe's --attempts and --interval instead
// (60 × 5 s by default, the same five minutes).
const (
	DefaultHealthAttempts   = 60
	DefaultHealthInterval   = 5 * time.Second
	DefaultHealthTimeout    = 5 * time.Second
	DefaultIPLookupAttempts = 30
	DefaultIPLookupInterval = 10 * time.Second
	DefaultCommandTimeout   = time.Minute
	maxHealthBody           = 4 << 10
)

// ErrUnhealthy is returned by Probe.Run when no attempt got 200 OK.
var ErrUnhealthy = errors.New("aks: operator not healthy")

// Attempt is the outcome of one health request.
type Attempt struct {
	N      int
	Status int    // HTTP status; 0 when the request failed
	Body   string // first 4 KiB, trimmed
	Err    error  // transport error or timeout
}

// Healthy reports whether the operator answered 200.
func (a Attempt) Healthy() bool { return a.Err == nil && a.Status == http.StatusOK }

func (a Attempt) String() string {
	switch {
	case a.Err != nil:
		return fmt.Sprintf("attempt %d: %v", a.N, a.Err)
	case a.Body != "":
		return fmt.Sprintf("attempt %d: HTTP %d: %s", a.N, a.Status, strings.ReplaceAll(a.Body, "\n", "; "))
	}
	return fmt.Sprintf("attempt %d: HTTP %d", a.N, a.Status)
}

// Probe polls GET <URL> until it answers 200. The zero value is not
// usable: URL is required; zero Attempts, Interval and Timeout take the
// defaults above; a nil Client is a new http.Client; a nil Sleep waits on a
// timer (tests inject a no-op).
type Probe struct {
	URL      string
	Attempts int
	Interval time.Duration
	Timeout  time.Duration // per request
	Client   *http.Client
	Sleep    func(ctx context.Context, d time.Duration) error
	// Progress, when set, is called after each attempt.
	Progress func(Attempt)
}

// HealthURL is the operator's health endpoint behind the Service on host.
func HealthURL(host string) string {
	if a, err := netip.ParseAddr(host); err == nil && a.Is6() {
		host = "[" + host + "]"
	}
	return "http://" + host + HealthPath
}

// Run polls until the first 200, the attempts run out or ctx ends. It
// returns the last attempt; the error wraps ErrUnhealthy with its cause.
func (p *Probe) Run(ctx context.Context) (Attempt, error) {
	attempts, interval, timeout := p.Attempts, p.Interval, p.Timeout
	if attempts <= 0 {
		attempts = DefaultHealthAttempts
	}
	if interval <= 0 {
		interval = DefaultHealthInterval
	}
	if timeout <= 0 {
		timeout = DefaultHealthTimeout
	}
	client := p.Client
	if client == nil {
		client = &http.Client{}
	}
	sleep := p.Sleep
	if sleep == nil {
		sleep = sleepCtx
	}
	var last Attempt
	for i := 1; i <= attempts; i++ {
		last = p.once(ctx, client, timeout)
		last.N = i
		if p.Progress != nil {
			p.Progress(last)
		}
		if last.Healthy() {
			return last, nil
		}
		if ctx.Err() != nil || i == attempts {
			break
		}
		if err := sleep(ctx, interval); err != nil {
			break
		}
	}
	return last, fmt.Errorf("%w after %d attempts: %s", ErrUnhealthy, last.N, last)
}

func (p *Probe) once(ctx context.Context, client *http.Client, timeout time.Duration) Attempt {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, p.URL, nil)
	if err != nil {
		return Attempt{Err: err}
	}
	resp, err := client.Do(req)
	if err != nil {
		var ne net.Error
		if errors.Is(err, context.DeadlineExceeded) || errors.As(err, &ne) && ne.Timeout() {
			return Attempt{Err: fmt.Errorf("no answer within %v", timeout)}
		}
		return Attempt{Err: err}
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, maxHealthBody))
	return Attempt{Status: resp.StatusCode, Body: strings.TrimSpace(string(body))}
}

func sleepCtx(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

// Runner runs a command line and returns its standard output. The cli
// layer implements it with os/exec; tests use a fake. When the program is
// not installed, the error wraps ErrToolMissing.
type Runner interface {
	Run(ctx context.Context, name string, args ...string) ([]byte, error)
}

// ErrToolMissing is wrapped by a Runner's error when the program (kubectl,
// az) is not installed or not in PATH.
var ErrToolMissing = errors.New("not found in PATH")

// IPLookup finds the operator's public IP, the way azure-aks.md §6.1
// recommends: the Service's load-balancer ingress first; if kubectl cannot
// answer, the guide's lookup of the `kubernetes…` public IP in the node
// resource group (ambiguous with several LoadBalancer Services).
//
// Only a pending IP is retried, at most Attempts times, Interval apart. A
// missing tool or a failed command ends the lookup at once with its reason:
// the Service exists once `kubectl apply` returned, so such a failure (no
// kubeconfig, no cluster, no login) does not fix itself while we wait.
type IPLookup struct {
	Runner Runner
	// Namespace of operator-svc; "" means the kubectl context's default.
	Namespace string
	// ResourceGroup and ClusterName locate the node resource group for the
	// fallback; when empty the fallback is skipped.
	ResourceGroup, ClusterName string
	// Attempts and Interval bound the wait for a pending IP; zero takes
	// DefaultIPLookupAttempts and DefaultIPLookupInterval.
	Attempts int
	Interval time.Duration
	// CommandTimeout bounds each kubectl or az call (a kubeconfig that
	// points at a deleted cluster can hang); zero takes DefaultCommandTimeout.
	CommandTimeout time.Duration
	Sleep          func(ctx context.Context, d time.Duration) error
	Progress       func(msg string)
}

// ErrNoIP is returned when the Service has no external IP yet.
var ErrNoIP = errors.New("aks: operator-svc has no external IP")

// Find polls until the Service has an ingress IP, the attempts run out, a
// command fails or ctx ends.
func (l *IPLookup) Find(ctx context.Context) (string, error) {
	attempts, interval := l.Attempts, l.Interval
	if attempts <= 0 {
		attempts = DefaultIPLookupAttempts
	}
	if interval <= 0 {
		interval = DefaultIPLookupInterval
	}
	sleep := l.Sleep
	if sleep == nil {
		sleep = sleepCtx
	}
	var lastErr error
	for i := 1; i <= attempts; i++ {
		ip, err := l.once(ctx)
		if err == nil {
			return ip, nil
		}
		lastErr = err
		if !errors.Is(err, ErrNoIP) {
			return "", err
		}
		if l.Progress != nil {
			l.Progress(fmt.Sprintf("ip lookup %d/%d: %v", i, attempts, err))
		}
		if i == attempts {
			return "", fmt.Errorf("%w after %d attempts %v apart; pass --ip, or more --attempts", err, attempts, interval)
		}
		if err := sleep(ctx, interval); err != nil {
			break
		}
	}
	return "", lastErr
}

// once asks once. Its error is ErrNoIP when the IP is pending, anything
// else when a command failed.
func (l *IPLookup) once(ctx context.Context) (string, error) {
	args := []string{"get", "service", ServiceName, "--output", "jsonpath={.status.loadBalancer.ingress[0].ip}"}
	if l.Namespace != "" {
		args = append(args, "--namespace", l.Namespace)
	}
	out, kerr := l.run(ctx, "kubectl", args...)
	if kerr == nil {
		if ip, ok := parseIP(out); ok {
			return ip, nil
		}
		return "", ErrNoIP
	}
	if l.ResourceGroup == "" || l.ClusterName == "" {
		if errors.Is(kerr, ErrToolMissing) {
			return "", fmt.Errorf("%w; install kubectl, pass --ip or --url, or set RESOURCE_GROUP and AKS_CLUSTER_NAME to look the IP up with az", kerr)
		}
		return "", fmt.Errorf("kubectl get service %s: %w", ServiceName, kerr)
	}
	nodeRG, err := l.run(ctx, "az", "aks", "show", "--resource-group", l.ResourceGroup, "--name", l.ClusterName,
		"--query", "nodeResourceGroup", "--output", "tsv")
	if err != nil {
		return "", fmt.Errorf("kubectl get service %s: %v; az aks show: %w", ServiceName, kerr, err)
	}
	out, err = l.run(ctx, "az", "network", "public-ip", "list", "--resource-group", strings.TrimSpace(string(nodeRG)),
		"--query", "[?starts_with(name, 'kubernetes')].ipAddress", "--output", "tsv")
	if err != nil {
		return "", fmt.Errorf("az network public-ip list: %w", err)
	}
	lines := strings.Fields(string(out))
	if len(lines) > 1 {
		return "", fmt.Errorf("node resource group has %d kubernetes public IPs (%s); pass --ip", len(lines), strings.Join(lines, ", "))
	}
	if ip, ok := parseIP(out); ok {
		return ip, nil
	}
	return "", ErrNoIP
}

// run runs one command, bounded by CommandTimeout.
func (l *IPLookup) run(ctx context.Context, name string, args ...string) ([]byte, error) {
	timeout := l.CommandTimeout
	if timeout <= 0 {
		timeout = DefaultCommandTimeout
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	out, err := l.Runner.Run(ctx, name, args...)
	if err != nil && ctx.Err() == context.DeadlineExceeded {
		return out, fmt.Errorf("%s: no answer within %v: %w", name, timeout, err)
	}
	return out, err
}

func parseIP(out []byte) (string, bool) {
	s := strings.TrimSpace(string(out))
	if a, err := netip.ParseAddr(s); err == nil {
		return a.String(), true
	}
	return "", false
}
