package api_test

import (
	"bytes"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/uid2-private-operator/uid2-operator/internal/api"
	"github.com/uid2-private-operator/uid2-operator/internal/identity"
	"github.com/uid2-private-operator/uid2-operator/internal/optout"
)

// FuzzTokenRequests sends arbitrary payloads to generate, validate and logout
// (plain JSON mode, so the fuzzer reaches the request parsers) and to
// refresh: no input may panic or produce a 5xx.
func FuzzTokenRequests(f *testing.F) {
	for _, s := range []string{
		`{"email":"a@b.com"}`, `{"phone":"+12345678901","tcf_consent_string":null}`,
		`{"email_hash":"` + sha256b64("x") + `","token":"A4AAAA"}`, `{"email":["x"]}`, `{"email":{"a":1}}`,
		`{"email":"a@b.com","email":"c@d.com"}`, `{}`, `null`, `[]`, `{"email":"\ud800@x.com"}`,
	} {
		f.Add([]byte(s))
	}
	logouts := &optout.Service{Store: optout.NewStore()}
	fx := newFixture(f, api.Options{DisableV2Encryption: true, CSTG: true, Logouts: logouts})
	euid := newFixture(f, api.Options{DisableV2Encryption: true, Scope: identity.ScopeEUID})
	h, he := fx.srv.Config.Handler, euid.srv.Config.Handler
	f.Fuzz(func(t *testing.T, payload []byte) {
		for _, c := range []struct {
			h    http.Handler
			path string
			key  string
		}{
			{h, "/v2/token/generate", fx.creds.Generator.APIKey},
			{he, "/v2/token/generate", euid.creds.Generator.APIKey},
			{h, "/v2/token/validate", fx.creds.Generator.APIKey},
			{h, "/v2/token/logout", fx.creds.Optout.APIKey},
			{h, "/v2/token/refresh", ""},
			{h, "/v2/token/client-generate", ""},
		} {
			req := httptest.NewRequest("POST", c.path, bytes.NewReader(payload))
			if c.key != "" {
				req.Header.Set("Authorization", "Bearer "+c.key)
			}
			w := httptest.NewRecorder()
			c.h.ServeHTTP(w, req)
			if w.Code >= 500 {
				t.Fatalf("%s %q: HTTP %d %s", c.path, payload, w.Code, w.Body)
			}
		}
	})
}
