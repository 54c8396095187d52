package identity

import (
	"crypto/sha256"
	"math/rand/v2"
	"testing"
)

// TestSum256 checks sum256 against crypto/sha256 on every length that fits
// one to four blocks, with and without room for the padding, over a buffer
// whose spare capacity holds garbage.
func TestSum256(t *testing.T) {
	t.Logf("SHA-NI: %v", useSHANI)
	r := rand.New(rand.NewPCG(5, 6))
	for n := range 250 {
		for _, spare := range []int{0, 8, 64, 128} {
			buf := make([]byte, n, n+spare)
			for i := range buf[:cap(buf)] {
				buf[:cap(buf)][i] = byte(r.Uint32())
			}
			want := sha256.Sum256(buf)
			if got := sum256(buf); got != want {
				t.Fatalf("sum256(%d bytes, cap %d) = %x; want %x", n, cap(buf), got, want)
			}
		}
	}
}

func BenchmarkSum256(b *testing.B) {
	for _, n := range []int{20, 88} {
		var buf [192]byte
		b.Run("sum256/"+string(rune('0'+n/10))+string(rune('0'+n%10)), func(b *testing.B) {
			for b.Loop() {
				_ = sum256(buf[:n])
			}
		})
		b.Run("stdlib/"+string(rune('0'+n/10))+string(rune('0'+n%10)), func(b *testing.B) {
			for b.Loop() {
				_ = sha256.Sum256(buf[:n])
			}
		})
	}
}
