package identity

import (
	"encoding/base64"
	"math/rand/v2"
	"testing"
)

func TestEncodeBase64(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	for n := range 70 {
		for range 50 {
			src := make([]byte, n)
			for i := range src {
				src[i] = byte(r.Uint32())
			}
			want := base64.StdEncoding.EncodeToString(src)
			if got := string(appendBase64([]byte("x"), src)); got != "x"+want {
				t.Fatalf("appendBase64(x, %x) = %s; want x%s", src, got, want)
			}
		}
	}
}

func TestB64Pairs(t *testing.T) {
	for v := range 4096 {
		b := []byte{byte(v >> 4), byte(v << 4)}
		want := base64.StdEncoding.EncodeToString(b)[:2]
		if got := string([]byte{byte(b64Pairs[v]), byte(b64Pairs[v] >> 8)}); got != want {
			t.Fatalf("b64Pairs[%d] = %s; want %s", v, got, want)
		}
	}
}

func TestFLHText(t *testing.T) {
	const salt = "vgv1BwiNRCW7F3VcNXHlZh+7oHJ4G4gCshbGcVOLnss="
	r := rand.New(rand.NewPCG(3, 4))
	for range 200 {
		var flh [32]byte
		for i := range flh {
			flh[i] = byte(r.Uint32())
		}
		text := NewFLHText(&flh)
		if got, want := string(text.b[:44]), base64.StdEncoding.EncodeToString(flh[:]); got != want {
			t.Fatalf("NewFLHText(%x) = %s; want %s", flh, got, want)
		}
		// The buffer is reused: hash with a long salt, then with shorter
		// ones, and check the stale bytes do not leak into the padding.
		for _, s := range []string{salt + salt + salt + salt, salt + salt + salt, salt, "x", ""} {
			if got, want := text.RawUIDv2(s), sumBase64Salted(flh[:], s); string(got.Bytes()) != string(want[:]) {
				t.Fatalf("RawUIDv2(%x, %q) = %x; want %x", flh, s, got.Bytes(), want)
			}
			got, want := text.RawUIDv3(s, ScopeEUID, TypePhone), RawUIDv3(&flh, s, ScopeEUID, TypePhone)
			if got != want {
				t.Fatalf("RawUIDv3(%x, %q) = %x; want %x", flh, s, got.Bytes(), want.Bytes())
			}
		}
	}
}

func BenchmarkAppendBase64(b *testing.B) {
	var u RawUID
	u.n = 33
	buf := make([]byte, 0, 64)
	b.Run("table", func(b *testing.B) {
		for b.Loop() {
			buf = u.AppendBase64(buf[:0])
		}
	})
	b.Run("stdlib", func(b *testing.B) {
		for b.Loop() {
			buf = base64.StdEncoding.AppendEncode(buf[:0], u.Bytes())
		}
	})
}

func BenchmarkEncodeBase64FLH(b *testing.B) {
	var flh [32]byte
	var t FLHText
	for b.Loop() {
		encodeBase64(t.b[:], flh[:])
	}
}
