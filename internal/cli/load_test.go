package cli_test

import (
	"bytes"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/uid2-private-operator/uid2-operator/internal/cli"
)

func TestLoadFlags(t *testing.T) {
	const secret = "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=" // base64 of 32 zero bytes
	for _, tc := range []struct {
		args []string
		flag string // named in the error
	}{
		{[]string{"--scenario", "nope"}, "--scenario"},
		{[]string{"--scenario", "generate:0"}, "--scenario"},
		{[]string{"--scenario", "generate:2:xml"}, "--scenario"},
		{[]string{"--scenario", "generate:2:text:extra"}, "--scenario"},
		{[]string{"--scenario", "generate,"}, "--scenario"},
		{[]string{"--rounds", "0"}, "--rounds"},
		{[]string{"--duration", "0s"}, "--duration"},
		{[]string{"--duration", "-1s"}, "--duration"},
		{[]string{"--conns", "0"}, "--conns"},
		{[]string{"--conns", "-3"}, "--conns"},
		{[]string{"--warmup", "-1s"}, "--warmup"},
		{[]string{"--identities", "0"}, "--identities"},
		{[]string{"--identities", "30001"}, "--identities"},
		{[]string{"--timeout", "0s"}, "--timeout"},
		{[]string{"--timeout", "-1s"}, "--timeout"},
		{[]string{"--server-pid", "-1"}, "--server-pid"},
		{[]string{"--server-pid", "5"}, "--server-pid"},
		{[]string{"--base-url", "http://127.0.0.1:1"}, "--base-url"},
		{[]string{"--base-url", "127.0.0.1:8080", "--api-key", "k", "--secret", secret}, "--base-url"},
		{[]string{"--base-url", "http://127.0.0.1:1", "--api-key", "k", "--secret", "s"}, "--secret"},
		{[]string{"--base-url", "http://127.0.0.1:1", "--api-key", "k", "--secret", secret, "--profile-dir", "x"}, "--profile-dir"},
		{[]string{"--base-url", "http://127.0.0.1:1", "--api-key", "k", "--secret", secret, "--server-pid", "2147483647"}, "--server-pid"},
		{[]string{"--base-url", "http://127.0.0.1:1", "--api-key", "k", "--secret", secret, "--profile-dir", "x", "--pprof-url", "localhost:6060"}, "--pprof-url"},
		{[]string{"--base-url", "http://127.0.0.1:1", "--api-key", "k", "--secret", "s", "--operator-env", "GOGC=400"}, "--operator-env"},
		{[]string{"--operator-env", "GOGC"}, "--operator-env"},
	} {
		t.Setenv("UID2_API_KEY", "")
		t.Setenv("UID2_SECRET_KEY", "")
		code, _, stderr := run(t, "", append([]string{"load"}, tc.args...)...)
		if code != cli.ExitUsage || !strings.Contains(stderr, tc.flag) {
			t.Errorf("load %v: exit %d, %q; want %d and %s named", tc.args, code, stderr, cli.ExitUsage, tc.flag)
		}
	}
}

// TestLoadEndToEnd runs the real binary as a person would: `load` starts
// the operator and the baseline server as child processes, drives every
// endpoint for 1 s and reports throughput, server CPU and no errors.
func TestLoadEndToEnd(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary and runs ten 1 s load windows")
	}
	bin := buildOperator(t)
	prof := t.TempDir()
	var stdout, stderr bytes.Buffer
	cmd := exec.Command(bin, "load", "--json", "--duration", "1s", "--warmup", "200ms", "--identities", "20",
		"--scenario", "generate:2,refresh:2,validate:2:binary,map-v2:2,map-v3:2:binary", "--profile-dir", prof)
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("load: %v\n%s\n%s", err, stderr.String(), stdout.String())
	}
	var rows []struct {
		Server   string           `json:"server"`
		Endpoint string           `json:"endpoint"`
		Envelope string           `json:"envelope"`
		Requests int64            `json:"requests"`
		RPS      float64          `json:"requests_per_second"`
		P99      float64          `json:"p99_us"`
		Errors   map[string]int64 `json:"errors"`
		CPU      float64          `json:"server_cpu_us_per_request"`
		CPUPerID float64          `json:"server_cpu_us_per_identity"`
		Ratio    float64          `json:"floor_ratio"`
	}
	if err := json.Unmarshal(stdout.Bytes(), &rows); err != nil {
		t.Fatalf("not JSON: %v\n%s", err, stdout.String())
	}
	want := []string{"baseline generate", "operator generate", "baseline refresh", "operator refresh",
		"baseline validate", "operator validate", "baseline map-v2", "operator map-v2", "baseline map-v3", "operator map-v3"}
	if len(rows) != len(want) {
		t.Fatalf("%d rows; want %d:\n%s", len(rows), len(want), stdout.String())
	}
	for i, r := range rows {
		name := r.Server + " " + r.Endpoint
		if name != want[i] {
			t.Errorf("row %d is %s; want %s", i, name, want[i])
		}
		if r.Requests == 0 || r.RPS <= 0 || r.P99 <= 0 || len(r.Errors) != 0 || r.CPU <= 0 {
			t.Errorf("%s: %d requests, %.0f req/s, p99 %.0f µs, errors %v, %.1f µs CPU/request", name, r.Requests, r.RPS, r.P99, r.Errors, r.CPU)
		}
		if r.Server == "operator" && r.Ratio <= 0 {
			t.Errorf("%s: no floor ratio", name)
		}
		if strings.HasPrefix(r.Endpoint, "map") && r.CPUPerID <= 0 {
			t.Errorf("%s: no CPU per identity", name)
		}
	}
	if rows[5].Envelope != "binary" || rows[1].Envelope != "text" {
		t.Errorf("envelopes: validate %s, generate %s", rows[5].Envelope, rows[1].Envelope)
	}
	profiles, _ := filepath.Glob(filepath.Join(prof, "*.pprof"))
	if len(profiles) != 5 {
		t.Errorf("profiles: %v; want one per operator window", profiles)
	}
	for _, p := range profiles {
		if fi, err := os.Stat(p); err != nil || fi.Size() == 0 {
			t.Errorf("profile %s is empty", p)
		}
	}
}
