package api_test

import (
	"context"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/uid2-private-operator/uid2-operator/internal/api"
)

func TestMetrics(t *testing.T) {
	reg := prometheus.NewRegistry()
	f := newFixture(t, api.Options{Metrics: api.NewMetrics(reg)})
	c := f.client(f.creds.Mapper)
	payload := `{"email":["a@example.com","optout@example.com","not-an-email"],"phone":["+15555550100"]}`
	if _, err := c.Do(context.Background(), "/v3/identity/map", []byte(payload)); err != nil {
		t.Fatal(err)
	}
	if _, err := f.client(f.creds.Generator).Do(context.Background(), "/v3/identity/map", []byte(payload)); err == nil {
		t.Fatal("generator may not map")
	}
	want := `
# HELP uid2_operator_identity_map_inputs_total Identities in identity-map requests by endpoint and result (mapped, optout, invalid).
# TYPE uid2_operator_identity_map_inputs_total counter
uid2_operator_identity_map_inputs_total{path="/v3/identity/map",result="invalid"} 1
uid2_operator_identity_map_inputs_total{path="/v3/identity/map",result="mapped"} 2
uid2_operator_identity_map_inputs_total{path="/v3/identity/map",result="optout"} 1
# HELP uid2_http_requests_total API requests by route, HTTP status and the authenticated client's site.
# TYPE uid2_http_requests_total counter
uid2_http_requests_total{path="POST /v3/identity/map",site_id="",status="401"} 1
uid2_http_requests_total{path="POST /v3/identity/map",site_id="1003",status="200"} 1
`
	if err := testutil.GatherAndCompare(reg, strings.NewReader(want), "uid2_operator_identity_map_inputs_total", "uid2_http_requests_total"); err != nil {
		t.Fatal(err)
	}
}
