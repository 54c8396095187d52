// Package egress lists the outbound destinations a UID2 private operator
// must reach: UID2 Core, Opt-Out, and the storage Core hands out download
// URLs for, failover replicas included (UID2's "Private Operator network
// egress" page, uid2docs docs/ref-info/operator-private-network-requirements.md).
// The aks preflight and plan print the list; the E06 start-up error names
// it. It is a pure, immutable table.
package egress

import "strings"

// Port is the one port every destination needs: HTTPS.
const Port = 443

// Host is one destination to allow by name (the addresses behind the names
// change, so allowing IP addresses breaks).
type Host struct {
	Name    string // e.g. core-prod.uidapi.com
	Purpose string
}

// hosts per DEPLOYMENT_ENV, in the order of UID2's page.
var hosts = map[string][]Host{
	"integ": {
		{"core-integ.uidapi.com", "Core (attestation, keys, salts, configuration)"},
		{"optout-integ.uidapi.com", "Opt-Out"},
		{"uid2-core-integ-store.s3.us-east-2.amazonaws.com", "Core data storage"},
		{"uid2-optout-integ-store.s3.us-east-2.amazonaws.com", "Opt-Out data storage"},
	},
	"prod": {
		{"core-prod.uidapi.com", "Core (attestation, keys, salts, configuration)"},
		{"optout-prod.uidapi.com", "Opt-Out"},
		{"uid2-core-prod-store.s3.us-east-2.amazonaws.com", "Core data storage"},
		{"uid2-core-prod-store-replica.s3.us-west-2.amazonaws.com", "Core data storage (failover replica)"},
		{"uid2-optout-prod-store.s3.us-east-2.amazonaws.com", "Opt-Out data storage"},
		{"uid2-optout-prod-store-replica.s3.us-west-2.amazonaws.com", "Opt-Out data storage (failover replica)"},
	},
}

// Hosts returns the destinations of env ("integ" or "prod"), or nil for any
// other value. The caller must not modify the slice.
func Hosts(env string) []Host { return hosts[env] }

// Names returns the host names of env joined by ", ", for one-line messages.
func Names(env string) string {
	names := make([]string, 0, len(hosts[env]))
	for _, h := range hosts[env] {
		names = append(names, h.Name)
	}
	return strings.Join(names, ", ")
}
