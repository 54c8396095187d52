package b64_test

import (
	"bytes"
	"encoding/base64"
	"math/rand/v2"
	"testing"

	"github.com/uid2-private-operator/uid2-operator/internal/b64"
)

// TestDecodeJava is a table of what java.util.Base64's basic and URL
// decoders accept and reject (JDK 17 behaviour).
func TestDecodeJava(t *testing.T) {
	tests := []struct {
		in   string
		url  bool
		want string // "" with ok false means rejected
		ok   bool
	}{
		{"", false, "", true},
		{"QQ==", false, "A", true},
		{"QQ", false, "A", true}, // padding optional
		{"QUI=", false, "AB", true},
		{"QUI", false, "AB", true},
		{"QUJD", false, "ABC", true},
		{"QR==", false, "A", true}, // unused trailing bits ignored
		{"Q", false, "", false},    // lone final character
		{"QQ=", false, "", false},  // padding that does not complete the unit
		{"QQ===", false, "", false},
		{"Q===", false, "", false},
		{"====", false, "", false},
		{"QQ==QQ==", false, "", false}, // data after padding
		{"QU=I", false, "", false},
		{"QUJD\n", false, "", false}, // line breaks rejected (Go would skip them)
		{"QU\nJD", false, "", false},
		{"QUJD\r\n", false, "", false},
		{" QUJD", false, "", false},
		{"QUJD ", false, "", false},
		{"-_8=", false, "", false}, // URL alphabet in the basic decoder
		{"+/8=", false, "\xfb\xff", true},
		{"-_8=", true, "\xfb\xff", true},
		{"-_8", true, "\xfb\xff", true},
		{"+/8=", true, "", false},
		{"QQ\n==", true, "", false},
	}
	for _, tt := range tests {
		decodeString, decode := b64.StdString, b64.DecodeStd
		if tt.url {
			decodeString, decode = b64.URLString, b64.DecodeURL
		}
		got, ok := decodeString(tt.in)
		if ok != tt.ok || string(got) != tt.want {
			t.Errorf("String(%q, url=%v) = %q, %v; want %q, %v", tt.in, tt.url, got, ok, tt.want, tt.ok)
		}
		// In place gives the same answer.
		buf := []byte(tt.in)
		n, ok := decode(buf, buf)
		if ok != tt.ok || (ok && string(buf[:n]) != tt.want) {
			t.Errorf("Decode in place (%q, url=%v) = %q, %v; want %q, %v", tt.in, tt.url, buf[:n], ok, tt.want, tt.ok)
		}
	}
}

// TestDecodeInPlace checks, over many lengths and random data, that
// decoding into src itself gives what encoding/base64 gives into a fresh
// buffer: the property DecodeStd's in-place use relies on.
func TestDecodeInPlace(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	for n := range 2000 {
		src := make([]byte, n)
		for i := range src {
			src[i] = byte(r.Uint32())
		}
		for _, enc := range []*base64.Encoding{base64.StdEncoding, base64.RawStdEncoding} {
			text := []byte(enc.EncodeToString(src))
			m, ok := b64.DecodeStd(text, text)
			if !ok || !bytes.Equal(text[:m], src) {
				t.Fatalf("in-place decode of %d bytes: ok=%v, equal=%v", n, ok, bytes.Equal(text[:m], src))
			}
		}
	}
}

// FuzzDecode: never panics; agrees with encoding/base64 (padded when the
// length is a multiple of 4, raw otherwise) on inputs without line breaks;
// in place equals out of place; a success round-trips through Encode.
func FuzzDecode(f *testing.F) {
	for _, s := range []string{"", "QQ==", "QQ", "Q", "QQ=", "QUJD\n", "-_8=", "+/8=", "QR=="} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, src []byte) {
		dst := make([]byte, b64.DecodedLen(len(src)))
		n, ok := b64.DecodeStd(dst, src)
		inPlace := bytes.Clone(src)
		m, ok2 := b64.DecodeStd(inPlace, inPlace)
		if ok != ok2 || (ok && !bytes.Equal(dst[:n], inPlace[:m])) {
			t.Fatalf("DecodeStd(%q): out of place %v %x, in place %v %x", src, ok, dst[:n], ok2, inPlace[:m])
		}
		if bytes.ContainsAny(src, "\r\n") {
			if ok {
				t.Fatalf("DecodeStd(%q) accepted a line break", src)
			}
			return
		}
		enc := base64.RawStdEncoding
		if len(src)%4 == 0 {
			enc = base64.StdEncoding
		}
		want, err := enc.DecodeString(string(src))
		if ok != (err == nil) || (ok && !bytes.Equal(dst[:n], want)) {
			t.Fatalf("DecodeStd(%q) = %x, %v; encoding/base64 = %x, %v", src, dst[:n], ok, want, err)
		}
		if ok {
			re := b64.AppendEncode(nil, dst[:n])
			if back, ok := b64.StdString(string(re)); !ok || !bytes.Equal(back, dst[:n]) {
				t.Fatalf("round trip of %x failed", dst[:n])
			}
		}
	})
}
