package api_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"

	"github.com/uid2-private-operator/uid2-operator/internal/api"
	"github.com/uid2-private-operator/uid2-operator/internal/client"
	"github.com/uid2-private-operator/uid2-operator/internal/envelope"
	"github.com/uid2-private-operator/uid2-operator/internal/localdata"
	"github.com/uid2-private-operator/uid2-operator/internal/metrics"
)

// TestMetrics drives SDK-style requests and checks the reference families
// with the reference's labels and values.
func TestMetrics(t *testing.T) {
	reg := prometheus.NewRegistry()
	f, cc := newCSTGFixture(t, api.Options{Metrics: metrics.NewAPI(reg)})
	ctx := context.Background()

	gen := f.client(f.creds.Generator)
	id := decodeIdentity(t, generate(t, gen, `{"email":"validate@example.com"}`).Body)
	if r := generate(t, gen, `{"email":"optout@example.com"}`); r.Status != "optout" {
		t.Fatalf("optout generate: %q", r.Status)
	}
	if _, err := gen.Refresh(ctx, id.RefreshToken, id.RefreshResponseKey); err != nil {
		t.Fatal(err)
	}
	if _, err := gen.Do(ctx, "/v2/token/validate", []byte(`{"token":"`+id.AdvertisingToken+`","email":"validate@example.com"}`)); err != nil {
		t.Fatal(err)
	}
	mapper := f.client(f.creds.Mapper)
	v3 := `{"email":["a@example.com","optout@example.com","not-an-email"],"phone":["+15555550100"]}`
	if _, err := mapper.Do(ctx, "/v3/identity/map", []byte(v3)); err != nil {
		t.Fatal(err)
	}
	if _, err := mapper.Do(ctx, "/v2/identity/map", []byte(`{"email_hash":["`+sha256b64("b@example.com")+`"]}`)); err != nil {
		t.Fatal(err)
	}
	if _, err := mapper.Do(ctx, "/v2/optout/status", []byte(`{"advertising_ids":["AAAA","BBBB"]}`)); err != nil {
		t.Fatal(err)
	}
	if _, err := gen.Do(ctx, "/v3/identity/map", []byte(v3)); err == nil {
		t.Fatal("a generator may not map")
	}
	body, _ := cc.request(t, cstgCall{plaintext: `{"email_hash":"` + sha256b64("cstg@example.com") + `"}`})
	if resp := cc.post(t, f, body); resp.code != 200 {
		t.Fatalf("cstg: HTTP %d", resp.code)
	}

	fams := gather(t, reg)
	for _, tc := range []struct {
		name   string
		labels map[string]string
		want   float64
	}{
		{"uid2_http_requests_total", map[string]string{"api_contact": "mapper@demo.example", "site_id": "1003",
			"site_name": "Demo mapper", "status": "200", "method": "POST", "path": "/v3/identity/map"}, 1},
		// A known key without the role: named, as the reference's AuthMiddleware does.
		{"uid2_http_requests_total", map[string]string{"api_contact": "generator@demo.example", "site_id": "1002",
			"site_name": "Demo generator", "status": "401", "path": "/v3/identity/map"}, 1},
		{"vertx_http_server_requests_total", map[string]string{"code": "200", "method": "POST", "path": "/v2/token/generate"}, 2},
		{"uid2_token_response_status_count_total", map[string]string{"site_id": "1002", "token_endpoint": "GenerateV2",
			"token_response_status": "Success", "advertising_token_version": "V4", "cstg": "false", "platform_type": "Other"}, 1},
		{"uid2_token_response_status_count_total", map[string]string{"site_id": "1002", "token_endpoint": "GenerateV2",
			"token_response_status": "OptOut", "advertising_token_version": "null"}, 1},
		{"uid2_token_response_status_count_total", map[string]string{"site_id": "1002", "token_endpoint": "RefreshV2",
			"token_response_status": "Success"}, 1},
		{"uid2_token_response_status_count_total", map[string]string{"token_endpoint": "ClientSideTokenGenerateV2",
			"token_response_status": "Success", "cstg": "true", "platform_type": "HasOriginHeader"}, 1},
		{"uid2_token_validate_total", map[string]string{"site_id": "1002", "result": "match"}, 1},
		{"uid2_refresh_token_received_count_total", map[string]string{"site_id": "1002", "refresh_token_version": "v3"}, 1},
		{"uid2_refresh_token_served_count_total", map[string]string{"site_id": "1002", "refresh_token_version": "v3"}, 3}, // generate, refresh, CSTG (the keypair's site)
		{"uid2_advertising_token_expired_on_refresh_total", map[string]string{"site_id": "1002", "is_expired": "false", "has_origin_header": "false"}, 1},
		{"uid2_site_keyset_status_total", map[string]string{"site_id": "1002", "status": "site_keyset_found"}, 3},
		{"uid2_operator_identity_map_unmapped_total", map[string]string{"api_contact": "mapper@demo.example", "reason": "invalid", "path": "/v3/identity/map"}, 1},
		{"uid2_operator_identity_map_unmapped_total", map[string]string{"reason": "optout", "path": "/v3/identity/map"}, 1},
		{"uid2_operator_identity_map_unmapped_requests_total", map[string]string{"path": "/v3/identity/map"}, 1},
		{"uid2_operator_identity_map_unmapped_requests_total", map[string]string{"path": "/v2/identity/map"}, 0},
	} {
		if got := sum(t, fams, tc.name, tc.labels); got != tc.want {
			t.Errorf("%s%v = %v; want %v", tc.name, tc.labels, got, tc.want)
		}
	}
	// Summaries: sample count and sum.
	for _, tc := range []struct {
		name        string
		labels      map[string]string
		count, want float64
	}{
		{"uid2_operator_identity_map_inputs", map[string]string{"api_contact": "mapper@demo.example", "path": "/v3/identity/map", "dii_type": "email"}, 1, 3},
		{"uid2_operator_identity_map_inputs", map[string]string{"path": "/v3/identity/map", "dii_type": "phone"}, 1, 1},
		{"uid2_operator_identity_map_inputs", map[string]string{"path": "/v2/identity/map", "dii_type": "email_hash"}, 1, 1},
		{"uid2_operator_optout_status_input_size", map[string]string{"api_contact": "mapper@demo.example"}, 1, 2},
		{"uid2_operator_optout_status_optout_size", map[string]string{"api_contact": "mapper@demo.example"}, 1, 0},
		{"vertx_http_server_response_time_seconds", map[string]string{"code": "200", "path": "/v2/token/refresh"}, 1, -1},
	} {
		count, s := summary(t, fams, tc.name, tc.labels)
		if count != tc.count || (tc.want >= 0 && s != tc.want) {
			t.Errorf("%s%v: count %v sum %v; want %v, %v", tc.name, tc.labels, count, s, tc.count, tc.want)
		}
	}
	// Raw UIDs: one per token, one per mapped identity (and previous ones).
	if got := sum(t, fams, "uid2_raw_uid_version_total", nil); got < 5 {
		t.Errorf("uid2_raw_uid_version_total = %v; want at least 5", got)
	}
	// Every series carries application="uid2-operator".
	for _, mf := range fams {
		for _, m := range mf.Metric {
			if labelValue(m, "application") != metrics.Application {
				t.Errorf("%s: no application label", mf.GetName())
			}
		}
	}
}

