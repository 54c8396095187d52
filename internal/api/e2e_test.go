package api_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/uid2-private-operator/uid2-operator/internal/api"
	"github.com/uid2-private-operator/uid2-operator/internal/client"
	"github.com/uid2-private-operator/uid2-operator/internal/envelope"
	"github.com/uid2-private-operator/uid2-operator/internal/identity"
	"github.com/uid2-private-operator/uid2-operator/internal/localdata"
	"github.com/uid2-private-operator/uid2-operator/internal/store"
	"github.com/uid2-private-operator/uid2-operator/internal/token"
)

// fixture is a real operator on 127.0.0.1 serving the embedded dataset.
type fixture struct {
	srv   *httptest.Server
	store *store.Store
	creds localdata.Credentials
	now   time.Time
}

func newFixture(t testing.TB, opt api.Options) *fixture {
	t.Helper()
	now := time.Now()
	fsys, err := localdata.Open(now)
	if err != nil {
		t.Fatal(err)
	}
	st := store.New(nil)
	loader := &store.Loader{Src: store.FSSource{FS: fsys}, Store: st, Paths: store.DatasetPaths()}
	if err := loader.LoadAll(context.Background()); err != nil {
		t.Fatal(err)
	}
	creds, err := localdata.ReadCredentials()
	if err != nil {
		t.Fatal(err)
	}
	opt.Store = st
	srv := httptest.NewServer(api.New(opt).Handler())
	t.Cleanup(srv.Close)
	return &fixture{srv: srv, store: st, creds: creds, now: now}
}

func (f *fixture) client(c localdata.Credential) *client.Client {
	return &client.Client{BaseURL: f.srv.URL, APIKey: c.APIKey, Secret: c.Secret, HTTP: f.srv.Client()}
}

func mustResponse(t *testing.T, b []byte) client.Response {
	t.Helper()
	r, err := client.ParseResponse(b)
	if err != nil {
		t.Fatalf("response %s: %v", b, err)
	}
	return r
}

func generate(t *testing.T, c *client.Client, payload string) client.Response {
	t.Helper()
	out, err := c.Do(context.Background(), "/v2/token/generate", []byte(payload))
	if err != nil {
		t.Fatalf("generate %s: %v", payload, err)
	}
	return mustResponse(t, out)
}

func TestGenerateRefreshValidate(t *testing.T) {
	f := newFixture(t, api.Options{})
	emailHash := sha256b64("user@example.com")
	phoneHash := sha256b64("+15555550100")
	tests := []struct {
		name    string
		payload string
		typ     identity.Type
		binary  bool
	}{
		{"email", `{"email":"User@Example.com"}`, identity.TypeEmail, false},
		{"email binary", `{"email":"user@example.com"}`, identity.TypeEmail, true},
		{"email_hash b64", `{"email_hash":"` + emailHash + `"}`, identity.TypeEmail, false},
		{"phone", `{"phone":"+15555550100"}`, identity.TypePhone, false},
		{"phone_hash", `{"phone_hash":"` + phoneHash + `"}`, identity.TypePhone, true},
		{"extra keys ignored", `{"email":"a@b.com","policy":1,"optout_check":1}`, identity.TypeEmail, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c := f.client(f.creds.Generator)
			c.Binary = tc.binary
			resp := generate(t, c, tc.payload)
			if resp.Status != "success" {
				t.Fatalf("status = %q; want success", resp.Status)
			}
			id := decodeIdentity(t, resp.Body)
			checkIdentity(t, id, tc.typ, f.now)

			// The SDK refreshes with the wrapper and decrypts with the key.
			out, err := c.Refresh(context.Background(), id.RefreshToken, id.RefreshResponseKey)
			if err != nil {
				t.Fatalf("refresh: %v", err)
			}
			r2 := mustResponse(t, out)
			if r2.Status != "success" {
				t.Fatalf("refresh status = %q", r2.Status)
			}
			id2 := decodeIdentity(t, r2.Body)
			checkIdentity(t, id2, tc.typ, f.now)
			if id2.RefreshResponseKey == id.RefreshResponseKey {
				t.Error("refresh returned the same refresh_response_key")
			}
		})
	}
}

