package api_test

import (
	"bytes"
	"crypto/aes"
	"crypto/cipher"
	"crypto/ecdh"
	"crypto/rand"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/uid2-private-operator/uid2-operator/internal/api"
	"github.com/uid2-private-operator/uid2-operator/internal/client"
	"github.com/uid2-private-operator/uid2-operator/internal/store"
	"github.com/uid2-private-operator/uid2-operator/internal/token"
)

// cstgClient builds requests the way the JS/mobile SDKs do (§2.12): an
// ephemeral P-256 key, ECDH with the server public key (raw X coordinate as
// the AES-256-GCM key), AAD [timestamp] or [timestamp,"app"].
type cstgClient struct {
	serverPublic string // with the 9-character UID2-X-?- prefix
	subscription string
	origin       string
}

type cstgCall struct {
	plaintext string
	app       *string
	timestamp int64
	body      map[string]any // overrides/extra fields; nil values delete
	lineBreak string         // insert "\n" after the 4th character of this field
}

func (c cstgClient) request(t *testing.T, call cstgCall) (body []byte, secret []byte) {
	t.Helper()
	der, err := base64.StdEncoding.DecodeString(c.serverPublic[9:])
	if err != nil {
		t.Fatal(err)
	}
	k, err := x509.ParsePKIXPublicKey(der)
	if err != nil {
		t.Fatal(err)
	}
	type ecdhKey interface {
		ECDH() (*ecdh.PublicKey, error)
	}
	spub, err := k.(ecdhKey).ECDH()
	if err != nil {
		t.Fatal(err)
	}
	priv, err := ecdh.P256().GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	secret, err = priv.ECDH(spub)
	if err != nil {
		t.Fatal(err)
	}
	cpub, err := x509.MarshalPKIXPublicKey(priv.PublicKey())
	if err != nil {
		t.Fatal(err)
	}
	ts := call.timestamp
	if ts == 0 {
		ts = time.Now().UnixMilli()
	}
	aad, _ := json.Marshal([]any{ts})
	if call.app != nil {
		aad, _ = json.Marshal([]any{ts, *call.app})
	}
	block, _ := aes.NewCipher(secret)
	gcm, _ := cipher.NewGCM(block)
	iv := make([]byte, 12)
	rand.Read(iv)
	m := map[string]any{
		"payload":         base64.StdEncoding.EncodeToString(gcm.Seal(nil, iv, []byte(call.plaintext), aad)),
		"iv":              base64.StdEncoding.EncodeToString(iv),
		"public_key":      base64.StdEncoding.EncodeToString(cpub),
		"timestamp":       ts,
		"subscription_id": c.subscription,
	}
	if call.app != nil {
		m["app_name"] = *call.app
	}
	for k, v := range call.body {
		if v == nil {
			delete(m, k)
		} else {
			m[k] = v
		}
	}
	if f := call.lineBreak; f != "" {
		v := m[f].(string)
		m[f] = v[:4] + "\n" + v[4:]
	}
	body, _ = json.Marshal(m)
	return body, secret
}

func (c cstgClient) post(t *testing.T, f *fixture, body []byte) response {
	t.Helper()
	req := mustRequest("POST", f.srv.URL+"/v2/token/client-generate", string(body))
	req.Header.Set("Content-Type", "application/json")
	if c.origin != "" {
		req.Header.Set("Origin", c.origin)
	}
	return do(t, f.srv.Client(), req)
}

