package load

import (
	"reflect"
	"strings"
	"testing"
	"time"
)

func TestNewRow(t *testing.T) {
	op := Result{Server: "operator", Endpoint: MapV3, Binary: true, Conns: 4, Identities: 100, Requests: 1000,
		Elapsed: 2 * time.Second, ServerCPU: 30 * time.Millisecond, CPUKnown: true,
		Latency: Latency{P50: time.Millisecond, P90: 2 * time.Millisecond, P99: 3 * time.Millisecond, Max: 4 * time.Millisecond}}
	base := Result{Server: "baseline", Endpoint: MapV3, Binary: true, Conns: 4, Identities: 100, Requests: 2000,
		Elapsed: 2 * time.Second, ServerCPU: 30 * time.Millisecond, CPUKnown: true}
	r := NewRow(1, op, &base)
	want := Row{Round: 1, Server: "operator", Endpoint: MapV3, Envelope: "binary", Conns: 4, Identities: 100,
		Requests: 1000, Seconds: 2, RPS: 500, P50us: 1000, P90us: 2000, P99us: 3000, MaxUs: 4000,
		CPUus: 30, CPUPerIDus: 0.3, FloorRatio: 0.5}
	if r.Errors != nil || r.ErrorText != nil {
		t.Errorf("errors %v %v; want none", r.Errors, r.ErrorText)
	}
	if !reflect.DeepEqual(r, want) {
		t.Errorf("NewRow =\n%+v; want\n%+v", r, want)
	}
	// No PID: no CPU figures and no ratio, not zeros that read as free.
	op.CPUKnown = false
	if r := NewRow(1, op, &base); r.CPUus != 0 || r.FloorRatio != 0 || r.CPUPerIDus != 0 {
		t.Errorf("without CPU: %+v", r)
	}
	if r := NewRow(1, Result{Endpoint: Refresh, Binary: true}, nil); r.Envelope != "token/binary" {
		t.Errorf("refresh envelope = %q", r.Envelope)
	}
}

func TestWriteSummaryRanges(t *testing.T) {
	rows := []Row{
		{Round: 1, Server: "baseline", Endpoint: Generate, Envelope: "text", Conns: 32, RPS: 30000, P99us: 5000, CPUus: 12},
		{Round: 1, Server: "operator", Endpoint: Generate, Envelope: "text", Conns: 32, RPS: 20000, P99us: 8000, CPUus: 24, FloorRatio: 0.5},
		{Round: 2, Server: "baseline", Endpoint: Generate, Envelope: "text", Conns: 32, RPS: 32000, P99us: 6000, CPUus: 12},
		{Round: 2, Server: "operator", Endpoint: Generate, Envelope: "text", Conns: 32, RPS: 19000, P99us: 9500, CPUus: 20,
			FloorRatio: 0.6, Errors: map[string]int64{"http 503": 3}},
	}
	var b strings.Builder
	if err := WriteSummary(&b, rows); err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(b.String()), "\n")
	if len(lines) != 3 {
		t.Fatalf("summary has %d lines; want header + 2:\n%s", len(lines), b.String())
	}
	want := [][]string{
		{"generate text 32 conns", "baseline", "2", "30000–32000", "5.0–6.0 ms", "12.0", "-", "-", "0"},
		{"generate text 32 conns", "operator", "2", "19000–20000", "8.0–9.5 ms", "20.0–24.0", "-", "0.50–0.60", "3"},
	}
	for i, w := range want {
		if got := strings.Join(strings.Fields(lines[i+1]), " "); got != strings.Join(strings.Fields(strings.Join(w, " ")), " ") {
			t.Errorf("summary line %d = %q; want %q", i+1, got, strings.Join(w, " "))
		}
	}
}
