package identity_test

import (
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"testing"

	"github.com/uid2-private-operator/uid2-operator/internal/identity"
)

func mustHash(t testing.TB, kind identity.InputKind, s string) identity.Hash {
	t.Helper()
	h, ok := identity.Parse(kind, s)
	if !ok {
		t.Fatalf("Parse(%s, %q) invalid", kind, s)
	}
	return h
}

func mustB64(t testing.TB, s string) []byte {
	t.Helper()
	b, err := base64.StdEncoding.DecodeString(s)
	if err != nil {
		t.Fatalf("bad base64 %q in test table: %v", s, err)
	}
	return b
}

func rawB64(u identity.RawUID) string { return string(u.AppendBase64(nil)) }

// K-8: raw UIDs the SDK tests use, reproduced from the CORE fixtures
// (first-level salt "test_first_level_salt", 8 buckets so index = h mod 8).
// K-10: the OPR local-operator fixtures (5 buckets).
func TestRawUIDv2v3KnownAnswers(t *testing.T) {
	tests := []struct {
		name       string
		kind       identity.InputKind
		in         string
		firstLevel string
		flh        string
		buckets    int
		index      int
		salt       string
		v2         string
		v3         map[identity.Scope]string
	}{
		{
			name: "K-8 test@example.com", kind: identity.KindEmail, in: "test@example.com",
			firstLevel: "test_first_level_salt",
			flh:        "365zRZfpJvY5BIIhjQ09Xx0uX9cjja9D/xuim90MeRs=",
			buckets:    8, index: 3,
			salt: "wAL6U+lu9gcMhSEySzWG9RQyoo446zAyGWKTW8VVoVw=",
			v2:   "oKg0ZY9ieD/CGMEjAA0kcq+8aUbLMBG0MgCT3kWUnJs=",
			v3: map[identity.Scope]string{
				identity.ScopeUID2: "AKCoNGWPYng/whjBIwANJHKvvGlGyzARtDIAk95FlJyb",
				identity.ScopeEUID: "EKCoNGWPYng/whjBIwANJHKvvGlGyzARtDIAk95FlJyb",
			},
		},
		{
			name: "K-8 +12345678901", kind: identity.KindPhone, in: "+12345678901",
			firstLevel: "test_first_level_salt",
			flh:        "VMP04EQbYhXPOGcjeZVJEb+Q3w3f2VTn0Mo0cc8fyYQ=",
			buckets:    8, index: 4,
			salt: "eP9ZvW4igLQZ4QfzlyiXgKYFDZgmGOefaKDLEL0zuwE=",
			v2:   "Q4bGug8t1xjsutKLCNjnb5fTlXSvIQukmahYDJeLBtk=",
			v3: map[identity.Scope]string{
				identity.ScopeUID2: "BEOGxroPLdcY7LrSiwjY52+X05V0ryELpJmoWAyXiwbZ",
			},
		},
		{
			name: "K-10 test@example.com current", kind: identity.KindEmail, in: "test@example.com",
			firstLevel: "fOGY/aRE44peL23i+cE9MkJrzmEeNZZziNZBfq7qqk8=",
			flh:        "RNzyiMMy106hy8MpBOsHBe+ZZkQR8IbUAG/IC2OrNr4=",
			buckets:    5, index: 0,
			salt: "vgv1BwiNRCW7F3VcNXHlZh+7oHJ4G4gCshbGcVOLnss=",
			v2:   "yCevINTMQ+BMfihNbXjrDLbm/FF+JvBan5YqmToByik=",
			v3: map[identity.Scope]string{
				identity.ScopeUID2: "AMgnryDUzEPgTH4oTW146wy25vxRfibwWp+WKpk6Acop",
			},
		},
		{
			name: "K-10 test@example.com previous", kind: identity.KindEmail, in: "test@example.com",
			firstLevel: "fOGY/aRE44peL23i+cE9MkJrzmEeNZZziNZBfq7qqk8=",
			flh:        "RNzyiMMy106hy8MpBOsHBe+ZZkQR8IbUAG/IC2OrNr4=",
			buckets:    5, index: 0,
			salt: "vgv1BwiNRCW7F3VcNXHlZh+7oHJ4G4gCshbGcVOLnsS=",
			v2:   "FMANUZGpDBWBumQek13r1nlngsF6+d1HDbagl9TLn50=",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := mustHash(t, tt.kind, tt.in)
			flh := identity.FirstLevelHash(h, tt.firstLevel)
			if got := b64(flh[:]); got != tt.flh {
				t.Fatalf("FirstLevelHash(%s, %q) = %s; want %s", hashB64(h), tt.firstLevel, got, tt.flh)
			}
			if got := identity.BucketIndex(&flh, tt.buckets); got != tt.index {
				t.Errorf("BucketIndex(%s, %d) = %d; want %d", tt.flh, tt.buckets, got, tt.index)
			}
			if got := rawB64(identity.RawUIDv2(&flh, tt.salt)); got != tt.v2 {
				t.Errorf("RawUIDv2(%s, %q) = %s; want %s", tt.flh, tt.salt, got, tt.v2)
			}
			for scope, want := range tt.v3 {
				u := identity.RawUIDv3(&flh, tt.salt, scope, tt.kind.Type())
				if got := rawB64(u); got != want {
					t.Errorf("RawUIDv3(%s, %q, %v, %v) = %s; want %s", tt.flh, tt.salt, scope, tt.kind.Type(), got, want)
				}
				if s, typ := identity.ScopeTypeOf(u.Bytes()); s != scope || typ != tt.kind.Type() {
					t.Errorf("ScopeTypeOf(%s) = %v, %v; want %v, %v", want, s, typ, scope, tt.kind.Type())
				}
			}
		})
	}
}

