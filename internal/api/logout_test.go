package api_test

import (
	"context"
	"encoding/base64"
	"errors"
	"strings"
	"testing"

	"github.com/uid2-private-operator/uid2-operator/internal/api"
	"github.com/uid2-private-operator/uid2-operator/internal/optout"
)

// recordingLogouts records logouts and fails on demand.
type recordingLogouts struct {
	got  []optout.Logout
	fail bool
}

func (r *recordingLogouts) Logout(_ context.Context, l optout.Logout) error {
	if r.fail {
		return errors.New("opt-out service unavailable")
	}
	r.got = append(r.got, l)
	return nil
}

func TestLogout(t *testing.T) {
	rec := &recordingLogouts{}
	f := newFixture(t, api.Options{Logouts: rec})
	c := f.client(f.creds.Optout)
	id := decodeIdentity(t, generate(t, f.client(f.creds.Generator), `{"email":"leaving@example.com"}`).Body)
	raw := operatorRawUID(t, f, id.AdvertisingToken)

	out, err := c.Do(context.Background(), "/v2/token/logout",
		[]byte(`{"email":"Leaving@Example.com","clientIp":"192.0.2.1","other":1}`))
	if err != nil {
		t.Fatal(err)
	}
	if string(out) != `{"body":{"optout":"OK"},"status":"success"}` {
		t.Errorf("body %s", out)
	}
	if len(rec.got) != 1 {
		t.Fatalf("%d logouts recorded", len(rec.got))
	}
	l := rec.got[0]
	if string(l.AdvertisingID) != string(raw) {
		t.Errorf("advertising id %x; want the current raw UID %x", l.AdvertisingID, raw)
	}
	if l.Email != "Leaving@Example.com" || l.Phone != "" || l.ClientIP != "192.0.2.1" {
		t.Errorf("audit fields %q %q %q", l.Email, l.Phone, l.ClientIP)
	}
	// The same identity given as a hash yields the same first-level hash.
	if _, err := c.Do(context.Background(), "/v2/token/logout", []byte(`{"email_hash":"`+sha256b64("leaving@example.com")+`"}`)); err != nil {
		t.Fatal(err)
	}
	if rec.got[1].FLH != l.FLH || rec.got[1].Email != "" {
		t.Errorf("hash input: flh differs or email forwarded")
	}
	if _, err := c.Do(context.Background(), "/v2/token/logout", []byte(`{"phone":"+15555550100"}`)); err != nil {
		t.Fatal(err)
	}
	if rec.got[2].Phone != "+15555550100" || rec.got[2].FLH == l.FLH {
		t.Errorf("phone logout: %q", rec.got[2].Phone)
	}
}

func TestLogoutErrors(t *testing.T) {
	rec := &recordingLogouts{}
	f := newFixture(t, api.Options{Logouts: rec})
	c := f.client(f.creds.Optout)
	const invalid = `{"message":"Invalid Token presented null","status":"invalid_token"}`
	for _, tc := range []struct{ name, payload string }{
		{"empty payload", ""},
		{"no input", `{"clientIp":"1.2.3.4"}`},
		{"two inputs", `{"email":"a@example.com","phone":"+15555550100"}`},
		{"invalid email", `{"email":"not-an-email"}`},
		{"invalid hash", `{"email_hash":"abc"}`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := c.Do(context.Background(), "/v2/token/logout", []byte(tc.payload))
			wantStatus(t, err, 400, invalid)
		})
	}
	t.Run("role", func(t *testing.T) {
		_, err := f.client(f.creds.Generator).Do(context.Background(), "/v2/token/logout", []byte(`{"email":"a@example.com"}`))
		wantStatus(t, err, 401, `{"status":"unauthorized"}`)
	})
	t.Run("opt-out service fails", func(t *testing.T) {
		rec.fail = true
		defer func() { rec.fail = false }()
		_, err := c.Do(context.Background(), "/v2/token/logout", []byte(`{"email":"a@example.com"}`))
		wantStatus(t, err, 500, "Internal Server Error")
	})
	t.Run("no opt-out service", func(t *testing.T) {
		g := newFixture(t, api.Options{})
		_, err := g.client(g.creds.Optout).Do(context.Background(), "/v2/token/logout", []byte(`{"email":"a@example.com"}`))
		wantStatus(t, err, 500, "Internal Server Error")
	})
	if len(rec.got) != 0 {
		t.Errorf("%d logouts recorded for failed requests", len(rec.got))
	}
}

// TestLogoutLocal wires the local-mode opt-out service as serve does: the
// logout takes effect at once for generate and the opt-out status.
func TestLogoutLocal(t *testing.T) {
	st := optout.NewStore()
	st.Replace(optout.NewIndex(nil))
	f := newFixture(t, api.Options{OptOuts: st, Logouts: &optout.Service{Store: st}, CSTG: true})
	gen := f.client(f.creds.Generator)
	id := decodeIdentity(t, generate(t, gen, `{"email":"bye@example.com"}`).Body)
	raw := operatorRawUID(t, f, id.AdvertisingToken)

	if _, err := f.client(f.creds.Optout).Do(context.Background(), "/v2/token/logout", []byte(`{"email":"bye@example.com"}`)); err != nil {
		t.Fatal(err)
	}
	if r := generate(t, gen, `{"email_hash":"`+sha256b64("bye@example.com")+`"}`); r.Status != "optout" {
		t.Errorf("generate after logout: %q; want optout", r.Status)
	}
	if r := generate(t, gen, `{"email":"stay@example.com"}`); r.Status != "success" {
		t.Errorf("other identity: %q", r.Status)
	}
	// CSTG for the same identity is opted out too.
	c := cstgClient{serverPublic: f.creds.CSTG.ServerPublicKey, subscription: f.creds.CSTG.SubscriptionID, origin: "http://localhost"}
	body, secret := c.request(t, cstgCall{plaintext: `{"email_hash":"` + sha256b64("bye@example.com") + `"}`})
	if r := openCSTGResponse(t, c.post(t, f, body), secret); r.Status != "optout" {
		t.Errorf("CSTG after logout: %q", r.Status)
	}
	// /v2/optout/status reports the advertising id once that endpoint exists.
	out, err := f.client(f.creds.Mapper).Do(context.Background(), "/v2/optout/status",
		[]byte(`{"advertising_ids":["`+b64(raw)+`"]}`))
	if err != nil {
		t.Logf("/v2/optout/status: %v", err)
		return
	}
	if r := mustResponse(t, out); r.Status != "success" || !containsString(string(r.Body), b64(raw)) {
		t.Errorf("optout status %s", out)
	}
}

func b64(b []byte) string { return base64.StdEncoding.EncodeToString(b) }

func containsString(s, sub string) bool { return strings.Contains(s, sub) }