func TestValidate(t *testing.T) {
	f := newFixture(t, api.Options{})
	c := f.client(f.creds.Generator)
	id := decodeIdentity(t, generate(t, c, `{"email":"validate@example.com"}`).Body)
	for _, tc := range []struct {
		name, payload, want string
	}{
		{"same identity", `{"token":"` + id.AdvertisingToken + `","email":"validate@example.com"}`, "true"},
		{"same identity by hash", `{"token":"` + id.AdvertisingToken + `","email_hash":"` + sha256b64("validate@example.com") + `"}`, "true"},
		{"other identity", `{"token":"` + id.AdvertisingToken + `","email":"other@example.com"}`, "false"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			out, err := c.Do(context.Background(), "/v2/token/validate", []byte(tc.payload))
			if err != nil {
				t.Fatal(err)
			}
			if r := mustResponse(t, out); r.Status != "success" || string(r.Body) != tc.want {
				t.Fatalf("validate = %s; want body %s", out, tc.want)
			}
		})
	}
	// A token of another site cannot be validated by this caller.
	other := f.client(f.creds.All)
	_, err := other.Do(context.Background(), "/v2/token/validate", []byte(`{"token":"`+id.AdvertisingToken+`","email":"validate@example.com"}`))
	wantStatus(t, err, 400, `{"message":"Unauthorised to validate token","status":"client_error"}`)
	_, err = c.Do(context.Background(), "/v2/token/validate", []byte(`{"token":"garbage","email":"validate@example.com"}`))
	wantStatus(t, err, 400, `{"message":"Invalid token","status":"client_error"}`)
	_, err = c.Do(context.Background(), "/v2/token/validate", []byte(`{"email":"validate@example.com"}`))
	wantStatus(t, err, 400, `{"message":"Invalid token","status":"client_error"}`)
}

func TestTestIdentities(t *testing.T) {
	f := newFixture(t, api.Options{})
	c := f.client(f.creds.Generator)
	for _, tc := range []struct {
		payload       string
		genOptout     bool
		refreshOptout bool
	}{
		{`{"email":"optout@example.com"}`, true, true},
		{`{"phone":"+00000000000"}`, true, true},
		{`{"email_hash":"` + sha256b64("optout@example.com") + `"}`, true, true},
		{`{"email":"refresh-optout@example.com"}`, false, true},
		{`{"phone":"+00000000002"}`, false, true},
		{`{"email":"validate@example.com"}`, false, false},
		{`{"phone":"+12345678901"}`, false, false},
		// Matching is per type: the phone test hash sent as an email hash is an ordinary identity.
		{`{"email_hash":"` + sha256b64("+00000000000") + `"}`, false, false},
	} {
		t.Run(tc.payload, func(t *testing.T) {
			resp := generate(t, c, tc.payload)
			if tc.genOptout {
				if resp.Status != "optout" || resp.Body != nil {
					t.Fatalf("generate = %+v; want {\"status\":\"optout\"}", resp)
				}
				return
			}
			id := decodeIdentity(t, resp.Body)
			out, err := c.Refresh(context.Background(), id.RefreshToken, id.RefreshResponseKey)
			if err != nil {
				t.Fatal(err)
			}
			r := mustResponse(t, out)
			if got := r.Status == "optout"; got != tc.refreshOptout {
				t.Fatalf("refresh status = %q; want optout=%v", r.Status, tc.refreshOptout)
			}
			// Unauthenticated refresh also reports optout (§2.2).
			anon := &client.Client{BaseURL: f.srv.URL, HTTP: f.srv.Client()}
			out, err = anon.Refresh(context.Background(), id.RefreshToken, id.RefreshResponseKey)
			if err != nil {
				t.Fatal(err)
			}
			if r := mustResponse(t, out); (r.Status == "optout") != tc.refreshOptout {
				t.Fatalf("anonymous refresh status = %q", r.Status)
			}
		})
	}
}

