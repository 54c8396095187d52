package identity_test

import (
	"testing"

	"github.com/uid2-private-operator/uid2-operator/internal/identity"
)

const (
	benchFirstLevel = "fOGY/aRE44peL23i+cE9MkJrzmEeNZZziNZBfq7qqk8="
	benchSalt       = "vgv1BwiNRCW7F3VcNXHlZh+7oHJ4G4gCshbGcVOLnss="
)

var (
	benchFLH [32]byte
	benchUID identity.RawUID
)

// BenchmarkEmailHashAndFLH is the per-identity front of every generate and
// map request: normalize, hash, first-level hash.
func BenchmarkEmailHashAndFLH(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		h, ok := identity.EmailHash(" TEst.TEst+123@GMail.Com ")
		if !ok {
			b.Fatal("invalid")
		}
		benchFLH = identity.FirstLevelHash(h, benchFirstLevel)
	}
}

func BenchmarkRawUIDv2(b *testing.B) {
	b.ReportAllocs()
	h, _ := identity.EmailHash("test@example.com")
	flh := identity.FirstLevelHash(h, benchFirstLevel)
	for b.Loop() {
		benchUID = identity.RawUIDv2(&flh, benchSalt)
	}
}

// BenchmarkRawUIDv4 compares building the AES cipher per call with reusing a
// V4Key.
func BenchmarkRawUIDv4(b *testing.B) {
	h, _ := identity.PhoneHash("+12345678901")
	flh := identity.FirstLevelHash(h, benchFirstLevel)
	const key, salt = "key12345key12345key12345key12340", "salt1234salt1234salt1234salt1230"
	b.Run("RawUIDv4", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			benchUID, _ = identity.RawUIDv4(&flh, 2100002, key, salt, identity.ScopeUID2, identity.TypePhone, identity.EnvTest)
		}
	})
	b.Run("V4Key", func(b *testing.B) {
		b.ReportAllocs()
		k, err := identity.NewV4Key(2100002, key, salt)
		if err != nil {
			b.Fatal(err)
		}
		for b.Loop() {
			benchUID = k.RawUID(&flh, identity.ScopeUID2, identity.TypePhone, identity.EnvTest)
		}
	})
}
