package token_test

import (
	"encoding/base64"
	"errors"
	"reflect"
	"strings"
	"testing"

	"github.com/uid2-private-operator/uid2-operator/internal/identity"
	"github.com/uid2-private-operator/uid2-operator/internal/token"
)

// addSeeds adds valid tokens, their truncations and one-bit corruptions, and
// strings on both sides of each length boundary (style §9, T3).
func addSeeds(f *testing.F, enc *base64.Encoding, valid ...string) {
	for _, s := range valid {
		f.Add(s)
		for _, n := range []int{0, 1, 3, 4, 5, len(s) / 2, len(s) - 4, len(s) - 1} {
			f.Add(s[:n])
		}
		f.Add(s + "A")
		f.Add(s + "=")
		if b, err := enc.DecodeString(s); err == nil {
			for _, i := range []int{0, 1, 2, 5, 6, 20, len(b) / 2, len(b) - 17, len(b) - 1} {
				for _, bit := range []byte{0x01, 0x80} {
					c := append([]byte(nil), b...)
					c[i] ^= bit
					f.Add(enc.EncodeToString(c))
				}
			}
		}
	}
	for _, n := range []int{0, 1, 2, 3, 4, 5, 8, 167, 168, 169, 217, 218, 219, 220, 387, 388, 389} {
		f.Add(strings.Repeat("A", n))
		f.Add("AgAA" + strings.Repeat("A", max(n-4, 0)))
		f.Add("AIAA" + strings.Repeat("_", max(n-4, 0)))
	}
}

func FuzzDecodeAdvertising(f *testing.F) {
	k := newTestKeys(f)
	var valid []string
	for _, kd := range kinds {
		valid = append(valid,
			mustAppendAdvertising(f, k, sampleAdvertising(kd.scope, kd.typ, 32)),
			mustAppendAdvertising(f, k, sampleAdvertising(kd.scope, kd.typ, 33)))
	}
	addSeeds(f, base64.RawURLEncoding, valid...)
	addSeeds(f, base64.StdEncoding, k6Token, buildAdvertisingV2(k.master, k.site, 1, 2, make([]byte, 32), 1, 3))

	f.Fuzz(func(t *testing.T, s string) {
		got, err := token.DecodeAdvertising(s, k.all)
		if err != nil {
			if !reflect.DeepEqual(got, token.Advertising{}) {
				t.Fatalf("DecodeAdvertising returned %+v with error %v", got, err)
			}
			return
		}
		// Round trip: what decodes re-encodes as V4 and decodes the same.
		master, _ := k.all(got.MasterKeyID)
		site, _ := k.all(got.SiteKeyID)
		out, err := token.AppendAdvertisingV4(nil, &got, master, site, detRand(1))
		if err != nil {
			if errors.Is(err, token.ErrIdentityMismatch) && got.Version == token.VersionV2 {
				return // V2 UIDs are not checked against a scope
			}
			t.Fatalf("AppendAdvertisingV4(decoded) = %v", err)
		}
		again, err := token.DecodeAdvertising(string(out), k.all)
		if err != nil {
			t.Fatalf("DecodeAdvertising(re-encoded) = %v", err)
		}
		got.Version = token.VersionV4
		if !reflect.DeepEqual(again, got) {
			t.Fatalf("round trip\n got %+v\nwant %+v", again, got)
		}
	})
}

func FuzzDecodeRefresh(f *testing.F) {
	k := newTestKeys(f)
	var valid []string
	for _, kd := range kinds {
		b, err := token.AppendRefreshV3(nil, sampleRefresh(kd.scope, kd.typ), k.refresh, detRand(3))
		if err != nil {
			f.Fatal(err)
		}
		valid = append(valid, string(b))
	}
	valid = append(valid, buildRefreshV2(k.refresh, 1, 2, 3, make([]byte, 32), 1, 4))
	addSeeds(f, base64.StdEncoding, valid...)

	f.Fuzz(func(t *testing.T, s string) {
		got, err := token.DecodeRefresh(s, k.all)
		if err != nil {
			if got != (token.Refresh{}) {
				t.Fatalf("DecodeRefresh returned %+v with error %v", got, err)
			}
			return
		}
		key, _ := k.all(got.KeyID)
		out, err := token.AppendRefreshV3(nil, &got, key, detRand(1))
		if err != nil {
			t.Fatalf("AppendRefreshV3(decoded) = %v", err)
		}
		again, err := token.DecodeRefresh(string(out), k.all)
		if err != nil {
			t.Fatalf("DecodeRefresh(re-encoded) = %v", err)
		}
		got.Version = token.VersionV3
		if again != got {
			t.Fatalf("round trip\n got %+v\nwant %+v", again, got)
		}
	})
}

func FuzzUnwrapRefresh(f *testing.F) {
	k := newTestKeys(f)
	inner, err := token.AppendRefreshV3(nil, sampleRefresh(0, 0), k.refresh, detRand(3))
	if err != nil {
		f.Fatal(err)
	}
	var rrk [32]byte
	var valid []string
	for _, scope := range []uint8{0, 1} {
		w, err := token.WrapRefresh(nil, inner, &rrk, identity.Scope(scope), k.refresh, detRand(4))
		if err != nil {
			f.Fatal(err)
		}
		valid = append(valid, string(w))
	}
	addSeeds(f, base64.StdEncoding, valid...)
	addSeeds(f, base64.StdEncoding, k4RefreshToken, k5RefreshToken)

	f.Fuzz(func(t *testing.T, s string) {
		got, key, err := token.UnwrapRefresh(s, k.all)
		if err != nil {
			if got != "" || key != nil {
				t.Fatalf("UnwrapRefresh returned %q, %x with error %v", got, key, err)
			}
			if token.WrapperMessage(err) == "" {
				t.Fatalf("WrapperMessage(%v) is empty", err)
			}
			return
		}
		if n := len(key); n != 16 && n != 24 && n != 32 {
			t.Fatalf("UnwrapRefresh returned a %d-byte response key", n)
		}
	})
}
