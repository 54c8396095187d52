package token_test

import (
	"bytes"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"strings"
	"testing"
	"testing/iotest"

	"github.com/uid2-private-operator/uid2-operator/internal/identity"
	"github.com/uid2-private-operator/uid2-operator/internal/token"
)

// kinds lists every scope/type with the V4 text prefix §4.2 gives for it.
var kinds = []struct {
	scope, typ     uint8
	prefixV4, pfV3 string
}{
	{0, 0, "A4", "A3"}, // UID2 email
	{0, 1, "B4", "B3"}, // UID2 phone
	{1, 0, "E4", "E3"}, // EUID email
	{1, 1, "F4", "F3"}, // EUID phone
}

func TestAdvertisingV4RoundTrip(t *testing.T) {
	k := newTestKeys(t)
	for _, kd := range kinds {
		for _, uidLen := range []int{32, 33} {
			in := sampleAdvertising(kd.scope, kd.typ, uidLen)
			name := in.Scope.String() + "/" + in.Type.String() + "/" + map[int]string{32: "uid32", 33: "uid33"}[uidLen]
			t.Run(name, func(t *testing.T) {
				prefix := []byte("prefix:")
				out, err := token.AppendAdvertisingV4(prefix, in, k.master, k.site, detRand(2))
				if err != nil {
					t.Fatalf("AppendAdvertisingV4 = %v", err)
				}
				if !bytes.HasPrefix(out, []byte("prefix:")) {
					t.Fatalf("AppendAdvertisingV4 dropped dst: %q", out[:10])
				}
				s := string(out[len("prefix:"):])
				wantLen := map[int]int{32: 218, 33: 219}[uidLen]
				if len(s) != wantLen || s[:2] != kd.prefixV4 {
					t.Errorf("token: len %d prefix %q; want %d %q", len(s), s[:2], wantLen, kd.prefixV4)
				}
				if strings.ContainsAny(s, "+/=") {
					t.Errorf("V4 token %q is not b64url without padding", s)
				}

				got, err := token.DecodeAdvertising(s, k.all)
				if err != nil {
					t.Fatalf("DecodeAdvertising = %v", err)
				}
				want := *in
				want.Version = token.VersionV4
				want.MasterKeyID, want.SiteKeyID = k.master.ID, k.site.ID
				if uidLen == 32 {
					// The operator reads scope/type from the raw UID; a 32-byte
					// UID is UID2/Email whatever the header says (§3.4).
					want.Scope, want.Type = identity.ScopeUID2, identity.TypeEmail
				}
				assertAdvertising(t, got, want)

				// The same bytes with version 112 in std b64 are a V3 token.
				bin, _ := base64.RawURLEncoding.DecodeString(s)
				bin[1] = token.VersionV3
				v3 := base64.StdEncoding.EncodeToString(bin)
				if v3[:2] != kd.pfV3 {
					t.Errorf("V3 prefix %q; want %q", v3[:2], kd.pfV3)
				}
				got, err = token.DecodeAdvertising(v3, k.all)
				if err != nil {
					t.Fatalf("DecodeAdvertising(V3) = %v", err)
				}
				want.Version = token.VersionV3
				assertAdvertising(t, got, want)
			})
		}
	}
}

// TestAdvertisingV4Deterministic: the output depends only on the inputs and
// the randomness source, and a Key literal gives the same bytes as NewKey.
func TestAdvertisingV4Deterministic(t *testing.T) {
	k := newTestKeys(t)
	in := sampleAdvertising(0, 0, 33)
	a, err := token.AppendAdvertisingV4(nil, in, k.master, k.site, detRand(5))
	if err != nil {
		t.Fatal(err)
	}
	lit := func(k token.Key) token.Key { return token.Key{ID: k.ID, Secret: k.Secret} }
	b, err := token.AppendAdvertisingV4(make([]byte, 0, 1024), in, lit(k.master), lit(k.site), detRand(5))
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(a, b) {
		t.Errorf("tokens differ:\n%s\n%s", a, b)
	}
}

func TestAppendAdvertisingV4Errors(t *testing.T) {
	k := newTestKeys(t)
	mismatch := sampleAdvertising(0, 0, 33)
	mismatch.RawUID[0] = 0x14 // EUID phone UID in a UID2 email token
	short := sampleAdvertising(0, 0, 32)
	short.RawUID = short.RawUID[:31]
	badScope := sampleAdvertising(0, 0, 32)
	badScope.Scope = 2
	badType := sampleAdvertising(0, 0, 32)
	badType.Type = 2
	tests := []struct {
		name         string
		in           *token.Advertising
		master, site token.Key
		rand         io.Reader // nil: crypto/rand
		want         error
	}{
		{"uid 31 bytes", short, k.master, k.site, nil, token.ErrInvalid},
		{"scope 2", badScope, k.master, k.site, nil, token.ErrInvalid},
		{"type 2", badType, k.master, k.site, nil, token.ErrInvalid},
		{"uid byte0 disagrees", mismatch, k.master, k.site, nil, token.ErrIdentityMismatch},
		{"master key 15 bytes", sampleAdvertising(0, 0, 32), token.Key{ID: 1, Secret: make([]byte, 15)}, k.site, nil, token.ErrKeySize},
		{"site key empty", sampleAdvertising(0, 0, 32), k.master, token.Key{ID: 2}, nil, token.ErrKeySize},
		{"rand fails", sampleAdvertising(0, 0, 32), k.master, k.site, iotest.ErrReader(errRand), errRand},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dst := []byte("keep")
			out, err := token.AppendAdvertisingV4(dst, tt.in, tt.master, tt.site, tt.rand)
			if !errors.Is(err, tt.want) {
				t.Errorf("AppendAdvertisingV4 = %v; want %v", err, tt.want)
			}
			if string(out) != "keep" {
				t.Errorf("AppendAdvertisingV4 on error returned %q; want dst unchanged", out)
			}
		})
	}
}