// openCSTGResponse decrypts a 200 answer: b64 of IV || ct || tag under the
// shared secret, no timestamp or nonce.
func openCSTGResponse(t *testing.T, resp response, secret []byte) client.Response {
	t.Helper()
	if resp.code != 200 {
		t.Fatalf("HTTP %d %s", resp.code, resp.body)
	}
	if ct, ok := resp.header["Content-Type"]; ok {
		t.Errorf("Content-Type %q set; the reference sends none", ct)
	}
	raw, err := base64.StdEncoding.DecodeString(string(resp.body))
	if err != nil || len(raw) < 28 {
		t.Fatalf("body is not b64 ciphertext: %s", resp.body)
	}
	block, _ := aes.NewCipher(secret)
	gcm, _ := cipher.NewGCM(block)
	pt, err := gcm.Open(nil, raw[:12], raw[12:], nil)
	if err != nil {
		t.Fatalf("decrypt response: %v", err)
	}
	return mustResponse(t, pt)
}

func newCSTGFixture(t *testing.T, opt api.Options) (*fixture, cstgClient) {
	opt.CSTG = true
	f := newFixture(t, opt)
	return f, cstgClient{serverPublic: f.creds.CSTG.ServerPublicKey, subscription: f.creds.CSTG.SubscriptionID, origin: "http://localhost:8080"}
}

func strp(s string) *string { return &s }

// TestCSTGFlow generates a token client-side, refreshes it, and decrypts it
// as a bidder: the token carries privacy bits 3 and the keypair's site, and
// the bidder's site_data check passes for the publisher's domain only.
func TestCSTGFlow(t *testing.T) {
	f, c := newCSTGFixture(t, api.Options{})
	for _, plaintext := range []string{
		`{"email_hash":"` + sha256b64("cstg@example.com") + `"}`,
		`{"phone_hash":"` + sha256b64("+15555550123") + `","extra":1}`,
	} {
		body, secret := c.request(t, cstgCall{plaintext: plaintext})
		resp := c.post(t, f, body)
		if got := resp.header.Get("Access-Control-Allow-Origin"); got != c.origin {
			t.Errorf("Access-Control-Allow-Origin = %q", got)
		}
		r := openCSTGResponse(t, resp, secret)
		if r.Status != "success" {
			t.Fatalf("status %q", r.Status)
		}
		id := decodeIdentity(t, r.Body)

		keys, err := parseSDKKeys(doKeys(t, f, f.creds.IDReader, "/v2/key/bidstream"))
		if err != nil {
			t.Fatal(err)
		}
		adv, err := token.DecodeAdvertising(id.AdvertisingToken, keys.tokenKeys)
		if err != nil {
			t.Fatal(err)
		}
		if adv.PrivacyBits != 3 || adv.SiteID != 1002 {
			t.Errorf("privacy bits %d site %d; want 3, 1002", adv.PrivacyBits, adv.SiteID)
		}
		checkSDKValidity(t, keys, &adv, time.Now(), keys.maxBidstreamLifetime, "publisher.example")
		if keys.domainAllowed(adv.SiteID, "evil.example") {
			t.Error("site_data allows an unlisted domain")
		}

		// Refresh keeps the CSTG privacy bits.
		out, err := f.client(f.creds.Generator).Refresh(t.Context(), id.RefreshToken, id.RefreshResponseKey)
		if err != nil {
			t.Fatal(err)
		}
		id2 := decodeIdentity(t, mustResponse(t, out).Body)
		if adv2, _ := token.DecodeAdvertising(id2.AdvertisingToken, keys.tokenKeys); adv2.PrivacyBits != 3 {
			t.Errorf("refreshed privacy bits %d", adv2.PrivacyBits)
		}
	}
}

func TestCSTGOptout(t *testing.T) {
	f, c := newCSTGFixture(t, api.Options{})
	body, secret := c.request(t, cstgCall{plaintext: `{"email_hash":"` + sha256b64("optout@example.com") + `"}`})
	r := openCSTGResponse(t, c.post(t, f, body), secret)
	if r.Status != "optout" || r.Body != nil {
		t.Errorf("got %+v; want {\"status\":\"optout\"}", r)
	}
}

