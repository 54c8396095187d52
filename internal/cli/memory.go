package cli

import (
	"fmt"
	"io/fs"
	"log/slog"
	"math"
	"os"
	"runtime"
	"runtime/debug"
	"strconv"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/spf13/pflag"

	"github.com/uid2-private-operator/uid2-operator/internal/admission"
	"github.com/uid2-private-operator/uid2-operator/internal/api"
	"github.com/uid2-private-operator/uid2-operator/internal/config"
	"github.com/uid2-private-operator/uid2-operator/internal/metrics"
)

// memoryFlags are serve's memory and admission flags.
type memoryFlags struct {
	limit  string
	budget string
	slots  int
	wait   time.Duration
}

func (f *memoryFlags) register(fl *pflag.FlagSet) {
	fl.StringVar(&f.limit, "memory-limit", "", "the container's memory `size` (e.g. 1GiB); default: the cgroup's memory.max or memory.limit_in_bytes")
	fl.StringVar(&f.budget, "admission-budget", "", "memory `size` that heavy requests (identity map, buckets, opt-out status) may hold together; default: 25% of the memory limit, 256MiB without one")
	fl.IntVar(&f.slots, "admission-slots", 0, "heavy requests that may run at once (default 1 per CPU, GOMAXPROCS)")
	fl.DurationVar(&f.wait, "admission-wait", config.DefaultAdmissionWait, "how long a heavy request waits at each admission stage before 429 with Retry-After (below the read timeout and half the write timeout)")
}

// minMemoryLimit is the smallest --memory-limit accepted: the operator
// needs tens of MiB for its stores alone.
const minMemoryLimit = 64 << 20

// apply copies the flags into cfg; zero sizes stay zero for sizeMemory.
func (f *memoryFlags) apply(cfg *config.Config) error {
	var err error
	if cfg.MemoryLimit, err = parseSize("--memory-limit", f.limit); err != nil {
		return err
	}
	if cfg.MemoryLimit > 0 && cfg.MemoryLimit < minMemoryLimit {
		// Below this the Go limit would make the collector run without
		// pause (a limit under 100 bytes even sets it to 0), and a budget
		// under 100 bytes would round to 0, which means no bound at all.
		return usageError{fmt.Errorf("--memory-limit: %q is below the minimum of 64MiB", f.limit)}
	}
	if cfg.AdmissionBudget, err = parseSize("--admission-budget", f.budget); err != nil {
		return err
	}
	if f.slots < 0 {
		return usageError{fmt.Errorf("--admission-slots: %d must not be negative", f.slots)}
	}
	cfg.AdmissionSlots = f.slots
	cfg.AdmissionWait = f.wait
	if f.wait < 0 {
		return usageError{fmt.Errorf("--admission-wait: %s must not be negative", f.wait)}
	}
	return nil
}

// sizeMemory fills cfg's memory settings at start-up and sets the Go
// runtime's soft memory limit: GOMEMLIMIT when given, else GoLimitPercent
// of the container limit (--memory-limit, else the cgroup's). The heavy-
// request budget and slots default from the limit and the CPUs. It logs
// what it chose and where the limit came from.
func sizeMemory(cfg *config.Config, log *slog.Logger, getenv func(string) string, root fs.FS) error {
	source := "--memory-limit"
	if cfg.MemoryLimit == 0 {
		limit, file, err := admission.ContainerMemoryLimit(root)
		if err != nil {
			// A limit we cannot read is no reason not to serve.
			log.Warn("container memory limit unreadable; sizing without it", "err", err)
		}
		cfg.MemoryLimit, source = limit, file
	}
	base := cfg.MemoryLimit
	var goLimit int64
	switch {
	case getenv("GOMEMLIMIT") != "":
		// The runtime has applied it; read it back.
		goLimit = debug.SetMemoryLimit(-1)
		if base == 0 && goLimit < math.MaxInt64 {
			base = goLimit / admission.GoLimitPercent * 100
		}
		log.Info("Go memory limit from GOMEMLIMIT", "go_limit_bytes", goLimit, "container_limit_bytes", cfg.MemoryLimit)
	case base > 0:
		goLimit = admission.GoLimit(base)
		debug.SetMemoryLimit(goLimit)
		log.Info("Go memory limit set from the container limit", "go_limit_bytes", goLimit,
			"container_limit_bytes", base, "source", source, "percent", admission.GoLimitPercent)
	default:
		log.Info("no container memory limit found; Go memory limit not set (set --memory-limit or GOMEMLIMIT)")
	}
	if cfg.AdmissionBudget == 0 {
		cfg.AdmissionBudget = admission.Budget(base)
	}
	if cfg.AdmissionSlots == 0 {
		cfg.AdmissionSlots = runtime.GOMAXPROCS(0)
	}
	// A bulk request may wait twice (memory, then a CPU slot); the first
	// wait counts against the read timeout, both against the write timeout.
	if cfg.AdmissionWait >= cfg.ReadTimeout || 2*cfg.AdmissionWait >= cfg.WriteTimeout {
		return usageError{fmt.Errorf("--admission-wait: %s must be below the read timeout (%s) and half the write timeout (%s): a bulk request may wait twice",
			cfg.AdmissionWait, cfg.ReadTimeout, cfg.WriteTimeout)}
	}
	log.Info("heavy-request admission", "budget_bytes", cfg.AdmissionBudget, "slots", cfg.AdmissionSlots,
		"wait", cfg.AdmissionWait.String())
	return nil
}