func TestGenerateBadInput(t *testing.T) {
	f := newFixture(t, api.Options{})
	c := f.client(f.creds.Generator)
	const missing = `{"message":"Required Parameter Missing: exactly one of [email, email_hash, phone, phone_hash] must be specified","status":"client_error"}`
	const invalid = `{"message":"Invalid Identifier","status":"client_error"}`
	for _, tc := range []struct {
		payload, want string
	}{
		{``, missing},
		{`{}`, missing},
		{`{"email":null}`, missing},
		{`{"EMAIL":"a@b.com"}`, missing},
		{`{"email":"a@b.com","phone":"+12345678901"}`, missing},
		{`{"email":"not-an-email"}`, invalid},
		{`{"email":"a@"}`, invalid},
		{`{"phone":"12345678901"}`, invalid},
		{`{"phone":"+1234"}`, invalid},
		{`{"email_hash":"abc"}`, invalid},
		{`{"phone_hash":"` + strings.Repeat("g", 64) + `"}`, invalid},
		{`{"email":123}`, invalid},
		{`[1,2]`, `{"message":"Invalid payload in body: Data is not valid json string.","status":"client_error"}`},
	} {
		t.Run(tc.payload, func(t *testing.T) {
			_, err := c.Do(context.Background(), "/v2/token/generate", []byte(tc.payload))
			wantStatus(t, err, 400, tc.want)
		})
	}
	noPhone := newFixture(t, api.Options{DisablePhone: true})
	_, err := noPhone.client(noPhone.creds.Generator).Do(context.Background(), "/v2/token/generate", []byte(`{"phone":"+12345678901"}`))
	wantStatus(t, err, 400, `{"message":"Required Parameter Missing: exactly one of email or email_hash must be specified","status":"client_error"}`)
}

func TestAuth(t *testing.T) {
	f := newFixture(t, api.Options{})
	const unauthorized = `{"status":"unauthorized"}`
	for _, tc := range []struct {
		name string
		cred localdata.Credential
	}{
		{"wrong role", f.creds.Mapper},
		{"unknown key", localdata.Credential{APIKey: "UID2-C-L-1002-abcdef.abcdefabcdefabcdefabcdefabcdefabcdefab", Secret: f.creds.Generator.Secret}},
		{"no key", localdata.Credential{Secret: f.creds.Generator.Secret}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := f.client(tc.cred).Do(context.Background(), "/v2/token/generate", []byte(`{"email":"a@b.com"}`))
			wantStatus(t, err, 401, unauthorized)
		})
	}
	// The bearer prefix is case-insensitive and the header is trimmed (§1.3).
	body := sealRequest(t, f.creds.Generator.Secret, `{"email":"a@b.com"}`, time.Now())
	req, _ := http.NewRequest("POST", f.srv.URL+"/v2/token/generate", strings.NewReader(body))
	req.Header.Set("Authorization", "  BEARER "+f.creds.Generator.APIKey+"  ")
	resp := do(t, f.srv.Client(), req)
	if resp.code != 200 {
		t.Fatalf("BEARER prefix: status %d %s", resp.code, resp.body)
	}
}

