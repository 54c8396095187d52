package aesgcm_test

import (
	"bytes"
	"encoding/base64"
	"errors"
	"math/rand/v2"
	"testing"
	"testing/iotest"

	"github.com/uid2-private-operator/uid2-operator/internal/aesgcm"
)

func b64(t *testing.T, s string) []byte {
	t.Helper()
	b, err := base64.StdEncoding.DecodeString(s)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestOpenKnownAnswer uses operator-api.md §6 K-5: a refresh opt-out
// response sealed by a real operator (JST PublisherTests.java L438-439).
func TestOpenKnownAnswer(t *testing.T) {
	key := b64(t, "WL0AYr41Db9m6dCIPtQlTz2kE4NMx3nLmloGHkQPGSQ=")
	data := b64(t, "d9I6qCdlJ6mkWYLyw2iGnCnJ5OocyQDtbbvW6YXAYKpxTXaOePQzPPJIrHnI7Io=")
	got, err := aesgcm.Open(key, data)
	if err != nil {
		t.Fatalf("Open(K-5) = %v", err)
	}
	if want := `{"status":"optout"}`; string(got) != want {
		t.Errorf("Open(K-5) = %q; want %q", got, want)
	}
}

func TestSealOpen(t *testing.T) {
	for _, size := range []int{16, 24, 32} {
		key := bytes.Repeat([]byte{byte(size)}, size)
		for _, pt := range [][]byte{nil, []byte("x"), bytes.Repeat([]byte("uid2"), 100)} {
			ivSource := rand.NewChaCha8([32]byte{1})
			var wantIV [aesgcm.NonceSize]byte
			rand.NewChaCha8([32]byte{1}).Read(wantIV[:])

			out, err := aesgcm.Seal([]byte("hdr"), key, pt, ivSource)
			if err != nil {
				t.Fatalf("Seal = %v", err)
			}
			if len(out) != 3+len(pt)+aesgcm.Overhead || string(out[:3]) != "hdr" || !bytes.Equal(out[3:15], wantIV[:]) {
				t.Fatalf("Seal layout wrong: % x", out[:15])
			}
			got, err := aesgcm.Open(key, out[3:])
			if err != nil || !bytes.Equal(got, pt) {
				t.Errorf("Open(Seal(%d bytes)) = %q, %v", len(pt), got, err)
			}
		}
	}
}

func TestOpenFailures(t *testing.T) {
	key := bytes.Repeat([]byte{7}, 32)
	sealed, err := aesgcm.Seal(nil, key, []byte("payload"), nil)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		key  []byte
		data []byte
		want error
	}{
		{"empty", key, nil, aesgcm.ErrOpen},
		{"27 bytes", key, sealed[:27], aesgcm.ErrOpen},
		{"truncated", key, sealed[:len(sealed)-1], aesgcm.ErrOpen},
		{"wrong key", bytes.Repeat([]byte{8}, 32), sealed, aesgcm.ErrOpen},
		{"key 31 bytes", key[:31], sealed, aesgcm.ErrKeySize},
	}
	for i := range sealed {
		c := bytes.Clone(sealed)
		c[i] ^= 0x10
		tests = append(tests, struct {
			name string
			key  []byte
			data []byte
			want error
		}{"flip", key, c, aesgcm.ErrOpen})
	}
	for _, tt := range tests {
		got, err := aesgcm.Open(tt.key, tt.data)
		if !errors.Is(err, tt.want) || got != nil {
			t.Errorf("%s: Open = %q, %v; want nil, %v", tt.name, got, err, tt.want)
		}
	}
}

func TestSealErrors(t *testing.T) {
	if _, err := aesgcm.Seal(nil, make([]byte, 10), nil, nil); !errors.Is(err, aesgcm.ErrKeySize) {
		t.Errorf("Seal(10-byte key) = %v; want ErrKeySize", err)
	}
	boom := errors.New("boom")
	if _, err := aesgcm.Seal(nil, make([]byte, 32), nil, iotest.ErrReader(boom)); !errors.Is(err, boom) {
		t.Errorf("Seal(failing rand) = %v; want %v", err, boom)
	}
}

func TestSealWithNoAllocs(t *testing.T) {
	a, err := aesgcm.New(make([]byte, 32))
	if err != nil {
		t.Fatal(err)
	}
	pt := make([]byte, 100)
	buf := make([]byte, 0, 256)
	allocs := testing.AllocsPerRun(100, func() {
		if _, err := aesgcm.SealWith(buf[:0], a, pt, nil); err != nil {
			t.Fatal(err)
		}
	})
	if allocs != 0 {
		t.Errorf("SealWith allocates %v times; want 0", allocs)
	}
}
