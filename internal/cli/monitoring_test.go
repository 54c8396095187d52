package cli_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
	"sigs.k8s.io/yaml"

	"github.com/uid2-private-operator/uid2-operator/internal/client"
	"github.com/uid2-private-operator/uid2-operator/internal/localdata"
	"github.com/uid2-private-operator/uid2-operator/internal/metrics"
)

const (
	chartDir      = "../../deploy/helm/uid2-operator"
	dashboardFile = chartDir + "/dashboards/uid2-operator.json"
	rulesFile     = chartDir + "/rules/uid2-operator.rules.yaml"
	rulesTestFile = chartDir + "/rules/uid2-operator.rules.test.yaml"
)

// sdkHeaders adds the version headers: X-UID2-Client-Version, which the
// official SDKs send, and X-UID2-AppVersion, which they do not (the Python
// SDK sends none; scripts/sdk-python-check.sh adds it, as this run does, so
// that uid2_client_versions_total appears).
type sdkHeaders struct{ next http.RoundTripper }

func (s sdkHeaders) RoundTrip(r *http.Request) (*http.Response, error) {
	r = r.Clone(r.Context())
	r.Header.Set("X-UID2-Client-Version", "uid2-client-python-2.4.0")
	r.Header.Set("X-UID2-AppVersion", "uid2-client-python=2.4.0")
	return s.next.RoundTrip(r)
}

// TestMetricsAfterSDKRun is the metrics "done when" of issue 11: after
// SDK-style requests against an operator in Core mode, /metrics carries the
// reference operator's families with the reference's labels, and every
// metric the shipped dashboard and alert rules query exists.
func TestMetricsAfterSDKRun(t *testing.T) {
	base, metricsURL := startCoreModeOperator(t)
	sdkRun(t, base)

	fams := scrape(t, metricsURL)
	// Family → the reference's labels (besides the common application label).
	for name, want := range map[string][]string{
		"uid2_http_requests_total":                           {"api_contact", "host", "method", "path", "site_id", "site_name", "status"},
		"uid2_token_response_status_count_total":             {"advertising_token_version", "cstg", "platform_type", "site_id", "site_name", "token_endpoint", "token_response_status"},
		"uid2_operator_identity_map_inputs":                  {"api_contact", "dii_type", "path"},
		"uid2_operator_identity_map_unmapped_total":          {"api_contact", "path", "reason"},
		"uid2_operator_identity_map_unmapped_requests_total": {"api_contact", "path"},
		"uid2_operator_optout_status_input_size":             {"api_contact"},
		"uid2_operator_optout_status_optout_size":            {"api_contact"},
		"uid2_second_level_salt_last_updated_max":            nil,
		"uid2_second_level_salt_last_updated_min":            nil,
		"uid2_second_level_salt_current_effective":           nil,
		"uid2_encryption_key_activates":                      {"site_id"},
		"uid2_site_keyset_status_total":                      {"site_id", "status"},
		"uid2_raw_uid_version_total":                         {"version"},
		"uid2_component_health":                              {"component"},
		"uid2_token_validate_total":                          {"result", "site_id", "site_name"},
		"uid2_refresh_token_received_count_total":            {"refresh_token_version", "site_id"},
		"uid2_refresh_token_served_count_total":              {"refresh_token_version", "site_id"},
		"uid2_token_refresh_duration_seconds":                {"api_contact", "has_origin_header", "site_id", "site_name"},
		"uid2_advertising_token_expired_on_refresh_total":    {"has_origin_header", "is_expired", "site_id", "site_name"},
		"uid2_client_versions_total":                         {"api_contact", "client_name", "client_version"},
		"uid2_client_sdk_versions_total":                     {"api_contact", "client_version", "path", "site_id"},
		"uid2_cloud_refreshed_total":                         {"store"},
		"uid2_cloud_refresh_failures_total":                  {"store"},
		"uid2_cloud_downloaded_total":                        {"store"},
		"uid2_cloud_download_failures_total":                 {"store"},
		"uid2_cloud_downloaded_consecutive_refresh_failures": {"store"},
		"uid2_cloud_downloading":                             {"store"},
		"uid2_cloud_download_duration_seconds":               {"status", "store_name"},
		"uid2_optout_entries_indexed":                        nil,
		"uid2_optout_index_updated_total":                    nil,
		"uid2_optout_partitions_indexed_total":               nil,
		"uid2_optout_deltas_indexed_total":                   nil,
		"uid2_config_store_refreshed_total":                  {"store"},
		"uid2_config_store_refresh_failures_total":           {"store"},
		"uid2_config_store_refreshtime_ms_total":             {"store"},
		"uid2_config_store_version":                          {"store"},
		"uid2_config_store_entry_count":                      {"store"},
		"uid2_config_store_consecutive_refresh_failures":     {"store"},
		"uid2_store_refresh_duration_seconds":                {"store_name"},
		"vertx_http_server_requests_total":                   {"code", "method", "path"},
		"vertx_http_server_response_time_seconds":            {"code", "method", "path"},
		"vertx_http_server_response_time_seconds_max":        {"code", "method", "path"},
		"vertx_http_server_active_requests":                  {"method", "path"},
		"app_status":                                         {"version"},
	} {
		mf, ok := fams[name]
		if !ok {
			t.Errorf("/metrics lacks %s", name)
			continue
		}
		want = append(want, "application")
		slices.Sort(want)
		for _, m := range mf.GetMetric() {
			var got []string
			for _, l := range m.GetLabel() {
				if l.GetName() != "quantile" {
					got = append(got, l.GetName())
				}
			}
			slices.Sort(got)
			if !slices.Equal(got, want) {
				t.Errorf("%s labels %v; want %v", name, got, want)
				break
			}
		}
	}
	// The stores of a Core-mode operator, named as the reference names them.
	for _, store := range []string{"auth", "keyset", "keysetkey", "salt", "runtime_config"} {
		if !hasSeries(fams["uid2_config_store_refreshed_total"], "store", store) {
			t.Errorf("uid2_config_store_refreshed_total lacks store=%q", store)
		}
		if !hasSeries(fams["uid2_component_health"], "component", store+"-rotator") {
			t.Errorf("uid2_component_health lacks component=%q", store+"-rotator")
		}
	}

	samples := sampleNames(fams)
	for _, src := range []struct {
		file  string
		exprs []string
	}{
		{dashboardFile, dashboardExprs(t)},
		{rulesFile, ruleExprs(t)},
	} {
		if len(src.exprs) == 0 {
			t.Fatalf("%s: no expressions", src.file)
		}
		for _, e := range src.exprs {
			names := metricNames(e)
			if len(names) == 0 {
				t.Errorf("%s: %q queries no operator metric", src.file, e)
			}
			for _, n := range names {
				if !samples[n] {
					t.Errorf("%s queries %s, which /metrics does not carry after the test run", src.file, n)
				}
			}
		}
	}
	// Every family we declare is documented in the README table.
	readme, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range metrics.Families() {
		if !strings.Contains(string(readme), "| `"+f.Name+"` |") {
			t.Errorf("README metrics table lacks %s", f.Name)
		}
	}
}