func TestEnvelopeErrors(t *testing.T) {
	f := newFixture(t, api.Options{})
	key, secret := f.creds.Generator.APIKey, f.creds.Generator.Secret
	const hint = " See https://unifiedid.com/docs/getting-started/gs-encryption-decryption for details on the request envelope format."
	const unenc = "Invalid body: The request body is unencrypted JSON. It must be an encrypted request envelope. See https://unifiedid.com/docs/getting-started/gs-encryption-decryption#encryption-and-decryption-code-examples for encryption and decryption code examples."
	now := time.Now()
	for _, tc := range []struct {
		name, body, ct, want string
	}{
		{"missing", "", "", "Invalid body: Body is missing."},
		{"not base64", "!!!", "", "Invalid body: Body is not valid base64." + hint},
		{"plain json", `{"email":"a@b.com"}`, "application/json", unenc},
		{"too short", base64.StdEncoding.EncodeToString(make([]byte, 44)), "", "Invalid body: Body too short. Check encryption method." + hint},
		{"version", base64.StdEncoding.EncodeToString(append([]byte{2}, make([]byte, 60)...)), "", "Invalid body: Invalid request envelope format version: received 2, must be 1." + hint},
		{"wrong secret", sealRequest(t, f.creds.Mapper.Secret, `{}`, now), "", "Invalid body: Check encryption key (ClientSecret)." + hint},
		{"too old", sealRequest(t, secret, `{}`, now.Add(-3*time.Minute)), "", "Invalid timestamp: Request too old or client time drift."},
		{"bad payload", sealRequest(t, secret, `{nope`, now), "", "Invalid payload in body: Data is not valid json string."},
	} {
		t.Run(tc.name, func(t *testing.T) {
			req, _ := http.NewRequest("POST", f.srv.URL+"/v2/token/generate", strings.NewReader(tc.body))
			req.Header.Set("Authorization", "Bearer "+key)
			if tc.ct != "" {
				req.Header.Set("Content-Type", tc.ct)
			}
			resp := do(t, f.srv.Client(), req)
			want := `{"message":` + jsonString(tc.want) + `,"status":"client_error"}`
			if resp.code != 400 || string(resp.body) != want {
				t.Fatalf("got %d %s; want 400 %s", resp.code, resp.body, want)
			}
		})
	}
}

func TestBodyLimitAndCORS(t *testing.T) {
	f := newFixture(t, api.Options{})
	req, _ := http.NewRequest("POST", f.srv.URL+"/v2/token/generate", bytes.NewReader(make([]byte, api.MaxRequestBody+1)))
	req.Header.Set("Authorization", "Bearer "+f.creds.Generator.APIKey)
	if resp := do(t, f.srv.Client(), req); resp.code != 413 || string(resp.body) != "Request Entity Too Large" {
		t.Fatalf("oversized body: %d %q", resp.code, resp.body)
	}
	for _, path := range []string{"/v2/token/refresh", "/v2/token/generate", "/v2/token/validate"} {
		req, _ := http.NewRequest("OPTIONS", f.srv.URL+path, nil)
		req.Header.Set("Origin", "https://publisher.example")
		req.Header.Set("Access-Control-Request-Method", "POST")
		resp := do(t, f.srv.Client(), req)
		if resp.code != 204 || resp.header.Get("Access-Control-Allow-Origin") != "https://publisher.example" ||
			!strings.Contains(resp.header.Get("Access-Control-Allow-Methods"), "POST") {
			t.Fatalf("preflight %s: %d %v", path, resp.code, resp.header)
		}
		gotAuth := strings.Contains(resp.header.Get("Access-Control-Allow-Headers"), "Authorization")
		if gotAuth != (path == "/v2/token/validate") {
			t.Errorf("preflight %s: Authorization allowed = %v", path, gotAuth)
		}
	}
	resp := do(t, f.srv.Client(), mustRequest("GET", f.srv.URL+"/ops/healthcheck", ""))
	if resp.code != 200 || string(resp.body) != "OK" {
		t.Fatalf("healthcheck = %d %q", resp.code, resp.body)
	}
	if resp := do(t, f.srv.Client(), mustRequest("GET", f.srv.URL+"/v2/token/generate", "")); resp.code != 405 {
		t.Fatalf("GET generate = %d; want 405", resp.code)
	}
}