// errRand is what a failing randomness source returns.
var errRand = errors.New("rand: exhausted")

func TestDecodeAdvertisingErrors(t *testing.T) {
	k := newTestKeys(t)
	valid32 := mustAppendAdvertising(t, k, sampleAdvertising(0, 0, 32))
	valid33 := mustAppendAdvertising(t, k, sampleAdvertising(1, 1, 33))
	bin := func(s string) []byte {
		b, err := base64.RawURLEncoding.DecodeString(s)
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	url := base64.RawURLEncoding.EncodeToString

	// A header byte that disagrees with the 33-byte UID (the header is not
	// authenticated, so this still decrypts).
	hdrSwap := bin(valid33)
	hdrSwap[0] = 0x03 // UID2 email header on an EUID phone UID
	hdrType := bin(valid33)
	hdrType[0] = 0x13 // EUID email header on an EUID phone UID
	badVersion := bin(valid32)
	badVersion[1] = 0x81

	// Standard base64 of a V4 token is rejected once it uses '+' or '/'.
	var stdV4 string
	for seed := byte(0); stdV4 == ""; seed++ {
		s, err := token.AppendAdvertisingV4(nil, sampleAdvertising(0, 0, 32), k.master, k.site, detRand(seed))
		if err != nil {
			t.Fatal(err)
		}
		std := base64.StdEncoding.EncodeToString(bin(string(s)))
		if strings.ContainsAny(std[4:], "+/") && !strings.ContainsAny(std[:4], "-_") {
			stdV4 = std
		}
	}

	wrongMaster := keyring(mustKey(t, k.master.ID, k.other.Secret), k.site)
	wrongSite := keyring(k.master, mustKey(t, k.site.ID, k.other.Secret))

	tests := []struct {
		name string
		in   string
		keys token.KeyFunc
		want error
	}{
		{"empty", "", k.all, token.ErrInvalid},
		{"3 chars", valid32[:3], k.all, token.ErrInvalid},
		{"4 chars", valid32[:4], k.all, token.ErrInvalid},
		{"truncated by 1", valid32[:len(valid32)-1], k.all, token.ErrInvalid},
		{"truncated by 4", valid32[:len(valid32)-4], k.all, token.ErrInvalid},
		{"extended", valid32 + "AAAA", k.all, token.ErrInvalid},
		{"header padding", "AA==" + valid32[4:], k.all, token.ErrInvalid},
		{"bad char", valid32[:100] + "!" + valid32[101:], k.all, token.ErrInvalid},
		{"line break", valid32[:100] + "\n" + valid32[100:], k.all, token.ErrInvalid},
		{"std b64 V4", stdV4, k.all, token.ErrInvalid},
		{"unknown version", url(badVersion), k.all, token.ErrVersion},
		{"unknown master key", valid32, keyring(k.site), token.ErrUnknownKey},
		{"unknown site key", valid32, keyring(k.master), token.ErrUnknownKey},
		{"nil KeyFunc", valid32, nil, token.ErrUnknownKey},
		{"wrong master key", valid32, wrongMaster, token.ErrDecrypt},
		{"wrong site key", valid32, wrongSite, token.ErrDecrypt},
		{"scope mismatch", url(hdrSwap), k.all, token.ErrIdentityMismatch},
		{"type mismatch", url(hdrType), k.all, token.ErrIdentityMismatch},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := token.DecodeAdvertising(tt.in, tt.keys)
			if !errors.Is(err, tt.want) {
				t.Errorf("DecodeAdvertising(%.12q…) = %v; want %v", tt.in, err, tt.want)
			}
			if got.RawUID != nil {
				t.Errorf("DecodeAdvertising returned a raw UID with error %v", err)
			}
		})
	}
}

// TestDecodeAdvertisingBitFlips: one flipped bit anywhere in the encrypted
// part of a V4 token fails authentication.
func TestDecodeAdvertisingBitFlips(t *testing.T) {
	k := newTestKeys(t)
	b, _ := base64.RawURLEncoding.DecodeString(mustAppendAdvertising(t, k, sampleAdvertising(0, 1, 33)))
	for i := 6; i < len(b); i++ {
		for bit := range 8 {
			c := bytes.Clone(b)
			c[i] ^= 1 << bit
			_, err := token.DecodeAdvertising(base64.RawURLEncoding.EncodeToString(c), k.all)
			if !errors.Is(err, token.ErrDecrypt) {
				t.Fatalf("flip byte %d bit %d: err = %v; want ErrDecrypt", i, bit, err)
			}
		}
	}
}