// startCoreModeOperator runs `core` and `serve --core-url` and returns the
// operator's API base URL and metrics URL.
func startCoreModeOperator(t *testing.T) (base, metricsURL string) {
	t.Helper()
	code, creds, errs := run(t, "", "core", "--print-credentials")
	if code != 0 {
		t.Fatalf("core --print-credentials: exit %d: %s", code, errs)
	}
	var key string
	for _, f := range strings.Fields(creds) {
		if strings.HasPrefix(f, "UID2-O-L-") {
			key = f
		}
	}
	coreAddr, opAddr, mAddr := freeAddr(t), freeAddr(t), freeAddr(t)
	background(t, nil, "core", "--http-addr", coreAddr)
	checkHealthy(t, "http://"+coreAddr)
	background(t, map[string]string{"UID2_OPERATOR_KEY": key},
		"serve", "--core-url", "http://"+coreAddr, "--http-addr", opAddr, "--metrics-addr", mAddr)
	checkHealthy(t, "http://"+opAddr)
	return "http://" + opAddr, "http://" + mAddr + "/metrics"
}

// sdkRun calls the operator the way an SDK integration does: generate,
// refresh, validate, identity map v2 and v3, opt-out status, keys.
func sdkRun(t *testing.T, base string) {
	t.Helper()
	demo, err := localdata.ReadCredentials()
	if err != nil {
		t.Fatal(err)
	}
	hc := &http.Client{Transport: sdkHeaders{http.DefaultTransport}}
	sdk := func(c localdata.Credential) *client.Client {
		return &client.Client{BaseURL: base, APIKey: c.APIKey, Secret: c.Secret, HTTP: hc}
	}
	ctx := context.Background()
	do := func(c *client.Client, path, payload string) []byte {
		t.Helper()
		out, err := c.Do(ctx, path, []byte(payload))
		if err != nil {
			t.Fatalf("%s: %v", path, err)
		}
		r, err := client.ParseResponse(out)
		if err != nil {
			t.Fatalf("%s: %v", path, err)
		}
		return r.Body
	}
	gen := sdk(demo.Generator)
	var id client.Identity
	if err := json.Unmarshal(do(gen, "/v2/token/generate", `{"email":"user@example.com"}`), &id); err != nil {
		t.Fatal(err)
	}
	do(gen, "/v2/token/generate", `{"email":"optout@example.com"}`)
	if _, err := gen.Refresh(ctx, id.RefreshToken, id.RefreshResponseKey); err != nil {
		t.Fatalf("refresh: %v", err)
	}
	do(gen, "/v2/token/validate", `{"token":"`+id.AdvertisingToken+`","email":"user@example.com"}`)
	mapper := sdk(demo.Mapper)
	do(mapper, "/v3/identity/map", `{"email":["a@example.com","optout@example.com","bad"],"phone":["+15555550100"]}`)
	do(mapper, "/v2/identity/map", `{"email":["b@example.com"]}`)
	do(mapper, "/v2/optout/status", `{"advertising_ids":["AAAA"]}`)
	do(sdk(demo.IDReader), "/v2/key/sharing", "")
	// A rejected call: no key.
	var se *client.StatusError
	if _, err := sdk(localdata.Credential{Secret: demo.Mapper.Secret}).Do(ctx, "/v3/identity/map", []byte(`{"email":["c@example.com"]}`)); !errors.As(err, &se) || se.Code != 401 {
		t.Fatalf("unauthenticated map: %v", err)
	}
}

