package core_test

import (
	"testing"

	"github.com/uid2-private-operator/uid2-operator/internal/core"
)

// FuzzParseListing: /optout/refresh documents never panic the parser.
func FuzzParseListing(f *testing.F) {
	for _, s := range []string{
		`{"version":1712000000,"generated":1712000000,"optout_logs":[{"type":"delta","from":1,"to":2,"location":"http://h/optout/delta/2024-01-01/optout-delta-000_2024-01-01T00.00.00Z_0a0b0c0d.dat?x=1"}]}`,
		`{"version":1,"optout_logs":[]}`,
		`{"version":1,"optout_logs":[{"location":""}]}`,
		`{"version":1,"optout_logs":null}`,
		`{"optout_logs":[{"type":1}]}`,
		`[]`, `null`, ``,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		l, err := core.ParseListing(b)
		if err != nil {
			return
		}
		for _, f := range l.Logs {
			if f.Location == "" {
				t.Fatal("accepted a listing entry without a location")
			}
		}
	})
}
