package load

import (
	"fmt"
	"io"
	"maps"
	"math"
	"slices"
	"strings"
	"text/tabwriter"
	"time"
)

// Row is one run as reported: the Result's figures in report units.
type Row struct {
	Round      int               `json:"round"`
	Server     string            `json:"server"`
	Endpoint   Endpoint          `json:"endpoint"`
	Envelope   string            `json:"envelope"`
	Conns      int               `json:"conns"`
	Identities int               `json:"identities_per_request,omitempty"`
	Requests   int64             `json:"requests"`
	Seconds    float64           `json:"seconds"`
	RPS        float64           `json:"requests_per_second"`
	P50us      float64           `json:"p50_us"`
	P90us      float64           `json:"p90_us"`
	P99us      float64           `json:"p99_us"`
	MaxUs      float64           `json:"max_us"`
	Errors     map[string]int64  `json:"errors,omitempty"`
	ErrorText  map[string]string `json:"error_examples,omitempty"`
	// CPUus is the server's CPU per request in µs; absent without a PID.
	CPUus        float64 `json:"server_cpu_us_per_request,omitempty"`
	CPUPerIDus   float64 `json:"server_cpu_us_per_identity,omitempty"`
	ServerRSSMiB float64 `json:"server_rss_mib,omitempty"`
	// FloorRatio is the baseline's CPU per request over this row's, from
	// the baseline run of the same round and scenario (1 = as cheap as the
	// hello-world server; the goal is ≥ 0.70).
	FloorRatio float64 `json:"floor_ratio,omitempty"`
	Sampled    bool    `json:"all_latencies_sampled"`
}

// NewRow converts r for the report; baseline, if non-nil, is the floor run of
// the same round and scenario.
func NewRow(round int, r Result, baseline *Result) Row {
	env := "text"
	if r.Binary {
		env = "binary"
	}
	if r.Endpoint == Refresh {
		env = "token" // the body is the refresh token itself; Binary only changes the answer's encoding
		if r.Binary {
			env = "token/binary"
		}
	}
	us := func(d time.Duration) float64 { return float64(d.Nanoseconds()) / 1e3 }
	row := Row{
		Round: round, Server: r.Server, Endpoint: r.Endpoint, Envelope: env, Conns: r.Conns,
		Identities: r.Identities, Requests: r.Requests, Seconds: r.Elapsed.Seconds(), RPS: r.RequestsPerSecond(),
		P50us: us(r.Latency.P50), P90us: us(r.Latency.P90), P99us: us(r.Latency.P99), MaxUs: us(r.Latency.Max),
		CPUus: r.CPUPerRequest(), CPUPerIDus: r.CPUPerIdentity(), ServerRSSMiB: float64(r.ServerRSS) / (1 << 20),
		Sampled: r.Sampled,
	}
	if len(r.Errors) > 0 {
		row.Errors, row.ErrorText = r.Errors, r.ErrorText
	}
	if baseline != nil && row.CPUus > 0 && baseline.CPUPerRequest() > 0 {
		row.FloorRatio = baseline.CPUPerRequest() / row.CPUus
	}
	return row
}

// scenario identifies rows that measure the same thing.
func (r Row) scenario() string {
	s := fmt.Sprintf("%s %s %d conns", r.Endpoint, r.Envelope, r.Conns)
	if r.Identities > 0 {
		s += fmt.Sprintf(" %d ids", r.Identities)
	}
	return s
}

// WriteTable writes rows as an aligned table.
func WriteTable(w io.Writer, rows []Row) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "round\tendpoint\tenvelope\tconns\tids/req\tserver\treq/s\tp50\tp90\tp99\tmax\terrors\tcpu µs/req\tcpu µs/id\tfloor ratio\trss MiB\t")
	for _, r := range rows {
		fmt.Fprintf(tw, "%d\t%s\t%s\t%d\t%s\t%s\t%.0f\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t\n",
			r.Round, r.Endpoint, r.Envelope, r.Conns, dash(float64(r.Identities), "%.0f"), r.Server, r.RPS,
			ms(r.P50us), ms(r.P90us), ms(r.P99us), ms(r.MaxUs), errorList(r.Errors),
			dash(r.CPUus, "%.1f"), dash(r.CPUPerIDus, "%.3f"), dash(r.FloorRatio, "%.2f"), dash(r.ServerRSSMiB, "%.0f"))
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	for _, r := range rows {
		for _, k := range slices.Sorted(maps.Keys(r.ErrorText)) {
			fmt.Fprintf(w, "round %d %s %s: %s × %d, e.g. %s\n", r.Round, r.Server, r.scenario(), k, r.Errors[k], r.ErrorText[k])
		}
	}
	return nil
}

// WriteSummary writes, per scenario and server in the order of the first
// round, the range of each figure over the rounds: on a shared machine one
// run is not a measurement.
func WriteSummary(w io.Writer, rows []Row) error {
	type key struct{ scenario, server string }
	groups := map[key][]Row{}
	var order []key
	for _, r := range rows {
		k := key{r.scenario(), r.Server}
		if _, ok := groups[k]; !ok {
			order = append(order, k)
		}
		groups[k] = append(groups[k], r)
	}
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "scenario\tserver\trounds\treq/s\tp99\tcpu µs/req\tcpu µs/id\tfloor ratio\terrors")
	for _, k := range order {
		g := groups[k]
		pick := func(f func(Row) float64) []float64 {
			var v []float64
			for _, r := range g {
				v = append(v, f(r))
			}
			return v
		}
		var errs int64
		for _, r := range g {
			for _, n := range r.Errors {
				errs += n
			}
		}
		fmt.Fprintf(tw, "%s\t%s\t%d\t%s\t%s\t%s\t%s\t%s\t%d\n", k.scenario, k.server, len(g),
			span(pick(func(r Row) float64 { return r.RPS }), "%.0f", 1),
			span(pick(func(r Row) float64 { return r.P99us }), "%.1f", 1e-3)+" ms",
			span(pick(func(r Row) float64 { return r.CPUus }), "%.1f", 1),
			span(pick(func(r Row) float64 { return r.CPUPerIDus }), "%.3f", 1),
			span(pick(func(r Row) float64 { return r.FloorRatio }), "%.2f", 1), errs)
	}
	return tw.Flush()
}

// span formats the range of v (scaled) as "lo–hi", or "-" when all are 0.
func span(v []float64, format string, scale float64) string {
	lo, hi := math.Inf(1), math.Inf(-1)
	for _, x := range v {
		if x == 0 {
			continue
		}
		lo, hi = min(lo, x*scale), max(hi, x*scale)
	}
	if math.IsInf(lo, 1) {
		return "-"
	}
	a, b := fmt.Sprintf(format, lo), fmt.Sprintf(format, hi)
	if a == b {
		return a
	}
	return a + "–" + b
}

func dash(v float64, format string) string {
	if v == 0 {
		return "-"
	}
	return fmt.Sprintf(format, v)
}

func ms(us float64) string {
	if us < 1000 {
		return fmt.Sprintf("%.0fµs", us)
	}
	return fmt.Sprintf("%.1fms", us/1000)
}

func errorList(m map[string]int64) string {
	if len(m) == 0 {
		return "0"
	}
	var parts []string
	for _, k := range slices.Sorted(maps.Keys(m)) {
		parts = append(parts, fmt.Sprintf("%s:%d", strings.ReplaceAll(k, " ", ""), m[k]))
	}
	return strings.Join(parts, ",")
}