// TestMetricsBoundedLabels checks that free-form headers cannot grow the
// label space: hosts and app versions past the bound become "other".
func TestMetricsBoundedLabels(t *testing.T) {
	reg := prometheus.NewRegistry()
	f := newFixture(t, api.Options{Metrics: metrics.NewAPI(reg)})
	for i := range metrics.DefaultBoundedMax + 10 {
		req := mustRequest("POST", f.srv.URL+"/v2/token/generate", "{}")
		req.Host = "h" + strings.Repeat("x", i) + ".example"
		req.Header.Set("X-UID2-AppVersion", "sdk=1."+strings.Repeat("0", i))
		do(t, f.srv.Client(), req)
	}
	req := mustRequest("POST", f.srv.URL+"/v2/token/generate", "{}")
	req.Host = "10.1.2.3:8080"
	do(t, f.srv.Client(), req)
	fams := gather(t, reg)
	hosts := map[string]bool{}
	for _, m := range fams["uid2_http_requests_total"].GetMetric() {
		hosts[labelValue(m, "host")] = true
	}
	if len(hosts) > metrics.DefaultBoundedMax+2 || !hosts[metrics.Other] || !hosts["10.x.x.x:xx"] {
		t.Errorf("hosts = %d values (other %v, masked %v); want at most %d", len(hosts), hosts[metrics.Other], hosts["10.x.x.x:xx"], metrics.DefaultBoundedMax+2)
	}
	if n := len(fams["uid2_client_versions_total"].GetMetric()); n > metrics.DefaultBoundedMax+1 || n == 0 {
		t.Errorf("uid2_client_versions_total has %d series", n)
	}
}