func TestCSTGErrors(t *testing.T) {
	f, c := newCSTGFixture(t, api.Options{})
	emailHash := `{"email_hash":"` + sha256b64("a@example.com") + `"}`
	tests := []struct {
		name   string
		raw    string // sent as is when set
		call   cstgCall
		origin string
		code   int
		want   string
	}{
		{"empty body", raw0(""), cstgCall{}, "", 400, `{"message":"json payload expected but not found","status":"client_error"}`},
		{"not JSON", raw0("hello"), cstgCall{}, "", 400, `{"message":"json payload is not valid","status":"client_error"}`},
		{"JSON array", raw0("[1]"), cstgCall{}, "", 400, `{"message":"json payload is not valid","status":"client_error"}`},
		{"object-valued field", "", cstgCall{plaintext: emailHash, body: map[string]any{"iv": map[string]any{}}}, "", 400, `{"message":"json payload is not valid","status":"client_error"}`},
		{"bad subscription", "", cstgCall{plaintext: emailHash, body: map[string]any{"subscription_id": "nope"}}, "", 400, `{"message":"bad subscription_id","status":"client_error"}`},
		{"missing subscription", "", cstgCall{plaintext: emailHash, body: map[string]any{"subscription_id": nil}}, "", 400, `{"message":"bad subscription_id","status":"client_error"}`},
		{"no origin", "", cstgCall{plaintext: emailHash}, "-", 403, `{"message":"unexpected http origin","status":"invalid_http_origin"}`},
		{"wrong origin", "", cstgCall{plaintext: emailHash}, "https://evil.example.com", 403, `{"message":"unexpected http origin","status":"invalid_http_origin"}`},
		{"IP origin", "", cstgCall{plaintext: emailHash}, "http://127.0.0.1:8080", 403, `{"message":"unexpected http origin","status":"invalid_http_origin"}`},
		{"unknown app", "", cstgCall{plaintext: emailHash, app: strp("com.other.app")}, "", 403, `{"message":"unexpected app name","status":"invalid_app_name"}`},
		{"origin check before required params", "", cstgCall{plaintext: emailHash, body: map[string]any{"payload": nil}}, "https://evil.example.com", 403, `{"message":"unexpected http origin","status":"invalid_http_origin"}`},
		{"missing payload", "", cstgCall{plaintext: emailHash, body: map[string]any{"payload": nil}}, "", 400, `{"message":"required parameters: payload, iv, public_key","status":"client_error"}`},
		{"missing public key", "", cstgCall{plaintext: emailHash, body: map[string]any{"public_key": nil}}, "", 400, `{"message":"required parameters: payload, iv, public_key","status":"client_error"}`},
		{"bad public key", "", cstgCall{plaintext: emailHash, body: map[string]any{"public_key": "AAAA"}}, "", 400, `{"message":"bad public key","status":"client_error"}`},
		{"bad iv length", "", cstgCall{plaintext: emailHash, body: map[string]any{"iv": "AAAA"}}, "", 400, `{"message":"bad iv","status":"client_error"}`},
		{"iv not base64", "", cstgCall{plaintext: emailHash, body: map[string]any{"iv": "!!"}}, "", 400, `{"message":"bad iv","status":"client_error"}`},
		{"wrong timestamp in AAD", "", cstgCall{plaintext: emailHash, body: map[string]any{"timestamp": 1}}, "", 400, `{"message":"payload decryption failed","status":"client_error"}`},
		{"app name not in AAD", "", cstgCall{plaintext: emailHash, body: map[string]any{"app_name": "x"}}, "", 403, `{"message":"unexpected app name","status":"invalid_app_name"}`},
		// Java's decoder rejects line breaks; Go's would skip them (issue 10).
		{"iv with a line break", "", cstgCall{plaintext: emailHash, lineBreak: "iv"}, "", 400, `{"message":"bad iv","status":"client_error"}`},
		{"payload with a line break", "", cstgCall{plaintext: emailHash, lineBreak: "payload"}, "", 400, `{"message":"payload decryption failed","status":"client_error"}`},
		{"public key with a line break", "", cstgCall{plaintext: emailHash, lineBreak: "public_key"}, "", 400, `{"message":"bad public key","status":"client_error"}`},
		{"payload not base64", "", cstgCall{plaintext: emailHash, body: map[string]any{"payload": "!!"}}, "", 400, `{"message":"payload decryption failed","status":"client_error"}`},
		{"plaintext not JSON", "", cstgCall{plaintext: `email`}, "", 400, `{"message":"encrypted payload contains invalid json","status":"client_error"}`},
		{"both hashes", "", cstgCall{plaintext: `{"email_hash":"a","phone_hash":"b"}`}, "", 400, `{"message":"please provide exactly one of: email_hash, phone_hash","status":"client_error"}`},
		{"raw email", "", cstgCall{plaintext: `{"email":"a@example.com"}`}, "", 400, `{"message":"please provide exactly one of: email_hash, phone_hash","status":"client_error"}`},
		{"bad hash", "", cstgCall{plaintext: `{"email_hash":"abc"}`}, "", 400, `{"message":"Invalid Identifier","status":"client_error"}`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var body []byte
			if tc.raw != "" {
				body = []byte(tc.raw[1:])
			} else {
				body, _ = c.request(t, tc.call)
			}
			cc := c
			switch tc.origin {
			case "-":
				cc.origin = ""
			case "":
			default:
				cc.origin = tc.origin
			}
			resp := cc.post(t, f, body)
			if resp.code != tc.code || string(resp.body) != tc.want {
				t.Errorf("got %d %s; want %d %s", resp.code, resp.body, tc.code, tc.want)
			}
			if ct := resp.header.Get("Content-Type"); ct != "application/json" {
				t.Errorf("Content-Type %q", ct)
			}
		})
	}
}