func TestRefreshErrors(t *testing.T) {
	f := newFixture(t, api.Options{})
	c := f.client(f.creds.Generator)
	anon := &client.Client{BaseURL: f.srv.URL, HTTP: f.srv.Client()}
	id := decodeIdentity(t, generate(t, c, `{"email":"user@example.com"}`).Body)

	// A wrapper with a bad key id, bad base64, or tampered data (§2.2 step 1).
	raw, _ := base64.StdEncoding.DecodeString(id.RefreshToken)
	badKey := append([]byte(nil), raw...)
	badKey[1], badKey[2], badKey[3], badKey[4] = 0, 0, 0x30, 0x39
	tampered := append([]byte(nil), raw...)
	tampered[len(tampered)-1] ^= 1
	for _, tc := range []struct {
		name, body, want string
	}{
		{"bad base64", strings.Repeat("!", 388), `{"message":"Invalid body: Body is not valid base64.","status":"client_error"}`},
		{"unknown key", base64.StdEncoding.EncodeToString(badKey), `{"message":"Invalid key: Generator of this token (Key ID: 12345) does not exist.","status":"client_error"}`},
		{"tampered", base64.StdEncoding.EncodeToString(tampered), `{"message":"Invalid data: Check encryption method and encryption key.","status":"client_error"}`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := anon.Refresh(context.Background(), tc.body, id.RefreshResponseKey)
			wantStatus(t, err, 400, tc.want)
		})
	}
	// Any other body is a raw refresh token: invalid ones answer by authentication.
	_, err := anon.Refresh(context.Background(), "garbage", "")
	wantStatus(t, err, 400, `{"message":"Error refreshing token","status":"error"}`)
	_, err = c.Refresh(context.Background(), "garbage", "")
	wantStatus(t, err, 400, `{"message":"Invalid Token presented","status":"invalid_token"}`)
}

func TestRefreshExpired(t *testing.T) {
	now := time.Now()
	clock := now
	f := newFixture(t, api.Options{Now: func() time.Time { return clock }})
	c := f.client(f.creds.Generator)
	c.Now = func() time.Time { return clock }
	id := decodeIdentity(t, generate(t, c, `{"email":"user@example.com"}`).Body)
	clock = time.UnixMilli(id.RefreshExpires + 1)
	_, err := c.Refresh(context.Background(), id.RefreshToken, id.RefreshResponseKey)
	wantStatus(t, err, 400, `{"message":"Expired Token presented","status":"expired_token"}`)
	anon := &client.Client{BaseURL: f.srv.URL, HTTP: f.srv.Client()}
	_, err = anon.Refresh(context.Background(), id.RefreshToken, id.RefreshResponseKey)
	wantStatus(t, err, 400, `{"message":"Error refreshing token","status":"error"}`)
	// Exactly at expiry the token is still good (expiry is strictly before now).
	clock = time.UnixMilli(id.RefreshExpires)
	if _, err := c.Refresh(context.Background(), id.RefreshToken, id.RefreshResponseKey); err != nil {
		t.Fatalf("refresh at expiry: %v", err)
	}
}

func TestPlainJSONMode(t *testing.T) {
	f := newFixture(t, api.Options{DisableV2Encryption: true})
	c := f.client(f.creds.Generator)
	c.Plain = true
	out, err := c.Do(context.Background(), "/v2/token/generate", []byte(`{"email":"user@example.com"}`))
	if err != nil {
		t.Fatal(err)
	}
	var id client.Identity
	if err := json.Unmarshal(mustResponse(t, out).Body, &id); err != nil {
		t.Fatal(err)
	}
	if len(id.RefreshToken) != token.RefreshV3Len || id.RefreshResponseKey != "" {
		t.Fatalf("plain mode identity: refresh_token len %d, refresh_response_key %q; want the inner token and no key", len(id.RefreshToken), id.RefreshResponseKey)
	}
	out, err = c.Refresh(context.Background(), id.RefreshToken, "")
	if err != nil {
		t.Fatal(err)
	}
	if r := mustResponse(t, out); r.Status != "success" {
		t.Fatalf("plain refresh = %s", out)
	}
}

func TestEUIDScope(t *testing.T) {
	f := newFixture(t, api.Options{Scope: identity.ScopeEUID})
	c := f.client(f.creds.Generator)
	id := decodeIdentity(t, generate(t, c, `{"email":"user@example.com"}`).Body)
	if !strings.HasPrefix(id.AdvertisingToken, "E4") || !strings.HasPrefix(id.RefreshToken, "EAAA") {
		t.Fatalf("EUID prefixes: %.4s %.4s", id.AdvertisingToken, id.RefreshToken)
	}
	_, err := c.Do(context.Background(), "/v2/token/generate", []byte(`{"email":"x"}`))
	wantStatus(t, err, 400, `{"message":"Invalid Identifier","status":"client_error"}`)
}

