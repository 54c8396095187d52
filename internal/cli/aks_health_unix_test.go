//go:build unix

package cli

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// runHealthEnv runs `aks health args...` with the real os/exec runner and a
// sleep that only counts, so a wait the flags do not bound shows up as a
// count instead of minutes.
func runHealthEnv(t *testing.T, args ...string) (sleeps int, err error, stderr string) {
	t.Helper()
	var out, errb bytes.Buffer
	env := aksEnv{getenv: os.Getenv, runner: execRunner{}, sleep: func(ctx context.Context, _ time.Duration) error {
		sleeps++
		return ctx.Err()
	}}
	cmd := newAKSCommandEnv(streams{in: strings.NewReader(""), out: &out, err: &errb}, env)
	cmd.SetArgs(append([]string{"health"}, args...))
	cmd.SetOut(&out)
	cmd.SetErr(&errb)
	cmd.SilenceUsage, cmd.SilenceErrors = true, true
	err = cmd.ExecuteContext(context.Background())
	return sleeps, err, errb.String()
}

// fakeTool writes an executable shell script name into dir that appends a
// line to dir/calls and then runs body.
func fakeTool(t *testing.T, dir, name, body string) {
	t.Helper()
	script := "#!/bin/sh\necho " + name + " >> '" + filepath.Join(dir, "calls") + "'\n" + body + "\n"
	if err := os.WriteFile(filepath.Join(dir, name), []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
}

func toolCalls(t *testing.T, dir string) []string {
	b, err := os.ReadFile(filepath.Join(dir, "calls"))
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		t.Fatal(err)
	}
	return strings.Fields(string(b))
}

// Issue 9 item 5: with no cluster and no az/kubectl, health looked the IP
// up 30 × 10 s (≈5 min). With an empty PATH it must fail at once and say
// which tool is missing.
func TestAKSHealthNoToolsFailsFast(t *testing.T) {
	for _, tc := range []struct {
		name string
		env  map[string]string
		want []string
	}{
		{"kubectl only", nil, []string{"kubectl", "not found in PATH", "--ip"}},
		{"with az fallback", map[string]string{"RESOURCE_GROUP": "rg", "AKS_CLUSTER_NAME": "c"}, []string{"kubectl", "az", "not found in PATH"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Setenv("PATH", "")
			t.Setenv("RESOURCE_GROUP", "")
			t.Setenv("AKS_CLUSTER_NAME", "")
			for k, v := range tc.env {
				t.Setenv(k, v)
			}
			sleeps, err, stderr := runHealthEnv(t)
			if err == nil || sleeps != 0 {
				t.Fatalf("health with empty PATH: err %v after %d sleeps; want an error and no wait\n%s", err, sleeps, stderr)
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q lacks %q", err, w)
				}
			}
		})
	}
}

// A failed kubectl (no kubeconfig, no cluster) ends the lookup at once.
func TestAKSHealthKubectlFailsFast(t *testing.T) {
	dir := t.TempDir()
	fakeTool(t, dir, "kubectl", "echo 'error: current-context is not set' >&2; exit 1")
	t.Setenv("PATH", dir)
	t.Setenv("RESOURCE_GROUP", "")
	sleeps, err, _ := runHealthEnv(t)
	if err == nil || !strings.Contains(err.Error(), "current-context is not set") || sleeps != 0 {
		t.Fatalf("health with failing kubectl: err %v after %d sleeps; want kubectl's reason at once", err, sleeps)
	}
	if calls := toolCalls(t, dir); len(calls) != 1 {
		t.Errorf("kubectl ran %d times; want 1", len(calls))
	}
}

// A pending IP is retried --attempts times, --interval apart, not 30 × 10 s.
func TestAKSHealthAttemptsBoundIPLookup(t *testing.T) {
	dir := t.TempDir()
	fakeTool(t, dir, "kubectl", "exit 0") // Service exists, no ingress IP yet
	t.Setenv("PATH", dir)
	t.Setenv("RESOURCE_GROUP", "")
	sleeps, err, stderr := runHealthEnv(t, "--attempts", "3", "--interval", "1ms")
	if err == nil || !strings.Contains(err.Error(), "no external IP after 3 attempts") {
		t.Fatalf("health with pending IP: err %v; want no external IP after 3 attempts\n%s", err, stderr)
	}
	if calls := toolCalls(t, dir); len(calls) != 3 || sleeps != 2 {
		t.Errorf("kubectl ran %d times with %d sleeps; want 3 and 2", len(calls), sleeps)
	}
	if !strings.Contains(stderr, "ip lookup 3/3") {
		t.Errorf("stderr lacks the last attempt:\n%s", stderr)
	}
}

// A kubectl that hangs (a kubeconfig pointing at a deleted cluster) is cut
// off by --command-timeout.
func TestAKSHealthCommandTimeout(t *testing.T) {
	dir := t.TempDir()
	fakeTool(t, dir, "kubectl", "exec /bin/sleep 60")
	t.Setenv("PATH", dir)
	t.Setenv("RESOURCE_GROUP", "")
	_, err, _ := runHealthEnv(t, "--command-timeout", "50ms")
	if err == nil || !strings.Contains(err.Error(), "kubectl: no answer within 50ms") {
		t.Fatalf("health with hanging kubectl = %v; want kubectl: no answer within 50ms", err)
	}
}

func TestAKSHealthBadBounds(t *testing.T) {
	for _, args := range [][]string{{"--attempts", "0"}, {"--interval", "-1s"}, {"--timeout", "0s"}, {"--command-timeout", "0s"}} {
		_, err, _ := runHealthEnv(t, append(args, "--ip", "127.0.0.1")...)
		var ue usageError
		if !errors.As(err, &ue) || !strings.Contains(err.Error(), args[0]) {
			t.Errorf("health %v = %v; want a usage error naming %s", args, err, args[0])
		}
	}
}

// A malformed --ip or --url is refused at once, not retried --attempts times.
func TestAKSHealthBadTarget(t *testing.T) {
	for _, args := range [][]string{
		{"--ip", "999.1.1.1"}, {"--ip", "example.com/x"},
		{"--url", "ftp://127.0.0.1/ops/healthcheck"}, {"--url", "127.0.0.1/ops/healthcheck"}, {"--url", "http:///ops/healthcheck"},
	} {
		_, err, _ := runHealthEnv(t, append(args, "--attempts", "3", "--interval", "0s")...)
		var ue usageError
		if !errors.As(err, &ue) || !strings.Contains(err.Error(), args[0]+": ") {
			t.Errorf("health %v = %v; want a usage error naming %s", args, err, args[0])
		}
	}
}

func TestCommandReason(t *testing.T) {
	for _, tt := range []struct{ in, want string }{
		{"E1207 03:05:05.384372   32576 memcache.go:265] \"Unhandled Error\" err=\"x\"\nE1207 03:05:05.385566   32576 memcache.go:265] again\nThe connection to the server localhost:8080 was refused - did you specify the right host or port?\n",
			"The connection to the server localhost:8080 was refused - did you specify the right host or port?"},
		{"ERROR: (ResourceNotFound) The Resource was not found.\nCode: ResourceNotFound\n", "ERROR: (ResourceNotFound) The Resource was not found.; Code: ResourceNotFound"},
		{"E1207 03:05:05.1 only klog\n", "E1207 03:05:05.1 only klog"},
		{strings.Repeat("x", 2000), "…" + strings.Repeat("x", 1024)},
	} {
		if got := commandReason([]byte(tt.in)); got != tt.want {
			t.Errorf("commandReason(%.40q) = %q; want %q", tt.in, got, tt.want)
		}
	}
}
