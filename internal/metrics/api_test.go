package metrics_test

import (
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/uid2-private-operator/uid2-operator/internal/cstg"
	"github.com/uid2-private-operator/uid2-operator/internal/metrics"
)

func TestCSTGStatus(t *testing.T) {
	for _, tc := range []struct {
		msg  string
		want metrics.TokenStatus
	}{
		{cstg.MsgUnauthorized, metrics.TokenUnauthorized},
		{cstg.MsgBadOrigin, metrics.TokenInvalidHTTPOrigin},
		{cstg.MsgBadAppName, metrics.TokenInvalidAppName},
		{cstg.MsgRequired, metrics.TokenMissingParams},
		{cstg.MsgBadPublicKey, metrics.TokenBadPublicKey},
		{cstg.MsgBadIV, metrics.TokenBadIV},
		{cstg.MsgDecryptFailed, metrics.TokenBadPayload},
		{cstg.MsgExactlyOneNoPhone, metrics.TokenBadPayload},
		{cstg.MsgNotJSON, metrics.TokenUnknown}, // before the site is known: not counted by api
		{"something else", metrics.TokenUnknown},
	} {
		if got := metrics.CSTGStatus(tc.msg); got != tc.want {
			t.Errorf("CSTGStatus(%q) = %d; want %d", tc.msg, got, tc.want)
		}
	}
}

// A slow request counts in the response-time window at its end, as
// Micrometer's timer records it, not at its start: one that began 130 s ago
// (past the 2-minute window) is still in the quantiles and _max.
func TestRecordSlowRequestInWindow(t *testing.T) {
	reg := prometheus.NewRegistry()
	m := metrics.NewAPI(reg)
	rt := m.Route("POST /v2/identity/map")
	m.Record(rt, &metrics.Request{Code: 200, Method: "POST"}, 130, time.Now().Add(-130*time.Second))
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	var q99, slowest float64
	for _, mf := range mfs {
		switch mf.GetName() {
		case metrics.VertxResponseTime.Name:
			for _, q := range mf.Metric[0].GetSummary().GetQuantile() {
				if q.GetQuantile() == 0.99 {
					q99 = q.GetValue()
				}
			}
		case metrics.VertxResponseTimeMax.Name:
			slowest = mf.Metric[0].GetGauge().GetValue()
		}
	}
	if slowest != 130 || q99 < 50 {
		t.Errorf("_max = %v, q0.99 = %v; want 130 and the top bucket (about 60)", slowest, q99)
	}
}

// The host label keeps host names and addresses, never other text a client
// puts in the Host header (an email is DII).
func TestRecordHostLabel(t *testing.T) {
	reg := prometheus.NewRegistry()
	m := metrics.NewAPI(reg)
	rt := m.Route("POST /v2/token/generate")
	for _, host := range []string{"operator.example.com:443", "[::1]:8080", "10.1.2.3:8080", "", "alice@example.com", "a%40b.example"} {
		m.Record(rt, &metrics.Request{Code: 200, Method: "POST", Host: host}, 0.001, time.Now())
	}
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]float64{}
	for _, mf := range mfs {
		if mf.GetName() != metrics.HTTPRequests.Name {
			continue
		}
		for _, s := range mf.Metric {
			for _, l := range s.GetLabel() {
				if l.GetName() == "host" {
					got[l.GetValue()] += s.GetCounter().GetValue()
				}
			}
		}
	}
	want := map[string]float64{"operator.example.com:443": 1, "[::1]:8080": 1, "10.x.x.x:xx": 1, "NotSpecified": 1, metrics.Other: 2}
	if len(got) != len(want) {
		t.Errorf("host labels %v; want %v", got, want)
	}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("host labels %v; want %v", got, want)
			break
		}
	}
}
