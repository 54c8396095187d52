package identity_test

import (
	"testing"

	"github.com/uid2-private-operator/uid2-operator/internal/identity"
)

// TestHotPathAllocs pins the per-request allocation budget of the identity
// path (house style §6): zero everywhere except v4 raw UIDs. RawUIDv4 builds
// an AES cipher per call and is not listed; V4Key.RawUID makes one.
func TestHotPathAllocs(t *testing.T) {
	const firstLevel = "fOGY/aRE44peL23i+cE9MkJrzmEeNZZziNZBfq7qqk8="
	const salt = "vgv1BwiNRCW7F3VcNXHlZh+7oHJ4G4gCshbGcVOLnss="
	k, err := identity.NewV4Key(2100002, "key12345key12345key12345key12340", "salt1234salt1234salt1234salt1230")
	if err != nil {
		t.Fatal(err)
	}
	h, _ := identity.EmailHash("test@example.com")
	flh := identity.FirstLevelHash(h, firstLevel)
	dst := make([]byte, 0, 128)
	var sink identity.RawUID
	held := new(identity.RawUID) // a long-lived destination, as the mapper's
	var hsink identity.Hash
	var ok bool

	tests := []struct {
		name string
		f    func()
		max  float64
	}{
		{"EmailHash", func() { hsink, ok = identity.EmailHash(" TEst.TEst+123@GMail.Com ") }, 0},
		{"PhoneHash", func() { hsink, ok = identity.PhoneHash("+12345678901") }, 0},
		{"ParseHash/base64", func() { hsink, ok = identity.ParseHash("DH5qQFhi5ALrdqcPiib8cy0Hwykx6frpqxWCkR0uijs=") }, 0},
		{"ParseHash/hex", func() {
			hsink, ok = identity.ParseHash("0c7e6a405862e402eb76a70f8a26fc732d07c32931e9fae9ab1582911d2e8a3b")
		}, 0},
		{"Parse/email", func() { hsink, ok = identity.Parse(identity.KindEmail, "test@example.com") }, 0},
		{"NormalizeEmail/already normalized", func() { _, ok = identity.NormalizeEmail("test@example.com") }, 0},
		{"AppendNormalizedEmail", func() { dst, ok = identity.AppendNormalizedEmail(dst[:0], "Te.St@GMail.com") }, 0},
		{"Hash.AppendBase64", func() { dst = h.AppendBase64(dst[:0]) }, 0},
		{"FirstLevelHash", func() { flh = identity.FirstLevelHash(h, firstLevel) }, 0},
		{"RawUIDv2", func() { sink = identity.RawUIDv2(&flh, salt) }, 0},
		{"RawUIDv3", func() { sink = identity.RawUIDv3(&flh, salt, identity.ScopeEUID, identity.TypePhone) }, 0},
		// The result escapes through the cipher.Block interface.
		{"V4Key.RawUID", func() { sink = k.RawUID(&flh, identity.ScopeUID2, identity.TypePhone, identity.EnvTest) }, 1},
		{"V4Key.SetRawUID", func() { k.SetRawUID(held, &flh, identity.ScopeUID2, identity.TypePhone, identity.EnvTest) }, 0},
		{"FLHText.RawUIDv2", func() { t := identity.NewFLHText(&flh); sink = t.RawUIDv2(salt) }, 0},
		{"RawUID.AppendBase64", func() { dst = sink.AppendBase64(dst[:0]) }, 0},
		{"BucketIndex", func() { _ = identity.BucketIndex(&flh, 5) }, 0},
	}
	for _, tt := range tests {
		if got := testing.AllocsPerRun(100, tt.f); got > tt.max {
			t.Errorf("%s: %v allocs per run; want <= %v", tt.name, got, tt.max)
		}
	}
	_, _ = sink, hsink
	_ = ok
}
