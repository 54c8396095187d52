package api

import (
	"encoding/base64"
	"testing"

	"github.com/uid2-private-operator/uid2-operator/internal/identity"
)

func TestAppendBase64UID(t *testing.T) {
	for i := range 300 {
		var flh [32]byte
		flh[0], flh[31] = byte(i), byte(i*7)
		for _, u := range []identity.RawUID{
			identity.RawUIDv2(&flh, "salt"),
			identity.RawUIDv3(&flh, "salt", identity.ScopeEUID, identity.TypePhone),
		} {
			want := base64.StdEncoding.EncodeToString(u.Bytes())
			if got := string(appendBase64UID([]byte("x"), &u)); got != "x"+want {
				t.Fatalf("appendBase64UID(%x) = %s; want x%s", u.Bytes(), got, want)
			}
		}
	}
}

func TestAppendBase64UIDShort(t *testing.T) {
	// Remainders of 1 and 2 bytes, via a 31-byte-ish view is not possible
	// with RawUID, so check the table on every 12-bit value instead.
	for v := range 4096 {
		b := []byte{byte(v >> 4), byte(v << 4)}
		want := base64.StdEncoding.EncodeToString(b)[:2]
		if got := string(b64Pairs[v][:]); got != want {
			t.Fatalf("b64Pairs[%d] = %s; want %s", v, got, want)
		}
	}
}

func BenchmarkAppendBase64UID(b *testing.B) {
	var flh [32]byte
	u := identity.RawUIDv2(&flh, "salt")
	buf := make([]byte, 0, 64)
	b.Run("table", func(b *testing.B) {
		for b.Loop() {
			buf = appendBase64UID(buf[:0], &u)
		}
	})
	b.Run("stdlib", func(b *testing.B) {
		for b.Loop() {
			buf = u.AppendBase64(buf[:0])
		}
	})
}