// K-10: h values of the OPR fixture FLHs, which a full 1,048,576-bucket table
// uses directly.
func TestBucketIndex(t *testing.T) {
	tests := []struct {
		flh  string
		h    int
		mod5 int
	}{
		{"RNzyiMMy106hy8MpBOsHBe+ZZkQR8IbUAG/IC2OrNr4=", 282050, 0},
		{"urve3oGxLtO2WGhlQFKMzqhXOdYqSB53Rrgqpp9CFjY=", 764862, 2},
	}
	for _, tt := range tests {
		var flh [32]byte
		copy(flh[:], mustB64(t, tt.flh))
		if got := identity.BucketIndex(&flh, identity.DirectIndexBuckets); got != tt.h {
			t.Errorf("BucketIndex(%s, 1<<20) = %d; want %d", tt.flh, got, tt.h)
		}
		if got := identity.BucketIndex(&flh, 5); got != tt.mod5 {
			t.Errorf("BucketIndex(%s, 5) = %d; want %d", tt.flh, got, tt.mod5)
		}
	}

	// The low nibble of byte 2, not the high one (§3.3); and a table one
	// bucket off the magic size uses mod.
	flh := [32]byte{0xAB, 0xCD, 0xEF}
	if got, want := identity.BucketIndex(&flh, 1<<20), 0xABCDF; got != want {
		t.Errorf("BucketIndex(AB CD EF…, 1<<20) = %#x; want %#x", got, want)
	}
	if got, want := identity.BucketIndex(&flh, 1<<20-1), 0xABCDF%(1<<20-1); got != want {
		t.Errorf("BucketIndex(AB CD EF…, 1<<20-1) = %d; want %d", got, want)
	}
	flh = [32]byte{0xFF, 0xFF, 0xFF}
	if got, want := identity.BucketIndex(&flh, 1<<20), 1<<20-1; got != want {
		t.Errorf("BucketIndex(FF FF FF…, 1<<20) = %d; want %d", got, want)
	}
}

