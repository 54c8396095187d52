package envelope

import (
	"encoding/base64"
	"math/rand/v2"
	"testing"
)

func TestAppendBase64(t *testing.T) {
	r := rand.New(rand.NewPCG(7, 8))
	for n := range 200 {
		for range 20 {
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

func BenchmarkAppendBase64(b *testing.B) {
	src := make([]byte, 256<<10)
	dst := make([]byte, 0, base64.StdEncoding.EncodedLen(len(src)))
	b.Run("table", func(b *testing.B) {
		b.SetBytes(int64(len(src)))
		for b.Loop() {
			dst = appendBase64(dst[:0], src)
		}
	})
	b.Run("stdlib", func(b *testing.B) {
		b.SetBytes(int64(len(src)))
		for b.Loop() {
			dst = base64.StdEncoding.AppendEncode(dst[:0], src)
		}
	})
}
