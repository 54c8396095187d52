package identity

import (
	"encoding/base64"
	"math/rand/v2"
	"strings"
	"testing"
)

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

// BenchmarkParseBase64Hash: base64 email_hash inputs (44 characters), as
// identity map v2/v3 and generate parse them; many different ones, so the
// branch predictor cannot learn one.
func BenchmarkParseBase64Hash(b *testing.B) {
	r := rand.New(rand.NewPCG(5, 6))
	ins := make([]string, 4096)
	for i := range ins {
		var h [32]byte
		for j := range h {
			h[j] = byte(r.Uint32())
		}
		ins[i] = base64.StdEncoding.EncodeToString(h[:])
	}
	i := 0
	for b.Loop() {
		if _, ok := parseBase64Hash(ins[i%len(ins)]); !ok {
			b.Fatal("not parsed")
		}
		i++
	}
}

// TestBase64Value holds the table to the standard alphabet: every byte.
func TestBase64Value(t *testing.T) {
	const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
	for c := range 256 {
		v, ok := base64Value(byte(c))
		want := strings.IndexByte(alphabet, byte(c))
		if ok != (want >= 0) || ok && int(v) != want {
			t.Errorf("base64Value(%q) = %d, %v; want %d", rune(c), v, ok, want)
		}
	}
}