// K-9 (OPT V4TokenUtilsTest: the FLH of test@example.com computed with the key
// salt as first-level salt) and K-10 (OPR phone fixture, current and previous
// key material of line 1000002).
func TestRawUIDv4KnownAnswers(t *testing.T) {
	tests := []struct {
		name       string
		kind       identity.InputKind
		in         string
		firstLevel string
		flh        string
		keyID      int32
		key, salt  string
		scope      identity.Scope
		env        identity.Environment
		want       string
	}{
		{
			name: "K-9", kind: identity.KindEmail, in: "test@example.com",
			firstLevel: "salt1234salt1234salt1234salt1234",
			flh:        "fRdq9nN35EI0ljuka8NSeoXR7H7X4uIw80SYLEtEsGA=",
			keyID:      1000000, key: "key12345key12345key12345key12345", salt: "salt1234salt1234salt1234salt1234",
			scope: identity.ScopeUID2, env: identity.EnvTest,
			want: "IA9CQGO0P7Jo0WZGn+u4GJGWm6kt+ZS7FFBvC+sNzMg2",
		},
		{
			name: "K-10 phone current", kind: identity.KindPhone, in: "+12345678901",
			firstLevel: "fOGY/aRE44peL23i+cE9MkJrzmEeNZZziNZBfq7qqk8=",
			flh:        "urve3oGxLtO2WGhlQFKMzqhXOdYqSB53Rrgqpp9CFjY=",
			keyID:      2100002, key: "key12345key12345key12345key12340", salt: "salt1234salt1234salt1234salt1230",
			scope: identity.ScopeUID2, env: identity.EnvTest,
			want: "JCALIn2jvn98OvQPhijCPNLUHrq2SB09ftuzecdG7Vv7",
		},
		{
			name: "K-10 phone previous", kind: identity.KindPhone, in: "+12345678901",
			firstLevel: "fOGY/aRE44peL23i+cE9MkJrzmEeNZZziNZBfq7qqk8=",
			flh:        "urve3oGxLtO2WGhlQFKMzqhXOdYqSB53Rrgqpp9CFjY=",
			keyID:      2000002, key: "key12345key12345key12345key12345", salt: "salt1234salt1234salt1234salt1234",
			scope: identity.ScopeUID2, env: identity.EnvTest,
			want: "JB6EgkYDFpSB0mPL1P1irkxnHvGn0qi0ENrDEt7r6o8D",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := mustHash(t, tt.kind, tt.in)
			flh := identity.FirstLevelHash(h, tt.firstLevel)
			if got := b64(flh[:]); got != tt.flh {
				t.Fatalf("FirstLevelHash(%s, %q) = %s; want %s", hashB64(h), tt.firstLevel, got, tt.flh)
			}
			typ := tt.kind.Type()
			u, err := identity.RawUIDv4(&flh, tt.keyID, tt.key, tt.salt, tt.scope, typ, tt.env)
			if err != nil {
				t.Fatalf("RawUIDv4: %v", err)
			}
			if got := rawB64(u); got != tt.want {
				t.Errorf("RawUIDv4(%s, %d, …) = %s; want %s", tt.flh, tt.keyID, got, tt.want)
			}
			k, err := identity.NewV4Key(tt.keyID, tt.key, tt.salt)
			if err != nil {
				t.Fatalf("NewV4Key: %v", err)
			}
			if got := k.RawUID(&flh, tt.scope, typ, tt.env); got != u {
				t.Errorf("V4Key.RawUID = %s; RawUIDv4 = %s", rawB64(got), rawB64(u))
			}
			if s, gotTyp := identity.ScopeTypeOf(u.Bytes()); s != tt.scope || gotTyp != typ {
				t.Errorf("ScopeTypeOf(%s) = %v, %v; want %v, %v", tt.want, s, gotTyp, tt.scope, typ)
			}
		})
	}
}