func gather(t *testing.T, reg *prometheus.Registry) map[string]*dto.MetricFamily {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]*dto.MetricFamily{}
	for _, mf := range mfs {
		out[mf.GetName()] = mf
	}
	return out
}

func labelValue(m *dto.Metric, name string) string {
	for _, l := range m.GetLabel() {
		if l.GetName() == name {
			return l.GetValue()
		}
	}
	return ""
}

func matches(m *dto.Metric, labels map[string]string) bool {
	for k, v := range labels {
		if labelValue(m, k) != v {
			return false
		}
	}
	return true
}

// sum adds the counter (or gauge) values of name's series that carry labels;
// a family absent from the registry fails the test.
func sum(t *testing.T, fams map[string]*dto.MetricFamily, name string, labels map[string]string) float64 {
	t.Helper()
	mf, ok := fams[name]
	if !ok {
		t.Errorf("family %s missing", name)
		return -1
	}
	var s float64
	for _, m := range mf.Metric {
		if matches(m, labels) {
			s += m.GetCounter().GetValue() + m.GetGauge().GetValue()
		}
	}
	return s
}

func summary(t *testing.T, fams map[string]*dto.MetricFamily, name string, labels map[string]string) (count, s float64) {
	t.Helper()
	mf, ok := fams[name]
	if !ok {
		t.Errorf("family %s missing", name)
		return -1, -1
	}
	for _, m := range mf.Metric {
		if matches(m, labels) {
			count += float64(m.GetSummary().GetSampleCount())
			s += m.GetSummary().GetSampleSum()
		}
	}
	return count, s
}

// TestMetricsAddNoAllocations: with metrics on, a token generate and a
// refresh allocate no more than with metrics off (label children are
// cached, recorders pooled).
func TestMetricsAddNoAllocations(t *testing.T) {
	if raceEnabled {
		t.Skip("sync.Pool drops items at random under the race detector")
	}
	now := time.Now()
	f := newFixture(t, api.Options{Now: func() time.Time { return now }})
	secret, _ := base64.StdEncoding.DecodeString(f.creds.Generator.Secret)
	env, err := envelope.SealRequest(nil, secret, []byte(`{"email":"user@example.com"}`), now, [8]byte{1}, nil)
	if err != nil {
		t.Fatal(err)
	}
	body := []byte(base64.StdEncoding.EncodeToString(env))
	allocs := func(m *metrics.API) float64 {
		h := api.New(api.Options{Store: f.store, Metrics: m, Now: func() time.Time { return now }}).Handler()
		req := httptest.NewRequest("POST", "/v2/token/generate", nil)
		req.Header.Set("Authorization", "Bearer "+f.creds.Generator.APIKey)
		req.Header.Set("X-UID2-Client-Version", "uid2-client-python-2.4.0")
		req.Header.Set("Origin", "https://publisher.example")
		rd := bytes.NewReader(body)
		var w discardWriter
		serve := func() {
			rd.Reset(body)
			req.Body = io.NopCloser(rd)
			req.ContentLength = int64(len(body))
			w.reset()
			h.ServeHTTP(&w, req)
			if w.code != 200 {
				t.Fatalf("status %d", w.code)
			}
		}
		serve() // first request resolves the label children
		return testing.AllocsPerRun(200, serve)
	}
	off := allocs(nil)
	on := allocs(metrics.NewAPI(prometheus.NewRegistry()))
	if on > off {
		t.Errorf("generate: %v allocs with metrics, %v without; want no more", on, off)
	}
}