func scrape(t *testing.T, url string) map[string]*dto.MetricFamily {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	p := expfmt.NewTextParser(model.UTF8Validation)
	fams, err := p.TextToMetricFamilies(resp.Body)
	if err != nil {
		t.Fatalf("parse /metrics: %v", err)
	}
	return fams
}

func hasSeries(mf *dto.MetricFamily, label, value string) bool {
	for _, m := range mf.GetMetric() {
		for _, l := range m.GetLabel() {
			if l.GetName() == label && l.GetValue() == value {
				return true
			}
		}
	}
	return false
}

// sampleNames returns every sample name a scrape carries, with the _count,
// _sum and _bucket samples of summaries and histograms.
func sampleNames(fams map[string]*dto.MetricFamily) map[string]bool {
	out := map[string]bool{}
	for name, mf := range fams {
		if len(mf.GetMetric()) == 0 {
			continue
		}
		out[name] = true
		switch mf.GetType() {
		case dto.MetricType_SUMMARY:
			out[name+"_count"], out[name+"_sum"] = true, true
		case dto.MetricType_HISTOGRAM:
			out[name+"_count"], out[name+"_sum"], out[name+"_bucket"] = true, true, true
		}
	}
	return out
}

// metricName matches the operator's metric names inside PromQL.
var metricName = regexp.MustCompile(`\b(?:uid2|vertx|app|process|go)_[a-z0-9_]*[a-z0-9]\b`)

func metricNames(expr string) []string {
	// Drop label matchers and strings first: label values are not metrics.
	stripped := regexp.MustCompile(`\{[^}]*\}|"[^"]*"`).ReplaceAllString(expr, "{}")
	return slices.Compact(slices.Sorted(slices.Values(metricName.FindAllString(stripped, -1))))
}