// TestRawUIDv4Metadata checks byte 0 against OPT TokenUtilsTest.java
// v4Metadata and the base64 first character listed in §3.4 (K-9).
func TestRawUIDv4Metadata(t *testing.T) {
	tests := []struct {
		scope identity.Scope
		typ   identity.Type
		env   identity.Environment
		meta  byte
		first byte
	}{
		{identity.ScopeUID2, identity.TypeEmail, identity.EnvTest, 0b00100000, 'I'},
		{identity.ScopeUID2, identity.TypePhone, identity.EnvTest, 0b00100100, 'J'},
		{identity.ScopeEUID, identity.TypeEmail, identity.EnvTest, 0b00110000, 'M'},
		{identity.ScopeEUID, identity.TypePhone, identity.EnvTest, 0b00110100, 'N'},
		{identity.ScopeUID2, identity.TypeEmail, identity.EnvInteg, 0b01100000, 'Y'},
		{identity.ScopeUID2, identity.TypePhone, identity.EnvInteg, 0b01100100, 'Z'},
		{identity.ScopeEUID, identity.TypeEmail, identity.EnvInteg, 0b01110000, 'c'},
		{identity.ScopeEUID, identity.TypePhone, identity.EnvInteg, 0b01110100, 'd'},
		{identity.ScopeUID2, identity.TypeEmail, identity.EnvProd, 0b10100000, 'o'},
		{identity.ScopeUID2, identity.TypePhone, identity.EnvProd, 0b10100100, 'p'},
		{identity.ScopeEUID, identity.TypeEmail, identity.EnvProd, 0b10110000, 's'},
		{identity.ScopeEUID, identity.TypePhone, identity.EnvProd, 0b10110100, 't'},
	}
	k, err := identity.NewV4Key(1000000, "key12345key12345key12345key12345", "salt1234salt1234salt1234salt1234")
	if err != nil {
		t.Fatal(err)
	}
	var flh [32]byte
	for _, tt := range tests {
		u := k.RawUID(&flh, tt.scope, tt.typ, tt.env)
		b := u.Bytes()
		if len(b) != 33 || b[0] != tt.meta || rawB64(u)[0] != tt.first {
			t.Errorf("RawUID(%v, %v, %v): byte0 %#08b, b64 %q; want %#08b, %q", tt.scope, tt.typ, tt.env, b[0], rawB64(u)[:1], tt.meta, tt.first)
		}
		var x byte
		for _, c := range b[:32] {
			x ^= c
		}
		if b[32] != x {
			t.Errorf("RawUID(%v, %v, %v): checksum %#x; want %#x", tt.scope, tt.typ, tt.env, b[32], x)
		}
		if s, typ := identity.ScopeTypeOf(b); s != tt.scope || typ != tt.typ {
			t.Errorf("ScopeTypeOf(meta %#x) = %v, %v; want %v, %v", tt.meta, s, typ, tt.scope, tt.typ)
		}
	}
}

func TestRawUIDv4KeySize(t *testing.T) {
	var flh [32]byte
	for _, key := range []string{"", "short", "key12345key12345key12345key1234", "key12345key12345key12345key123456"} {
		if _, err := identity.RawUIDv4(&flh, 1, key, "salt", identity.ScopeUID2, identity.TypeEmail, identity.EnvTest); !errors.Is(err, identity.ErrV4KeySize) {
			t.Errorf("RawUIDv4 with a %d-byte key: err = %v; want ErrV4KeySize", len(key), err)
		}
	}
	// AES-128 and AES-192 keys are accepted (OPT uses 16-byte keys, K-15).
	for _, key := range []string{"0123456789abcdef", "0123456789abcdef01234567"} {
		if _, err := identity.RawUIDv4(&flh, 1, key, "salt", identity.ScopeUID2, identity.TypeEmail, identity.EnvTest); err != nil {
			t.Errorf("RawUIDv4 with a %d-byte key: %v", len(key), err)
		}
	}
}