// raw0 marks a literal body (the leading byte keeps "" distinguishable).
func raw0(s string) string { return "\x00" + s }

func TestCSTGSiteAndKeypairChanges(t *testing.T) {
	f, c := newCSTGFixture(t, api.Options{})
	snap := f.store.Load()
	// Give site 1002 an app name and check the case-insensitive match; the
	// app name takes the place of the Origin check.
	var sites []store.Site
	for _, id := range []int32{1001, 1002, 1003, 1004, 1005, 1006} {
		s := *snap.Sites.Get(id)
		if id == 1002 {
			s.AppNames = []string{"com.Publisher.App"}
		}
		sites = append(sites, s)
	}
	f.store.SetSites(store.NewSites(2, sites))
	cc := c
	cc.origin = ""
	body, secret := cc.request(t, cstgCall{plaintext: `{"email_hash":"` + sha256b64("app@example.com") + `"}`, app: strp("COM.PUBLISHER.APP")})
	if r := openCSTGResponse(t, cc.post(t, f, body), secret); r.Status != "success" {
		t.Errorf("app name: status %q", r.Status)
	}

	// A disabled keypair is 401 before any origin check.
	kp := *snap.Keypairs.Get(f.creds.CSTG.SubscriptionID)
	kp.Disabled = true
	f.store.SetClientSideKeypairs(store.NewClientSideKeypairs(2, []store.ClientSideKeypair{kp}))
	body, _ = cc.request(t, cstgCall{plaintext: `{"email_hash":"` + sha256b64("x@example.com") + `"}`})
	resp := cc.post(t, f, body)
	if resp.code != 401 || string(resp.body) != `{"message":"Unauthorized","status":"unauthorized"}` {
		t.Errorf("disabled keypair: %d %s", resp.code, resp.body)
	}
}