// TestMetricsAppVersionHeader parses X-UID2-AppVersion like the reference:
// name before the first "=", version up to the next ";".
func TestMetricsAppVersionHeader(t *testing.T) {
	reg := prometheus.NewRegistry()
	f := newFixture(t, api.Options{Metrics: metrics.NewAPI(reg)})
	for _, h := range []string{"uid2-sdk=1.2.3", "uid2-sdk=1.2.3;other=4", "a;b=c", "no-equals-sign"} {
		req := mustRequest("POST", f.srv.URL+"/v2/token/generate", "{}")
		req.Header.Set("X-UID2-AppVersion", h)
		do(t, f.srv.Client(), req)
	}
	fams := gather(t, reg)
	for _, tc := range []struct {
		name, version string
		want          float64
	}{
		{"uid2-sdk", "1.2.3", 2},
		{"a;b", "c", 1},
	} {
		if got := sum(t, fams, "uid2_client_versions_total", map[string]string{"client_name": tc.name, "client_version": tc.version}); got != tc.want {
			t.Errorf("uid2_client_versions_total{client_name=%q,client_version=%q} = %v; want %v", tc.name, tc.version, got, tc.want)
		}
	}
	if got := sum(t, fams, "uid2_client_versions_total", nil); got != 3 {
		t.Errorf("uid2_client_versions_total = %v in all; want 3 (a header without = is not counted)", got)
	}
}

// TestMetricsSDKVersionHeader: X-UID2-Client-Version counts in
// uid2_client_sdk_versions_total on /v2/token/refresh (unauthenticated ones
// too, under api_contact "unknown" and the token's site) and /v2/identity/map
// (failed requests too), each under its own path, and on no other route: the
// reference records operator-served SDK usage in those two handlers only.
// Regressions: /v2/identity/map calls of the official Python SDK were not
// counted, nor refreshes without an API key (the JS SDK's, from browsers).
func TestMetricsSDKVersionHeader(t *testing.T) {
	reg := prometheus.NewRegistry()
	f := newFixture(t, api.Options{Metrics: metrics.NewAPI(reg)})
	ctx := context.Background()
	const version = "uid2-client-python-2.9.0"
	hc := &http.Client{Transport: headerTransport{name: "X-UID2-Client-Version", value: version, next: f.srv.Client().Transport}}
	sdk := func(c localdata.Credential) *client.Client {
		cl := f.client(c)
		cl.HTTP = hc
		return cl
	}
	gen, mapper := sdk(f.creds.Generator), sdk(f.creds.Mapper)
	id := decodeIdentity(t, generate(t, gen, `{"email":"sdk-version@example.com"}`).Body)
	if _, err := gen.Refresh(ctx, id.RefreshToken, id.RefreshResponseKey); err != nil {
		t.Fatal(err)
	}
	// A browser's refresh: no API key, counted for the token's site.
	browser := sdk(f.creds.Generator)
	browser.APIKey = ""
	id = decodeIdentity(t, generate(t, gen, `{"email":"sdk-version-browser@example.com"}`).Body)
	if _, err := browser.Refresh(ctx, id.RefreshToken, id.RefreshResponseKey); err != nil {
		t.Fatal(err)
	}
	if _, err := mapper.Do(ctx, "/v2/identity/map", []byte(`{"email":["a@example.com"]}`)); err != nil {
		t.Fatal(err)
	}
	if _, err := mapper.Do(ctx, "/v2/identity/map", []byte(`{"email":"not-an-array"}`)); err == nil {
		t.Fatal("a malformed identity map request succeeded")
	}
	if _, err := mapper.Do(ctx, "/v3/identity/map", []byte(`{"email":["a@example.com"]}`)); err != nil {
		t.Fatal(err)
	}

	fams := gather(t, reg)
	site := func(c localdata.Credential) string { return strconv.Itoa(int(c.SiteID)) }
	for _, tc := range []struct {
		labels map[string]string
		want   float64
	}{
		{map[string]string{"path": "/v2/token/refresh", "site_id": site(f.creds.Generator), "client_version": version,
			"api_contact": "generator@demo.example"}, 1},
		{map[string]string{"path": "/v2/token/refresh", "site_id": site(f.creds.Generator), "client_version": version,
			"api_contact": "unknown"}, 1},
		{map[string]string{"path": "/v2/identity/map", "site_id": site(f.creds.Mapper), "client_version": version}, 2},
		{map[string]string{"path": "/v3/identity/map"}, 0},
		{map[string]string{"path": "/v2/token/generate"}, 0},
	} {
		if got := sum(t, fams, "uid2_client_sdk_versions_total", tc.labels); got != tc.want {
			t.Errorf("uid2_client_sdk_versions_total%v = %v; want %v", tc.labels, got, tc.want)
		}
	}
}