// newAdmission returns the bulk-route admission for cfg: the memory
// budget, charged before a body is read, and the CPU slots, taken after.
// At most four bodies per CPU slot are read at once: more only adds
// goroutine wake-ups that delay small requests, and it bounds the memory
// held by slow senders.
func newAdmission(cfg config.Config) api.Admission {
	return api.Admission{
		Memory: admission.New(admission.Config{Budget: cfg.AdmissionBudget, Slots: 4 * cfg.AdmissionSlots, MaxWait: cfg.AdmissionWait}),
		CPU:    admission.New(admission.Config{Slots: cfg.AdmissionSlots, MaxWait: cfg.AdmissionWait}),
	}
}

// registerAdmissionMetrics exposes the admission state on reg; waiting
// and rejected add up both stages.
func registerAdmissionMetrics(reg prometheus.Registerer, a api.Admission) {
	mem, cpu := a.Memory, a.CPU
	if mem == nil || cpu == nil {
		return
	}
	reg.MustRegister(
		metrics.AdmissionInUse.NewGaugeFunc(func() float64 { return float64(mem.Stats().InUse) }),
		metrics.AdmissionBudget.NewGaugeFunc(func() float64 { return float64(mem.Config().Budget) }),
		metrics.AdmissionRunning.NewGaugeFunc(func() float64 { return float64(cpu.Stats().Running) }),
		metrics.AdmissionWaiting.NewGaugeFunc(func() float64 { return float64(mem.Stats().Waiting + cpu.Stats().Waiting) }),
		metrics.AdmissionRejected.NewCounterFunc(func() float64 { return float64(mem.Stats().Rejected + cpu.Stats().Rejected) }),
	)
}

// parseSize parses a byte size: a number with an optional binary suffix
// (Ki, Mi, Gi, Ti, with or without a trailing B) or decimal one (K, M, G,
// T); "" is 0. flag names the flag in errors.
func parseSize(flag, s string) (int64, error) {
	if s == "" {
		return 0, nil
	}
	num := strings.TrimRight(s, "KMGTiBkmgtib")
	unit := strings.TrimSuffix(strings.ToUpper(s[len(num):]), "B")
	mult := map[string]int64{"": 1, "K": 1e3, "M": 1e6, "G": 1e9, "T": 1e12,
		"KI": 1 << 10, "MI": 1 << 20, "GI": 1 << 30, "TI": 1 << 40}[unit]
	n, err := strconv.ParseFloat(strings.TrimSpace(num), 64)
	// !(n >= 0) also rejects NaN, which ParseFloat accepts and int64() would turn negative.
	if mult == 0 || err != nil || !(n >= 0) || n*float64(mult) >= math.MaxInt64 {
		return 0, usageError{fmt.Errorf("%s: %q is not a size (e.g. 512MiB, 1GiB, 1073741824)", flag, s)}
	}
	return int64(n * float64(mult)), nil
}

// osRoot is the file system sizeMemory reads cgroup files from.
func osRoot() fs.FS { return os.DirFS("/") }
