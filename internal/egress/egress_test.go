package egress_test

import (
	"strings"
	"testing"

	"github.com/uid2-private-operator/uid2-operator/internal/egress"
)

// The lists follow UID2's network egress page: Core and Opt-Out of the
// environment, their S3 stores, and in prod the us-west-2 failover replicas.
func TestHosts(t *testing.T) {
	for _, tt := range []struct {
		env  string
		want []string
	}{
		{"integ", []string{"core-integ.uidapi.com", "optout-integ.uidapi.com",
			"uid2-core-integ-store.s3.us-east-2.amazonaws.com", "uid2-optout-integ-store.s3.us-east-2.amazonaws.com"}},
		{"prod", []string{"core-prod.uidapi.com", "optout-prod.uidapi.com",
			"uid2-core-prod-store.s3.us-east-2.amazonaws.com", "uid2-core-prod-store-replica.s3.us-west-2.amazonaws.com",
			"uid2-optout-prod-store.s3.us-east-2.amazonaws.com", "uid2-optout-prod-store-replica.s3.us-west-2.amazonaws.com"}},
		{"Prod", nil},
		{"", nil},
	} {
		var got []string
		for _, h := range egress.Hosts(tt.env) {
			if h.Purpose == "" {
				t.Errorf("%s: %s has no purpose", tt.env, h.Name)
			}
			got = append(got, h.Name)
		}
		if strings.Join(got, " ") != strings.Join(tt.want, " ") {
			t.Errorf("Hosts(%q) = %v; want %v", tt.env, got, tt.want)
		}
		if n := egress.Names(tt.env); n != strings.Join(tt.want, ", ") {
			t.Errorf("Names(%q) = %q", tt.env, n)
		}
	}
}