// TestMetrics401Caller: a 401 counts in uid2_http_requests_total under the
// caller's api contact and site when the API key is known (a missing role, a
// disabled key), as the reference's AuthMiddleware sets the caller before it
// checks roles, and under "unknown"/"null" when the key is unknown or absent.
// Regression: the official Python SDK's wrong-role calls were counted as
// unknown callers.
func TestMetrics401Caller(t *testing.T) {
	reg := prometheus.NewRegistry()
	f := newFixture(t, api.Options{Metrics: metrics.NewAPI(reg)})
	ctx := context.Background()
	unknown := f.creds.Mapper
	unknown.APIKey = "UID2-C-L-9999-notAKey.notAKeynotAKeynotAKeynotAKeynotAKey0000"
	for _, c := range []localdata.Credential{f.creds.Mapper, f.creds.Generator, unknown} {
		if _, err := f.client(c).Do(ctx, "/v2/token/generate", []byte(`{"email":"a@example.com"}`)); c != f.creds.Generator && err == nil {
			t.Fatalf("%s generated a token", c.APIKey[:14])
		}
	}
	req := mustRequest("POST", f.srv.URL+"/v2/key/sharing", "")
	do(t, f.srv.Client(), req) // no Authorization header

	fams := gather(t, reg)
	for _, tc := range []struct {
		labels map[string]string
		want   float64
	}{
		{map[string]string{"path": "/v2/token/generate", "status": "401", "api_contact": "mapper@demo.example",
			"site_id": "1003", "site_name": "Demo mapper"}, 1},
		{map[string]string{"path": "/v2/token/generate", "status": "200", "api_contact": "generator@demo.example",
			"site_id": "1002", "site_name": "Demo generator"}, 1},
		{map[string]string{"path": "/v2/token/generate", "status": "401", "api_contact": "unknown",
			"site_id": "null", "site_name": "unknown"}, 1},
		{map[string]string{"path": "/v2/key/sharing", "status": "401", "api_contact": "unknown",
			"site_id": "null", "site_name": "unknown"}, 1},
	} {
		if got := sum(t, fams, "uid2_http_requests_total", tc.labels); got != tc.want {
			t.Errorf("uid2_http_requests_total%v = %v; want %v", tc.labels, got, tc.want)
		}
	}
}

// headerTransport sets one request header, as an SDK does on every call.
type headerTransport struct {
	name, value string
	next        http.RoundTripper
}

func (h headerTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	r = r.Clone(r.Context())
	r.Header.Set(h.name, h.value)
	return h.next.RoundTrip(r)
}

