package token_test

import (
	"bytes"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/uid2-private-operator/uid2-operator/internal/aesgcm"
	"github.com/uid2-private-operator/uid2-operator/internal/identity"
	"github.com/uid2-private-operator/uid2-operator/internal/token"
)

func TestWrapRefreshRoundTrip(t *testing.T) {
	k := newTestKeys(t)
	for _, tt := range []struct {
		scope  identity.Scope
		prefix string
	}{
		{identity.ScopeUID2, "AAAA"},
		{identity.ScopeEUID, "EAAA"},
	} {
		t.Run(tt.scope.String(), func(t *testing.T) {
			inner, err := token.AppendRefreshV3(nil, sampleRefresh(uint8(tt.scope), 0), k.refresh, detRand(11))
			if err != nil {
				t.Fatal(err)
			}
			var rrk [32]byte
			copy(rrk[:], randBytes(detRand(12), 32))

			// The wrapper may be appended after the inner token in one buffer.
			buf := make([]byte, 0, 2048)
			buf = append(buf, inner...)
			out, err := token.WrapRefresh(buf[len(buf):], buf, &rrk, tt.scope, k.refresh, detRand(13))
			if err != nil {
				t.Fatalf("WrapRefresh = %v", err)
			}
			s := string(out)
			if len(s) != token.WrapperLen || s[:4] != tt.prefix {
				t.Errorf("wrapper: len %d prefix %q; want 388 %q", len(s), s[:4], tt.prefix)
			}
			raw := mustB64(t, s)
			if len(raw) != 291 || raw[0] != byte(tt.scope)<<4 || binary.BigEndian.Uint32(raw[1:]) != uint32(k.refresh.ID) {
				t.Errorf("wrapper bytes: len %d byte0 %#x key %d", len(raw), raw[0], binary.BigEndian.Uint32(raw[1:]))
			}
			// The sealed JSON is compact, in the reference key order (§4.5).
			j, err := aesgcm.Open(k.refresh.Secret, raw[5:])
			if err != nil {
				t.Fatal(err)
			}
			wantJSON := `{"refresh_response_key":"` + base64.StdEncoding.EncodeToString(rrk[:]) + `","refresh_token":"` + string(inner) + `"}`
			if string(j) != wantJSON || len(j) != 258 {
				t.Errorf("wrapped JSON = %s (%d bytes); want %s (258)", j, len(j), wantJSON)
			}

			gotInner, gotKey, err := token.UnwrapRefresh(s, k.all)
			if err != nil {
				t.Fatalf("UnwrapRefresh = %v", err)
			}
			if gotInner != string(inner) || !bytes.Equal(gotKey, rrk[:]) {
				t.Errorf("UnwrapRefresh = %q, %x; want %q, %x", gotInner, gotKey, inner, rrk)
			}
			r, err := token.DecodeRefresh(gotInner, k.all)
			if err != nil || r.Scope != tt.scope {
				t.Errorf("DecodeRefresh(unwrapped) = %+v, %v", r, err)
			}
		})
	}
}

func TestWrapRefreshErrors(t *testing.T) {
	k := newTestKeys(t)
	inner, err := token.AppendRefreshV3(nil, sampleRefresh(0, 0), k.refresh, detRand(11))
	if err != nil {
		t.Fatal(err)
	}
	var rrk [32]byte
	quoted := bytes.Clone(inner)
	quoted[10] = '"'
	for _, tt := range []struct {
		name  string
		inner []byte
		scope identity.Scope
		key   token.Key
		want  error
	}{
		{"inner 160 chars", inner[:160], 0, k.refresh, token.ErrWrapperLength},
		{"inner 172 chars", append(bytes.Clone(inner), "AAAA"...), 0, k.refresh, token.ErrWrapperLength},
		{"inner needs escaping", quoted, 0, k.refresh, token.ErrInvalid},
		{"scope 2", inner, 2, k.refresh, token.ErrInvalid},
		{"bad key", inner, 0, token.Key{ID: 3, Secret: []byte("short")}, token.ErrKeySize},
	} {
		t.Run(tt.name, func(t *testing.T) {
			out, err := token.WrapRefresh(nil, tt.inner, &rrk, tt.scope, tt.key, nil)
			if !errors.Is(err, tt.want) || out != nil {
				t.Errorf("WrapRefresh = %q, %v; want nil, %v", out, err, tt.want)
			}
		})
	}
}

// sealWrapper builds a wrapper around an arbitrary payload, as a forger
// holding the refresh key could.
func sealWrapper(t *testing.T, key token.Key, payload string) string {
	t.Helper()
	b := []byte{0}
	b = binary.BigEndian.AppendUint32(b, uint32(key.ID))
	b, err := aesgcm.Seal(b, key.Secret, []byte(payload), detRand(14))
	if err != nil {
		t.Fatal(err)
	}
	return base64.StdEncoding.EncodeToString(b)
}

