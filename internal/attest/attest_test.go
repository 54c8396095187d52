package attest_test

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/uid2-private-operator/uid2-operator/internal/attest"
)

func newKey(t testing.TB) *attest.Key {
	t.Helper()
	k, err := attest.NewKey(nil)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func TestRequestBody(t *testing.T) {
	k := newKey(t)
	req, err := attest.NewRequest(context.Background(), attest.Trusted{}, k, "https://core.example/attest", "", "1.2.3")
	if err != nil {
		t.Fatal(err)
	}
	b, _ := json.Marshal(req)
	s := string(b)
	// Field order and an empty operator_type are part of the wire format (§1.2).
	for i, want := range []string{`{"attestation_request":"AA=="`, `,"public_key":"`, `,"application_name":"uid2-operator"`,
		`,"application_version":"1.2.3"`, `,"operator_type":""`, `,"components":{`} {
		if !strings.Contains(s, want) {
			t.Fatalf("body %s lacks %s (field %d)", s, want, i)
		}
	}
	if req.PublicKey != base64.StdEncoding.EncodeToString(k.PublicKeyDER()) {
		t.Error("public_key is not the SPKI DER in standard base64")
	}
	if k2 := newKey(t); string(k2.PublicKeyDER()) == string(k.PublicKeyDER()) {
		t.Error("two attempts share a key")
	}
}

func response(t testing.TB, k *attest.Key, token, exp string, optout any) []byte {
	t.Helper()
	enc, err := attest.EncryptToken(nil, k.PublicKeyDER(), token)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := json.Marshal(map[string]any{"status": "success", "body": map[string]any{
		"attestation_token": enc, "expiresAt": exp, "optout_url": optout, "attestation_jwt_core": "c.j.w"}})
	return b
}

func TestParseResponse(t *testing.T) {
	k := newKey(t)
	tok, err := attest.ParseResponse(response(t, k, "tok,123,456", "1970-01-01T00:00:00.111Z", "https://optout.example"), k)
	if err != nil {
		t.Fatal(err)
	}
	if tok.Value != "tok,123,456" || tok.ExpiresAt.UnixMilli() != 111 || tok.OptoutURL != "https://optout.example" || tok.JWTCore != "c.j.w" || tok.JWTOptout != "" {
		t.Fatalf("ParseResponse = %+v", tok)
	}
	// optout_url may be JSON null.
	tok, err = attest.ParseResponse(response(t, k, "x", "2030-01-01T00:00:00Z", nil), k)
	if err != nil || tok.OptoutURL != "" {
		t.Fatalf("null optout_url: %+v, %v", tok, err)
	}
	// Another attempt's key cannot decrypt it.
	if _, err := attest.ParseResponse(response(t, k, "x", "2030-01-01T00:00:00Z", nil), newKey(t)); !errors.Is(err, attest.ErrDecrypt) {
		t.Errorf("wrong key: %v; want ErrDecrypt", err)
	}
	for _, body := range []string{
		`{"status":"failure","body":{"attestation_token":"AA==","expiresAt":"2030-01-01T00:00:00Z"}}`,
		`{"status":"success","body":{"expiresAt":"2030-01-01T00:00:00Z"}}`,
		`{"status":"success","body":{"attestation_token":"AA=="}}`,
		`{"status":"success","body":{"attestation_token":"AA==","expiresAt":"tomorrow"}}`,
		`{"status":"success"}`, `not json`,
	} {
		if _, err := attest.ParseResponse([]byte(body), k); !errors.Is(err, attest.ErrResponse) {
			t.Errorf("ParseResponse(%s) = %v; want ErrResponse", body, err)
		}
	}
}

func TestTokenRenew(t *testing.T) {
	now := time.Unix(1_800_000_000, 0)
	var nilTok *attest.Token
	for _, tc := range []struct {
		name         string
		tok          *attest.Token
		valid, renew bool
	}{
		{"none", nilTok, false, true},
		{"fresh", &attest.Token{Value: "t", ExpiresAt: now.Add(2 * time.Hour)}, true, false},
		{"within 10 min", &attest.Token{Value: "t", ExpiresAt: now.Add(9 * time.Minute)}, true, true},
		{"expired", &attest.Token{Value: "t", ExpiresAt: now}, false, true},
		{"empty", &attest.Token{ExpiresAt: now.Add(time.Hour)}, false, true},
	} {
		if got := tc.tok.Valid(now); got != tc.valid {
			t.Errorf("%s: Valid = %v; want %v", tc.name, got, tc.valid)
		}
		if got := tc.tok.Renew(now); got != tc.renew {
			t.Errorf("%s: Renew = %v; want %v", tc.name, got, tc.renew)
		}
	}
}

func FuzzParseResponse(f *testing.F) {
	k := newKey(f)
	f.Add(response(f, k, "tok", "2030-01-01T00:00:00Z", "u"))
	f.Add([]byte(`{"status":"success","body":{"attestation_token":"AA==","expiresAt":"2030-01-01T00:00:00Z"}}`))
	f.Add([]byte(`{}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		attest.ParseResponse(b, k)
	})
}
