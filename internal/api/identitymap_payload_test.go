package api_test

import (
	"context"
	"testing"

	"github.com/uid2-private-operator/uid2-operator/internal/api"
)

// TestIdentityMapV3PayloadChecks: /v3/identity/map skips the envelope's JSON
// scan and validates while parsing, so invalid JSON must still answer §1.4
// step 7's message first, even after a member that is wrong in another way.
func TestIdentityMapV3PayloadChecks(t *testing.T) {
	const notJSON = `{"message":"Invalid payload in body: Data is not valid json string.","status":"client_error"}`
	const incorrect = `{"message":"Incorrect request format","status":"client_error"}`
	for _, plain := range []bool{false, true} {
		f := newFixture(t, api.Options{DisableV2Encryption: plain})
		c := f.client(f.creds.Mapper)
		c.Plain = plain
		for _, tc := range []struct{ payload, want string }{
			{`{"foo":1,"email":[`, notJSON},
			{`{"link_id":"x","email":["a@b.com"]}}`, notJSON},
			{`[1]`, notJSON},
			{` `, notJSON},
			{`{"email":["a@b.com"]} x`, notJSON},
			{`{"foo":1}`, incorrect},
			{`{"email":"a@b.com"}`, incorrect},
			{`{"email":["a@b.com"],"foo":1}`, incorrect},
		} {
			_, err := c.Do(context.Background(), "/v3/identity/map", []byte(tc.payload))
			wantStatus(t, err, 400, tc.want)
		}
	}
}