// TestDecodeAdvertisingPaddedURL: like Java's decoder, padding is optional.
func TestDecodeAdvertisingPaddedURL(t *testing.T) {
	k := newTestKeys(t)
	s := mustAppendAdvertising(t, k, sampleAdvertising(0, 0, 32))
	if _, err := token.DecodeAdvertising(s+"==", k.all); err != nil {
		t.Errorf("DecodeAdvertising(padded b64url) = %v; want success", err)
	}
	if _, err := token.DecodeAdvertising(s+"=", k.all); !errors.Is(err, token.ErrInvalid) {
		t.Errorf("DecodeAdvertising(half-padded b64url) = %v; want ErrInvalid", err)
	}
}

func TestDecodeAdvertisingV2(t *testing.T) {
	k := newTestKeys(t)
	uid := randBytes(detRand(3), 32)
	s := buildAdvertisingV2(k.master, k.site, 1700003600000, 4321, uid, 1, 1690000000000)
	if s[:2] != "Ag" {
		t.Fatalf("V2 token prefix %q; want Ag", s[:2])
	}
	got, err := token.DecodeAdvertising(s, k.all)
	if err != nil {
		t.Fatalf("DecodeAdvertising(V2) = %v", err)
	}
	assertAdvertising(t, got, token.Advertising{
		Scope:        identity.ScopeUID2,
		Type:         identity.TypeEmail,
		Version:      token.VersionV2,
		Expires:      1700003600000,
		Created:      1690000000000, // = established, as the operator reports it
		OperatorType: 1,
		MasterKeyID:  k.master.ID,
		SiteKeyID:    k.site.ID,
		SiteID:       4321,
		PrivacyBits:  1,
		Established:  1690000000000,
		RawUID:       uid,
	})

	for _, tt := range []struct {
		name string
		in   string
		keys token.KeyFunc
		want error
	}{
		{"unknown master", s, keyring(k.site), token.ErrUnknownKey},
		{"unknown site", s, keyring(k.master), token.ErrUnknownKey},
		{"wrong master", s, keyring(mustKey(t, k.master.ID, k.other.Secret), k.site), token.ErrDecrypt},
		{"truncated", s[:len(s)-8], k.all, token.ErrDecrypt},
		{"uid 20 bytes", buildAdvertisingV2(k.master, k.site, 1, 1, uid[:20], 1, 1), k.all, token.ErrInvalid},
		{"b64url", strings.NewReplacer("+", "-", "/", "_").Replace(s), k.all, token.ErrInvalid},
	} {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := token.DecodeAdvertising(tt.in, tt.keys); !errors.Is(err, tt.want) {
				t.Errorf("DecodeAdvertising = %v; want %v", err, tt.want)
			}
		})
	}
}

func TestKeyRedaction(t *testing.T) {
	k := mustKey(t, 42, bytes.Repeat([]byte{0xAB}, 32))
	for _, verb := range []string{"%v", "%+v", "%#v", "%s", "%x"} {
		got := fmt.Sprintf(verb, k)
		if strings.Contains(got, "171") || strings.Contains(strings.ToLower(got), "abab") {
			t.Errorf("fmt %s leaks the secret: %q", verb, got)
		}
		if !strings.Contains(got, "42") || !strings.Contains(got, "[redacted]") {
			t.Errorf("fmt %s = %q; want id and [redacted]", verb, got)
		}
	}
	if got := k.LogValue().String(); strings.Contains(got, "171") || !strings.Contains(got, "[redacted]") {
		t.Errorf("LogValue = %q; want the secret redacted", got)
	}
	if _, err := token.NewKey(1, make([]byte, 20)); !errors.Is(err, token.ErrKeySize) {
		t.Errorf("NewKey(20 bytes) = %v; want ErrKeySize", err)
	}
}

func mustAppendAdvertising(t testing.TB, k testKeys, a *token.Advertising) string {
	t.Helper()
	b, err := token.AppendAdvertisingV4(nil, a, k.master, k.site, detRand(4))
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// TestSharedKeysConcurrent: keys from NewKey are shared between goroutines
// (run with -race).
func TestSharedKeysConcurrent(t *testing.T) {
	k := newTestKeys(t)
	in := sampleAdvertising(1, 0, 33)
	done := make(chan error)
	for range 8 {
		go func() {
			var err error
			buf := make([]byte, 0, 512)
			for range 50 {
				var out []byte
				if out, err = token.AppendAdvertisingV4(buf[:0], in, k.master, k.site, nil); err != nil {
					break
				}
				if _, err = token.DecodeAdvertising(string(out), k.all); err != nil {
					break
				}
			}
			done <- err
		}()
	}
	for range 8 {
		if err := <-done; err != nil {
			t.Error(err)
		}
	}
}