// flipBit flips the low bit of byte i of the std-b64 text s.
func flipBit(t *testing.T, s string, i int) string {
	b := mustB64(t, s)
	b[i] ^= 1
	return base64.StdEncoding.EncodeToString(b)
}

// TestUnwrapRefreshErrors checks each failure and the exact §2.2 message
// clients receive for it.
func TestUnwrapRefreshErrors(t *testing.T) {
	k := newTestKeys(t)
	const (
		msgBase64 = "Invalid body: Body is not valid base64."
		msgData   = "Invalid data: Check encryption method and encryption key."
		msgFormat = "Invalid format: Payload is not valid json or missing required data."
	)
	valid := sealWrapper(t, k.refresh, `{"refresh_response_key":"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=","refresh_token":"x"}`)
	unknown := []byte{0x10, 0xff, 0xff, 0xff, 0xfe}
	unknown = append(unknown, make([]byte, 286)...)
	rrk := `"AAAAAAAAAAAAAAAAAAAAAA=="` // 16 bytes

	tests := []struct {
		name    string
		in      string
		want    error
		wantMsg string
	}{
		{"not base64", strings.Repeat("!", 388), token.ErrWrapperBase64, msgBase64},
		{"b64url", strings.Repeat("_", 388), token.ErrWrapperBase64, msgBase64},
		{"line break", valid[:100] + "\n" + valid[101:], token.ErrWrapperBase64, msgBase64},
		{"negative key id", base64.StdEncoding.EncodeToString(unknown), token.ErrUnknownKey,
			"Invalid key: Generator of this token (Key ID: -2) does not exist."},
		{"too short for a key id", "AAAA", token.ErrDecrypt, msgData},
		{"too short for a tag", base64.StdEncoding.EncodeToString([]byte{0, 0, 0, 0, 3, 1, 2}), token.ErrDecrypt, msgData},
		{"tampered", flipBit(t, valid, 40), token.ErrDecrypt, msgData},
		{"not json", sealWrapper(t, k.refresh, `not json`), token.ErrWrapperFormat, msgFormat},
		{"json array", sealWrapper(t, k.refresh, `[]`), token.ErrWrapperFormat, msgFormat},
		{"json null", sealWrapper(t, k.refresh, `null`), token.ErrWrapperFormat, msgFormat},
		{"no key", sealWrapper(t, k.refresh, `{"refresh_token":"x"}`), token.ErrWrapperFormat, msgFormat},
		{"no token", sealWrapper(t, k.refresh, `{"refresh_response_key":`+rrk+`}`), token.ErrWrapperFormat, msgFormat},
		{"key not string", sealWrapper(t, k.refresh, `{"refresh_response_key":5,"refresh_token":"x"}`), token.ErrWrapperFormat, msgFormat},
		{"key not base64", sealWrapper(t, k.refresh, `{"refresh_response_key":"%%%%","refresh_token":"x"}`), token.ErrWrapperFormat, msgFormat},
		{"key 3 bytes", sealWrapper(t, k.refresh, `{"refresh_response_key":"AAAA","refresh_token":"x"}`), token.ErrWrapperFormat, msgFormat},
		{"field case", sealWrapper(t, k.refresh, `{"Refresh_Response_Key":`+rrk+`,"refresh_token":"x"}`), token.ErrWrapperFormat, msgFormat},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			inner, key, err := token.UnwrapRefresh(tt.in, k.all)
			if !errors.Is(err, tt.want) || inner != "" || key != nil {
				t.Errorf("UnwrapRefresh = %q, %x, %v; want %v", inner, key, err, tt.want)
			}
			if got := token.WrapperMessage(err); got != tt.wantMsg {
				t.Errorf("WrapperMessage(%v) = %q; want %q", err, got, tt.wantMsg)
			}
		})
	}

	// A 16-byte response key and extra fields are accepted.
	inner, key, err := token.UnwrapRefresh(sealWrapper(t, k.refresh, `{"x":1,"refresh_response_key":`+rrk+`,"refresh_token":"tok"}`), k.all)
	if err != nil || inner != "tok" || len(key) != 16 {
		t.Errorf("UnwrapRefresh(extra field) = %q, %x, %v; want tok, 16 bytes, nil", inner, key, err)
	}
	if got := token.WrapperMessage(fmt.Errorf("wrapped: %w", &token.UnknownKeyError{ID: 12})); got != "Invalid key: Generator of this token (Key ID: 12) does not exist." {
		t.Errorf("WrapperMessage(wrapped unknown key) = %q", got)
	}
}
