package token_test

import (
	"bytes"
	"encoding/base64"
	"errors"
	"strings"
	"testing"

	"github.com/uid2-private-operator/uid2-operator/internal/identity"
	"github.com/uid2-private-operator/uid2-operator/internal/token"
)

func TestRefreshV3RoundTrip(t *testing.T) {
	k := newTestKeys(t)
	for _, kd := range kinds {
		in := sampleRefresh(kd.scope, kd.typ)
		t.Run(in.Scope.String()+"/"+in.Type.String(), func(t *testing.T) {
			out, err := token.AppendRefreshV3([]byte("x"), in, k.refresh, detRand(6))
			if err != nil {
				t.Fatalf("AppendRefreshV3 = %v", err)
			}
			if out[0] != 'x' {
				t.Fatalf("AppendRefreshV3 dropped dst")
			}
			if token.RefreshV3Len != 168 {
				t.Fatalf("RefreshV3Len = %d; want 168", token.RefreshV3Len)
			}
			s := string(out[1:])
			if len(s) != 168 || s[:2] != kd.pfV3 || !strings.HasSuffix(s, "==") {
				t.Errorf("refresh token: len %d prefix %q suffix %q; want 168 %q ==", len(s), s[:2], s[len(s)-2:], kd.pfV3)
			}
			got, err := token.DecodeRefresh(s, k.all)
			if err != nil {
				t.Fatalf("DecodeRefresh = %v", err)
			}
			want := *in
			want.Version, want.KeyID = token.VersionV3, k.refresh.ID
			if got != want {
				t.Errorf("DecodeRefresh\n got %+v\nwant %+v", got, want)
			}
		})
	}
}

func TestAppendRefreshV3Errors(t *testing.T) {
	k := newTestKeys(t)
	bad := sampleRefresh(0, 0)
	bad.Type = 3
	for _, tt := range []struct {
		name string
		in   *token.Refresh
		key  token.Key
		want error
	}{
		{"type 3", bad, k.refresh, token.ErrInvalid},
		{"key 8 bytes", sampleRefresh(0, 0), token.Key{ID: 1, Secret: make([]byte, 8)}, token.ErrKeySize},
	} {
		t.Run(tt.name, func(t *testing.T) {
			out, err := token.AppendRefreshV3(nil, tt.in, tt.key, nil)
			if !errors.Is(err, tt.want) || out != nil {
				t.Errorf("AppendRefreshV3 = %q, %v; want nil, %v", out, err, tt.want)
			}
		})
	}
}

func TestDecodeRefreshErrors(t *testing.T) {
	k := newTestKeys(t)
	valid, err := token.AppendRefreshV3(nil, sampleRefresh(1, 0), k.refresh, detRand(7))
	if err != nil {
		t.Fatal(err)
	}
	s := string(valid)
	bin := mustB64(t, s)
	with := func(i int, v byte) string {
		c := bytes.Clone(bin)
		c[i] = v
		return base64.StdEncoding.EncodeToString(c)
	}
	tests := []struct {
		name string
		in   string
		keys token.KeyFunc
		want error
	}{
		{"empty", "", k.all, token.ErrInvalid},
		{"one byte", "AA==", k.all, token.ErrInvalid},
		{"not base64", s[:50] + "*" + s[51:], k.all, token.ErrInvalid},
		{"b64url", strings.NewReplacer("+", "-", "/", "_").Replace(s), k.all, token.ErrInvalid},
		{"truncated 4", s[:len(s)-4], k.all, token.ErrInvalid},
		{"extended", s[:len(s)-2] + "AAAAAA", k.all, token.ErrInvalid},
		{"unknown version", with(1, 0x71), k.all, token.ErrVersion},
		{"unknown key", s, keyring(k.master), token.ErrUnknownKey},
		{"wrong key", s, keyring(mustKey(t, k.refresh.ID, k.master.Secret)), token.ErrDecrypt},
		{"tampered", with(100, bin[100]^0x80), k.all, token.ErrDecrypt},
		{"scope mismatch", with(0, 0x03), k.all, token.ErrIdentityMismatch},
		{"type mismatch", with(0, 0x17), k.all, token.ErrIdentityMismatch},
		{"type 2 outside", with(0, 0x1b), k.all, token.ErrIdentityMismatch},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := token.DecodeRefresh(tt.in, tt.keys); !errors.Is(err, tt.want) {
				t.Errorf("DecodeRefresh = %v; want %v", err, tt.want)
			}
		})
	}
}

func TestDecodeRefreshV2(t *testing.T) {
	k := newTestKeys(t)
	var flh [32]byte
	copy(flh[:], randBytes(detRand(8), 32))
	s := buildRefreshV2(k.refresh, 1600000000000, 1600086400000, 555, flh[:], 1, 1590000000000)
	got, err := token.DecodeRefresh(s, k.all)
	if err != nil {
		t.Fatalf("DecodeRefresh(V2) = %v", err)
	}
	want := token.Refresh{
		Scope:          identity.ScopeUID2,
		Type:           identity.TypeEmail,
		Expires:        1600086460000, // validTill = expires + 60 s
		Created:        1600000000000,
		OperatorType:   1,
		SiteID:         555,
		PrivacyBits:    1,
		Established:    1590000000000,
		FirstLevelHash: flh,
		Version:        token.VersionV2,
		KeyID:          k.refresh.ID,
	}
	if got != want {
		t.Errorf("DecodeRefresh(V2)\n got %+v\nwant %+v", got, want)
	}

	for _, tt := range []struct {
		name string
		in   string
		keys token.KeyFunc
		want error
	}{
		{"unknown key", s, keyring(k.master), token.ErrUnknownKey},
		{"wrong key", s, keyring(mustKey(t, k.refresh.ID, k.master.Secret)), token.ErrDecrypt},
		{"header only", base64.StdEncoding.EncodeToString(mustB64(t, s)[:29]), k.all, token.ErrDecrypt},
		{"short header", base64.StdEncoding.EncodeToString(mustB64(t, s)[:28]), k.all, token.ErrInvalid},
		{"flh 31 bytes", buildRefreshV2(k.refresh, 1, 2, 3, flh[:31], 1, 1), k.all, token.ErrInvalid},
	} {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := token.DecodeRefresh(tt.in, tt.keys); !errors.Is(err, tt.want) {
				t.Errorf("DecodeRefresh = %v; want %v", err, tt.want)
			}
		})
	}
}