func TestRawUIDv4KeyIDLow24Bits(t *testing.T) {
	var flh [32]byte
	k, err := identity.NewV4Key(0x7F123456, "key12345key12345key12345key12345", "s")
	if err != nil {
		t.Fatal(err)
	}
	b := k.RawUID(&flh, identity.ScopeUID2, identity.TypeEmail, identity.EnvTest)
	if got := b.Bytes()[1:4]; got[0] != 0x12 || got[1] != 0x34 || got[2] != 0x56 {
		t.Errorf("key id bytes = % x; want 12 34 56", got)
	}
	if k.ID() != 0x7F123456 {
		t.Errorf("ID() = %#x; want 0x7f123456", k.ID())
	}
	if got := k.LogValue().String(); got != "[redacted]" {
		t.Errorf("LogValue() = %q; want [redacted]", got)
	}
}

func TestScopeTypeOf(t *testing.T) {
	tests := []struct {
		raw   string
		scope identity.Scope
		typ   identity.Type
	}{
		{"oKg0ZY9ieD/CGMEjAA0kcq+8aUbLMBG0MgCT3kWUnJs=", identity.ScopeUID2, identity.TypeEmail}, // v2: 32 bytes
		{"Q4bGug8t1xjsutKLCNjnb5fTlXSvIQukmahYDJeLBtk=", identity.ScopeUID2, identity.TypeEmail}, // v2 phone still reads as email
		{"AKCoNGWPYng/whjBIwANJHKvvGlGyzARtDIAk95FlJyb", identity.ScopeUID2, identity.TypeEmail},
		{"EKCoNGWPYng/whjBIwANJHKvvGlGyzARtDIAk95FlJyb", identity.ScopeEUID, identity.TypeEmail},
		{"BEOGxroPLdcY7LrSiwjY52+X05V0ryELpJmoWAyXiwbZ", identity.ScopeUID2, identity.TypePhone},
		{"BFOsW2SkK0egqbfyiALtpti5G/cG+PcEvjkoHl56rEV8", identity.ScopeUID2, identity.TypePhone}, // K-8 format-only
		{"IA9CQGO0P7Jo0WZGn+u4GJGWm6kt+ZS7FFBvC+sNzMg2", identity.ScopeUID2, identity.TypeEmail},
	}
	for _, tt := range tests {
		if s, typ := identity.ScopeTypeOf(mustB64(t, tt.raw)); s != tt.scope || typ != tt.typ {
			t.Errorf("ScopeTypeOf(%s) = %v, %v; want %v, %v", tt.raw, s, typ, tt.scope, tt.typ)
		}
	}
	if s, typ := identity.ScopeTypeOf(nil); s != identity.ScopeUID2 || typ != identity.TypeEmail {
		t.Errorf("ScopeTypeOf(nil) = %v, %v; want uid2, email", s, typ)
	}
}

// TestFirstLevelHash33 pins the §2.14.3 quirk end to end: a 33-byte hash is
// hashed as its 44-character unpadded base64 text (§3.2).
func TestFirstLevelHash33(t *testing.T) {
	const in = "DH5qQFhi5ALrdqcPiib8cy0Hwykx6frpqxWCkR0uijsA"
	h := mustHash(t, identity.KindEmailHash, in)
	if got, want := identity.FirstLevelHash(h, "salt"), sha256.Sum256([]byte(in+"salt")); got != want {
		t.Errorf("FirstLevelHash(33-byte %s) = %x; want SHA-256(text||salt) %x", in, got, want)
	}
}

func TestRawUIDZero(t *testing.T) {
	var u identity.RawUID
	if u.Len() != 0 || len(u.Bytes()) != 0 || string(u.AppendBase64(nil)) != "" {
		t.Errorf("zero RawUID: Len %d, Bytes %x, b64 %q; want empty", u.Len(), u.Bytes(), u.AppendBase64(nil))
	}
	var h identity.Hash
	if h.Len() != 0 || len(h.Bytes()) != 0 {
		t.Errorf("zero Hash: Len %d; want 0", h.Len())
	}
}
