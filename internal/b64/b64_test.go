package b64_test

import (
	"encoding/base64"
	"math/rand/v2"
	"testing"

	"github.com/uid2-private-operator/uid2-operator/internal/b64"
)

func TestMatchesEncodingBase64(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	for n := range 300 {
		for range 20 {
			src := make([]byte, n)
			for i := range src {
				src[i] = byte(r.Uint32())
			}
			want := base64.StdEncoding.EncodeToString(src)
			if got := string(b64.AppendEncode([]byte("x"), src)); got != "x"+want {
				t.Fatalf("AppendEncode(x, %x) = %s; want x%s", src, got, want)
			}
			dst := make([]byte, b64.EncodedLen(n))
			if k := b64.Encode(dst, src); k != len(want) || string(dst) != want {
				t.Fatalf("Encode(%x) = %d %s; want %s", src, k, dst, want)
			}
		}
	}
}

func FuzzAppendEncode(f *testing.F) {
	f.Add([]byte{})
	f.Add(make([]byte, 32))
	f.Add(make([]byte, 33))
	f.Fuzz(func(t *testing.T, src []byte) {
		if got, want := string(b64.AppendEncode(nil, src)), base64.StdEncoding.EncodeToString(src); got != want {
			t.Fatalf("AppendEncode(%x) = %s; want %s", src, got, want)
		}
	})
}

func BenchmarkAppendEncode(b *testing.B) {
	for _, n := range []int{32, 33, 256 << 10} {
		src := make([]byte, n)
		dst := make([]byte, 0, b64.EncodedLen(n))
		b.Run("b64/"+itoa(n), func(b *testing.B) {
			b.SetBytes(int64(n))
			for b.Loop() {
				dst = b64.AppendEncode(dst[:0], src)
			}
		})
		b.Run("stdlib/"+itoa(n), func(b *testing.B) {
			b.SetBytes(int64(n))
			for b.Loop() {
				dst = base64.StdEncoding.AppendEncode(dst[:0], src)
			}
		})
	}
}

func itoa(n int) string {
	s := ""
	for ; n > 0; n /= 10 {
		s = string(rune('0'+n%10)) + s
	}
	return s
}