// --- helpers ---

func decodeIdentity(t *testing.T, body json.RawMessage) client.Identity {
	t.Helper()
	var id client.Identity
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&id); err != nil {
		t.Fatalf("identity %s: %v", body, err)
	}
	// Body key order matches the reference (§2.1 step 4).
	order := []string{"advertising_token", "refresh_token", "identity_expires", "refresh_expires", "refresh_from", "refresh_response_key"}
	last := -1
	for _, k := range order {
		i := bytes.Index(body, []byte(`"`+k+`"`))
		if i <= last {
			t.Fatalf("identity key order: %s", body)
		}
		last = i
	}
	return id
}

func checkIdentity(t *testing.T, id client.Identity, typ identity.Type, now time.Time) {
	t.Helper()
	wantPrefix := "A4"
	if typ == identity.TypePhone {
		wantPrefix = "B4"
	}
	if !strings.HasPrefix(id.AdvertisingToken, wantPrefix) || (len(id.AdvertisingToken) != 218 && len(id.AdvertisingToken) != 219) {
		t.Errorf("advertising_token %.6s… len %d; want prefix %s, 218/219 chars", id.AdvertisingToken, len(id.AdvertisingToken), wantPrefix)
	}
	if len(id.RefreshToken) != token.WrapperLen || !strings.HasPrefix(id.RefreshToken, "AAAA") {
		t.Errorf("refresh_token %.6s… len %d; want 388 chars starting AAAA", id.RefreshToken, len(id.RefreshToken))
	}
	if k, err := base64.StdEncoding.DecodeString(id.RefreshResponseKey); err != nil || len(k) != 32 {
		t.Errorf("refresh_response_key %q is not base64 of 32 bytes", id.RefreshResponseKey)
	}
	ms := now.UnixMilli()
	if d := id.IdentityExpires - ms; d < 3590_000 || d > 3610_000 {
		t.Errorf("identity_expires - now = %d ms; want ~3600 s", d)
	}
	if d := id.RefreshExpires - ms; d < 86390_000 || d > 86410_000 {
		t.Errorf("refresh_expires - now = %d ms; want ~86400 s", d)
	}
	if d := id.RefreshFrom - ms; d < 890_000 || d > 910_000 {
		t.Errorf("refresh_from - now = %d ms; want ~900 s", d)
	}
}

func sha256b64(s string) string {
	sum := sha256.Sum256([]byte(s))
	return base64.StdEncoding.EncodeToString(sum[:])
}

func sealRequest(t testing.TB, secret, payload string, now time.Time) string {
	t.Helper()
	key, _ := base64.StdEncoding.DecodeString(secret)
	env, err := envelope.SealRequest(nil, key, []byte(payload), now, [8]byte{1, 2, 3, 4, 5, 6, 7, 8}, nil)
	if err != nil {
		t.Fatal(err)
	}
	return base64.StdEncoding.EncodeToString(env)
}

type response struct {
	code   int
	header http.Header
	body   []byte
}

func mustRequest(method, url, body string) *http.Request {
	req, err := http.NewRequest(method, url, strings.NewReader(body))
	if err != nil {
		panic(err)
	}
	return req
}

func do(t testing.TB, c *http.Client, req *http.Request) response {
	t.Helper()
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return response{resp.StatusCode, resp.Header, b}
}

func wantStatus(t *testing.T, err error, code int, body string) {
	t.Helper()
	var se *client.StatusError
	if !errors.As(err, &se) {
		t.Fatalf("err = %v; want HTTP %d", err, code)
	}
	if se.Code != code || string(se.Body) != body {
		t.Fatalf("got HTTP %d %s; want %d %s", se.Code, se.Body, code, body)
	}
}

func jsonString(s string) string {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	enc.Encode(s)
	return strings.TrimSpace(b.String())
}