func TestCSTGOptions(t *testing.T) {
	t.Run("route absent without CSTG", func(t *testing.T) {
		f := newFixture(t, api.Options{})
		resp := do(t, f.srv.Client(), mustRequest("POST", f.srv.URL+"/v2/token/client-generate", "{}"))
		if resp.code != 404 {
			t.Errorf("HTTP %d; want 404", resp.code)
		}
	})
	t.Run("domain check disabled", func(t *testing.T) {
		f, c := newCSTGFixture(t, api.Options{DisableCSTGDomainCheck: true})
		c.origin = "https://anything.example.org"
		body, secret := c.request(t, cstgCall{plaintext: `{"email_hash":"` + sha256b64("a@example.com") + `"}`, app: strp("any.app")})
		if r := openCSTGResponse(t, c.post(t, f, body), secret); r.Status != "success" {
			t.Errorf("status %q", r.Status)
		}
	})
	t.Run("phone disabled", func(t *testing.T) {
		f, c := newCSTGFixture(t, api.Options{DisablePhone: true})
		for plaintext, want := range map[string]string{
			`{"phone_hash":"` + sha256b64("+15555550123") + `"}`: `{"message":"phone support not enabled","status":"client_error"}`,
			`{}`: `{"message":"please provide email_hash","status":"client_error"}`,
		} {
			body, _ := c.request(t, cstgCall{plaintext: plaintext})
			if resp := c.post(t, f, body); resp.code != 400 || string(resp.body) != want {
				t.Errorf("%s: %d %s; want %s", plaintext, resp.code, resp.body, want)
			}
		}
	})
	t.Run("unknown fields ignored", func(t *testing.T) {
		// The reference's strict mapping answers 500 here (an artefact, §7);
		// we accept the request.
		f, c := newCSTGFixture(t, api.Options{})
		body, _ := c.request(t, cstgCall{plaintext: `{"email_hash":"` + sha256b64("a@example.com") + `"}`,
			body: map[string]any{"sdk_version": "9.9", "timestamp": "1700000000000"}})
		// A numeric string timestamp is coerced, as Jackson does; the AAD
		// was built with the client's own timestamp, so decryption fails.
		if resp := c.post(t, f, body); resp.code != 400 || !strings.Contains(string(resp.body), "payload decryption failed") {
			t.Errorf("string timestamp: %d %s", resp.code, resp.body)
		}
		body, secret := c.request(t, cstgCall{plaintext: `{"email_hash":"` + sha256b64("a@example.com") + `"}`,
			body: map[string]any{"sdk_version": "9.9"}})
		if r := openCSTGResponse(t, c.post(t, f, body), secret); r.Status != "success" {
			t.Errorf("status %q", r.Status)
		}
	})
	t.Run("preflight", func(t *testing.T) {
		f, _ := newCSTGFixture(t, api.Options{})
		req := mustRequest("OPTIONS", f.srv.URL+"/v2/token/client-generate", "")
		req.Header.Set("Origin", "https://publisher.example.com")
		req.Header.Set("Access-Control-Request-Method", "POST")
		req.Header.Set("Access-Control-Request-Headers", "content-type")
		resp := do(t, f.srv.Client(), req)
		h := resp.header
		if resp.code != 204 || h.Get("Access-Control-Allow-Origin") != "https://publisher.example.com" ||
			!strings.Contains(h.Get("Access-Control-Allow-Methods"), "POST") ||
			!strings.Contains(h.Get("Access-Control-Allow-Headers"), "Content-Type") {
			t.Errorf("preflight: %d %v", resp.code, h)
		}
	})
	t.Run("body limit", func(t *testing.T) {
		f, _ := newCSTGFixture(t, api.Options{})
		resp := do(t, f.srv.Client(), mustRequest("POST", f.srv.URL+"/v2/token/client-generate", `{"x":"`+strings.Repeat("a", api.MaxRequestBody)+`"}`))
		if resp.code != http.StatusRequestEntityTooLarge || !bytes.Equal(resp.body, []byte("Request Entity Too Large")) {
			t.Errorf("HTTP %d %.40s", resp.code, resp.body)
		}
	})
}