// TestMetricsConcurrentRequests: label children are resolved and counted
// correctly when many requests race on a fresh Metrics (run with -race).
func TestMetricsConcurrentRequests(t *testing.T) {
	reg := prometheus.NewRegistry()
	f := newFixture(t, api.Options{Metrics: metrics.NewAPI(reg)})
	const workers, each = 4, 10
	errs := make(chan error, workers)
	for w := range workers {
		go func() {
			gen, mapper := f.client(f.creds.Generator), f.client(f.creds.Mapper)
			for i := range each {
				if _, err := gen.Do(context.Background(), "/v2/token/generate", []byte(`{"email":"u`+strings.Repeat("x", w*each+i)+`@example.com"}`)); err != nil {
					errs <- err
					return
				}
				if _, err := mapper.Do(context.Background(), "/v3/identity/map", []byte(`{"email":["a@example.com","bad"]}`)); err != nil {
					errs <- err
					return
				}
			}
			errs <- nil
		}()
	}
	for range workers {
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
	}
	fams := gather(t, reg)
	for _, tc := range []struct {
		name   string
		labels map[string]string
		want   float64
	}{
		{"uid2_http_requests_total", map[string]string{"path": "/v2/token/generate", "status": "200"}, workers * each},
		{"uid2_http_requests_total", map[string]string{"path": "/v3/identity/map", "status": "200"}, workers * each},
		{"uid2_token_response_status_count_total", map[string]string{"token_response_status": "Success"}, workers * each},
		{"uid2_operator_identity_map_unmapped_total", map[string]string{"reason": "invalid"}, workers * each},
	} {
		if got := sum(t, fams, tc.name, tc.labels); got != tc.want {
			t.Errorf("%s%v = %v; want %v", tc.name, tc.labels, got, tc.want)
		}
	}
	if count, _ := summary(t, fams, "vertx_http_server_response_time_seconds", map[string]string{"path": "/v3/identity/map"}); count != workers*each {
		t.Errorf("vertx_http_server_response_time_seconds_count = %v; want %d", count, workers*each)
	}
}

// TestMetricsUnknownRoutes: requests no route takes count as path
// "unknown" with their status and a bounded method, like the reference's
// RequestCapturingHandler; the Vert.x families leave them out.
func TestMetricsUnknownRoutes(t *testing.T) {
	reg := prometheus.NewRegistry()
	f := newFixture(t, api.Options{Metrics: metrics.NewAPI(reg)})
	do(t, f.srv.Client(), mustRequest("GET", f.srv.URL+"/no/such/route", ""))
	do(t, f.srv.Client(), mustRequest("GET", f.srv.URL+"/v2/token/generate", ""))
	pre := mustRequest("OPTIONS", f.srv.URL+"/v2/token/generate", "")
	pre.Header.Set("Origin", "https://publisher.example")
	pre.Header.Set("Access-Control-Request-Method", "POST")
	do(t, f.srv.Client(), pre)
	for i := range 40 {
		do(t, f.srv.Client(), mustRequest("M"+strings.Repeat("X", i), f.srv.URL+"/x", ""))
	}
	fams := gather(t, reg)
	for _, tc := range []struct {
		labels map[string]string
		want   float64
	}{
		{map[string]string{"path": "unknown", "method": "GET", "status": "404", "api_contact": "unknown", "site_id": "null"}, 1},
		{map[string]string{"path": "unknown", "method": "GET", "status": "405"}, 1},
		{map[string]string{"path": "unknown", "method": "OPTIONS", "status": "204"}, 1},
		{map[string]string{"path": "unknown"}, 43},
	} {
		if got := sum(t, fams, "uid2_http_requests_total", tc.labels); got != tc.want {
			t.Errorf("uid2_http_requests_total%v = %v; want %v", tc.labels, got, tc.want)
		}
	}
	methods := map[string]bool{}
	for _, m := range fams["uid2_http_requests_total"].GetMetric() {
		methods[labelValue(m, "method")] = true
	}
	if len(methods) > 17 || !methods[metrics.Other] {
		t.Errorf("%d method label values (other: %v); want at most 16 plus other", len(methods), methods[metrics.Other])
	}
	if mf, ok := fams["vertx_http_server_requests_total"]; ok {
		for _, m := range mf.GetMetric() {
			if labelValue(m, "path") == "unknown" {
				t.Errorf("vertx_http_server_requests_total counts an unknown route: %v", m)
			}
		}
	}
}
