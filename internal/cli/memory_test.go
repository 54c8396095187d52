package cli

import (
	"bytes"
	"errors"
	"log/slog"
	"runtime/debug"
	"strings"
	"testing"
	"testing/fstest"
	"time"

	"github.com/uid2-private-operator/uid2-operator/internal/admission"
	"github.com/uid2-private-operator/uid2-operator/internal/config"
)

func TestParseSize(t *testing.T) {
	for _, tt := range []struct {
		in   string
		want int64
	}{
		{"", 0}, {"1073741824", 1 << 30}, {"1GiB", 1 << 30}, {"1Gi", 1 << 30}, {"512MiB", 512 << 20},
		{"512mi", 512 << 20}, {"1.5GiB", 3 << 29}, {"2G", 2e9}, {"64KiB", 64 << 10},
	} {
		if got, err := parseSize("--x", tt.in); err != nil || got != tt.want {
			t.Errorf("parseSize(%q) = %d, %v; want %d", tt.in, got, err, tt.want)
		}
	}
	for _, in := range []string{"lots", "1XB", "-1GiB", "GiB", "1e30", "NaN", "nanMiB", "Inf"} {
		if _, err := parseSize("--memory-limit", in); err == nil || !strings.Contains(err.Error(), "--memory-limit") {
			t.Errorf("parseSize(%q) = %v; want an error naming the flag", in, err)
		}
	}
}

// TestSizeMemory sets the Go memory limit from a cgroup v2 limit and sizes
// the admission budget from it; GOMEMLIMIT wins over the cgroup.
func TestSizeMemory(t *testing.T) {
	old := debug.SetMemoryLimit(-1)
	t.Cleanup(func() { debug.SetMemoryLimit(old) })
	root := fstest.MapFS{
		"proc/self/cgroup":         {Data: []byte("0::/\n")},
		"sys/fs/cgroup/memory.max": {Data: []byte("1073741824\n")},
	}
	var logs bytes.Buffer
	log := slog.New(slog.NewTextHandler(&logs, nil))
	noEnv := func(string) string { return "" }

	cfg := config.Default()
	if err := sizeMemory(&cfg, log, noEnv, root); err != nil {
		t.Fatal(err)
	}
	if got, want := debug.SetMemoryLimit(-1), admission.GoLimit(1<<30); got != want {
		t.Errorf("Go memory limit = %d; want %d (80%% of the cgroup's 1 GiB)", got, want)
	}
	if cfg.MemoryLimit != 1<<30 || cfg.AdmissionBudget != admission.Budget(1<<30) || cfg.AdmissionSlots <= 0 {
		t.Errorf("cfg = limit %d budget %d slots %d; want the cgroup limit, its budget, slots > 0",
			cfg.MemoryLimit, cfg.AdmissionBudget, cfg.AdmissionSlots)
	}
	if !strings.Contains(logs.String(), "source=/sys/fs/cgroup/memory.max") {
		t.Errorf("log does not name the limit's source:\n%s", logs.String())
	}

	// GOMEMLIMIT given: the runtime's value stays.
	debug.SetMemoryLimit(300 << 20)
	cfg = config.Default()
	env := func(k string) string {
		if k == "GOMEMLIMIT" {
			return "300MiB"
		}
		return ""
	}
	if err := sizeMemory(&cfg, log, env, fstest.MapFS{}); err != nil {
		t.Fatal(err)
	}
	if got := debug.SetMemoryLimit(-1); got != 300<<20 {
		t.Errorf("Go memory limit with GOMEMLIMIT = %d; want it unchanged (300 MiB)", got)
	}
	if want := admission.Budget(300 << 20 / admission.GoLimitPercent * 100); cfg.AdmissionBudget != want {
		t.Errorf("budget with only GOMEMLIMIT = %d; want %d", cfg.AdmissionBudget, want)
	}

	// The wait must stay below the timeouts it counts against.
	cfg = config.Default()
	cfg.AdmissionWait = cfg.ReadTimeout
	if err := sizeMemory(&cfg, log, noEnv, fstest.MapFS{}); err == nil || !strings.Contains(err.Error(), "--admission-wait") {
		t.Errorf("sizeMemory(wait = read timeout) = %v; want an --admission-wait error", err)
	}
	// A bulk request may wait twice within the write timeout.
	cfg = config.Default()
	cfg.AdmissionWait = cfg.WriteTimeout / 2
	if err := sizeMemory(&cfg, log, noEnv, fstest.MapFS{}); err == nil || !strings.Contains(err.Error(), "--admission-wait") {
		t.Errorf("sizeMemory(wait = write timeout / 2) = %v; want an --admission-wait error", err)
	}
}

// TestMemoryFlagsRejectBadValues: each bad value is a usage error naming
// its flag; a tiny --memory-limit would otherwise set a Go limit of 0 (the
// collector never pauses) and a budget of 0 (no bound).
func TestMemoryFlagsRejectBadValues(t *testing.T) {
	for _, tt := range []struct {
		f    memoryFlags
		flag string
	}{
		{memoryFlags{limit: "50"}, "--memory-limit"},
		{memoryFlags{limit: "63MiB"}, "--memory-limit"},
		{memoryFlags{limit: "NaN"}, "--memory-limit"},
		{memoryFlags{budget: "lots"}, "--admission-budget"},
		{memoryFlags{slots: -1}, "--admission-slots"},
		{memoryFlags{wait: -time.Second}, "--admission-wait"},
	} {
		var cfg config.Config
		err := tt.f.apply(&cfg)
		var ue usageError
		if !errors.As(err, &ue) || !strings.Contains(err.Error(), tt.flag) {
			t.Errorf("apply(%+v) = %v; want a usage error naming %s", tt.f, err, tt.flag)
		}
	}
	var cfg config.Config
	if err := (&memoryFlags{limit: "64MiB"}).apply(&cfg); err != nil || cfg.MemoryLimit != 64<<20 {
		t.Errorf("apply(--memory-limit 64MiB) = %v, limit %d; want 64 MiB", err, cfg.MemoryLimit)
	}
}