func dashboardExprs(t *testing.T) []string {
	t.Helper()
	b, err := os.ReadFile(dashboardFile)
	if err != nil {
		t.Fatal(err)
	}
	var dash struct {
		UID    string `json:"uid"`
		Title  string `json:"title"`
		Panels []struct {
			Title   string `json:"title"`
			Type    string `json:"type"`
			Targets []struct {
				Expr string `json:"expr"`
			} `json:"targets"`
		} `json:"panels"`
	}
	if err := json.Unmarshal(b, &dash); err != nil {
		t.Fatalf("%s: %v", dashboardFile, err)
	}
	if dash.UID == "" || dash.Title == "" {
		t.Errorf("%s: no uid or title", dashboardFile)
	}
	var out []string
	for _, p := range dash.Panels {
		if p.Type == "row" {
			continue
		}
		if len(p.Targets) == 0 {
			t.Errorf("%s: panel %q has no query", dashboardFile, p.Title)
		}
		for _, tg := range p.Targets {
			out = append(out, tg.Expr)
		}
	}
	return out
}

// alertRules is the Prometheus rule-file format.
type alertRules struct {
	Groups []struct {
		Name  string `json:"name"`
		Rules []struct {
			Alert       string            `json:"alert"`
			Expr        string            `json:"expr"`
			For         string            `json:"for"`
			Labels      map[string]string `json:"labels"`
			Annotations map[string]string `json:"annotations"`
		} `json:"rules"`
	} `json:"groups"`
}

func ruleExprs(t *testing.T) []string {
	t.Helper()
	b, err := os.ReadFile(rulesFile)
	if err != nil {
		t.Fatal(err)
	}
	var rf alertRules
	if err := yaml.UnmarshalStrict(b, &rf); err != nil {
		t.Fatalf("%s: %v", rulesFile, err)
	}
	var out []string
	seen := map[string]bool{}
	for _, g := range rf.Groups {
		for _, r := range g.Rules {
			if r.Alert == "" || seen[r.Alert] {
				t.Errorf("%s: alert name %q empty or repeated", rulesFile, r.Alert)
			}
			seen[r.Alert] = true
			if s := r.Labels["severity"]; s != "warning" && s != "critical" {
				t.Errorf("%s: %s severity %q", rulesFile, r.Alert, s)
			}
			if r.Annotations["summary"] == "" || r.Annotations["description"] == "" {
				t.Errorf("%s: %s lacks a summary or description", rulesFile, r.Alert)
			}
			out = append(out, r.Expr)
		}
	}
	// The alert list.
	for _, want := range []string{"UID2OperatorStoreRefreshFailing", "UID2OperatorAttestationFailing",
		"UID2OperatorAttestationNearExpiry", "UID2OperatorOptOutStale", "UID2Operator5xxRate",
		"UID2OperatorLatencyObjective", "UID2OperatorAdmissionRejections"} {
		if !seen[want] {
			t.Errorf("%s lacks alert %s", rulesFile, want)
		}
	}
	return out
}

// TestPromtoolChecksDashboardAndRules checks the PromQL of the rules and of
// every dashboard query, runs the alerts' unit tests (as recording rules, with Grafana's variables
// substituted) with promtool, when it is installed (.ci/run installs
// Debian's prometheus package where it can).
func TestPromtoolChecksDashboardAndRules(t *testing.T) {
	promtool, err := exec.LookPath("promtool")
	if err != nil {
		t.Skip("promtool not installed")
	}
	if out, err := exec.Command(promtool, "check", "rules", rulesFile).CombinedOutput(); err != nil {
		t.Fatalf("promtool check rules %s: %v\n%s", rulesFile, err, out)
	}
	// The alerts' unit tests: each fires on its failure, with its text.
	if out, err := exec.Command(promtool, "test", "rules", rulesTestFile).CombinedOutput(); err != nil {
		t.Fatalf("promtool test rules %s: %v\n%s", rulesTestFile, err, out)
	}
	grafanaVars := strings.NewReplacer("$__rate_interval", "5m", "$namespace", ".*", "$pod", ".*")
	var b strings.Builder
	b.WriteString("groups:\n  - name: dashboard\n    rules:\n")
	for i, e := range dashboardExprs(t) {
		q, _ := json.Marshal(grafanaVars.Replace(e)) // a JSON string is a YAML string
		fmt.Fprintf(&b, "      - record: dashboard:query_%d\n        expr: %s\n", i, q)
	}
	tmp := filepath.Join(t.TempDir(), "dashboard.rules.yaml")
	if err := os.WriteFile(tmp, []byte(b.String()), 0o600); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command(promtool, "check", "rules", tmp).CombinedOutput(); err != nil {
		t.Fatalf("promtool check rules (dashboard queries): %v\n%s", err, out)
	}
}
