package httpmetrics_test

import (
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/uid2-private-operator/uid2-operator/internal/metrics"
	"github.com/uid2-private-operator/uid2-operator/internal/metrics/httpmetrics"
	"github.com/uid2-private-operator/uid2-operator/internal/store"
)

// requests returns uid2_http_requests_total by "path status contact".
func requests(t *testing.T, reg *prometheus.Registry) map[string]float64 {
	t.Helper()
	fams, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]float64{}
	for _, f := range fams {
		if f.GetName() != "uid2_http_requests_total" {
			continue
		}
		for _, m := range f.GetMetric() {
			l := map[string]string{}
			for _, p := range m.GetLabel() {
				l[p.GetName()] = p.GetValue()
			}
			out[l["path"]+" "+l["status"]+" "+l["api_contact"]] += m.GetCounter().GetValue()
		}
	}
	return out
}

func TestInstrument(t *testing.T) {
	reg := prometheus.NewRegistry()
	m := metrics.NewAPI(reg)
	client := &store.Client{Contact: "ops@example.com", SiteID: 7}
	mux := http.NewServeMux()
	mux.Handle("POST /v2/x", httpmetrics.Instrument(m, "POST /v2/x", http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		httpmetrics.NoteClient(w, nil, client)
		w.WriteHeader(http.StatusTeapot)
	})))
	h := httpmetrics.Unrouted(m, mux)
	for _, path := range []string{"/v2/x", "/v2/x", "/nowhere"} {
		h.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest("POST", path, nil))
	}
	got := requests(t, reg)
	if got["/v2/x 418 ops@example.com"] != 2 || got["unknown 404 unknown"] != 1 || len(got) != 2 {
		t.Errorf("uid2_http_requests_total = %v", got)
	}
	// Without metrics the wrappers are the handlers themselves.
	if hh := httpmetrics.Unrouted(nil, mux); hh != http.Handler(mux) {
		t.Error("Unrouted(nil) wraps")
	}
}

func TestPlatform(t *testing.T) {
	for _, tc := range []struct {
		header http.Header
		want   metrics.Platform
	}{
		{http.Header{"X-Uid2-Client-Version": {"uid2-android-1.0"}}, metrics.PlatformOther},
		{http.Header{"X-Uid2-Client-Version": {"com.uid2.sdk.Android-1.0"}}, metrics.PlatformInApp},
		{http.Header{"X-Uid2-Client-Version": {"ios-2"}, "Origin": {"https://a.example"}}, metrics.PlatformInApp},
		{http.Header{"Origin": {"https://a.example"}}, metrics.PlatformOrigin},
		{http.Header{}, metrics.PlatformOther},
	} {
		if got := httpmetrics.Platform(tc.header); got != tc.want {
			t.Errorf("Platform(%v) = %d; want %d", tc.header, got, tc.want)
		}
	}
}
