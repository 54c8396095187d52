package api_test

import (
	"context"
	"testing"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/uid2-private-operator/uid2-operator/internal/api"
	"github.com/uid2-private-operator/uid2-operator/internal/identity"
	"github.com/uid2-private-operator/uid2-operator/internal/metrics"
)

// TestEUIDConsent checks the TCF rule of EUID generate (§2.1 step 3) with
// the K-13 strings.
func TestEUIDConsent(t *testing.T) {
	reg := prometheus.NewRegistry()
	euid := newFixture(t, api.Options{Scope: identity.ScopeEUID, Metrics: metrics.NewAPI(reg)})
	uid2 := newFixture(t, api.Options{})
	const (
		sufficient   = "CPehNtWPehNtWABAMBFRACBoALAAAEJAAIYgAKwAQAKgArABAAqAAA"
		insufficient = "CPehXK9PehXK9ABAMBFRACBoADAAAEJAAIYgAKwAQAKgArABAAqAAA"
		invalidBody  = `{"message":"User consent is invalid","status":"client_error"}`
	)
	tests := []struct {
		name    string
		f       *fixture
		payload string
		status  string // "" when the request fails
		errBody string
	}{
		{"sufficient", euid, `{"email":"user@example.com","tcf_consent_string":"` + sufficient + `"}`, "success", ""},
		{"no consent string", euid, `{"email":"user@example.com"}`, "success", ""},
		{"insufficient", euid, `{"email":"user@example.com","tcf_consent_string":"` + insufficient + `"}`, "insufficient_user_consent", ""},
		{"insufficient beats optout", euid, `{"email":"optout@example.com","tcf_consent_string":"` + insufficient + `"}`, "insufficient_user_consent", ""},
		{"invalid", euid, `{"email":"user@example.com","tcf_consent_string":"invalid_consent_string"}`, "", invalidBody},
		{"empty", euid, `{"email":"user@example.com","tcf_consent_string":""}`, "", invalidBody},
		{"null", euid, `{"email":"user@example.com","tcf_consent_string":null}`, "", invalidBody},
		{"number", euid, `{"email":"user@example.com","tcf_consent_string":12}`, "", invalidBody},
		{"identifier checked first", euid, `{"email":"x","tcf_consent_string":"bad"}`, "", `{"message":"Invalid Identifier","status":"client_error"}`},
		{"UID2 ignores consent", uid2, `{"email":"user@example.com","tcf_consent_string":"invalid_consent_string"}`, "success", ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c := tc.f.client(tc.f.creds.Generator)
			out, err := c.Do(context.Background(), "/v2/token/generate", []byte(tc.payload))
			if tc.status == "" {
				wantStatus(t, err, 400, tc.errBody)
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			resp := mustResponse(t, out)
			if resp.Status != tc.status {
				t.Fatalf("status = %q; want %q", resp.Status, tc.status)
			}
			if tc.status != "success" && string(out) != `{"status":"`+tc.status+`"}` {
				t.Errorf("body = %s", out)
			}
		})
	}
	// The reference's TCF usage and token-response metrics for these calls.
	fams := gather(t, reg)
	if got := sum(t, fams, "uid2_token_generate_tcf_usage_total", map[string]string{"api_contact": "generator@demo.example"}); got != 7 {
		t.Errorf("uid2_token_generate_tcf_usage_total = %v; want 7 (every EUID call with the key, after a valid identifier)", got)
	}
	for status, want := range map[string]float64{"Success": 2, "InsufficientUserConsent": 2, "InvalidUserConsentString": 4} {
		if got := sum(t, fams, "uid2_token_response_status_count_total", map[string]string{"token_response_status": status}); got != want {
			t.Errorf("uid2_token_response_status_count_total{token_response_status=%q} = %v; want %v", status, got, want)
		}
	}
}
