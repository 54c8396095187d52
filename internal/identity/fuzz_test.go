package identity_test

import (
	"crypto/sha256"
	"encoding/base64"
	"strings"
	"testing"

	"github.com/uid2-private-operator/uid2-operator/internal/identity"
)

// refNormalizeEmail is a direct, allocation-happy transcription of the §2.14.1
// state machine (character by character, three builders and a space buffer),
// used as an oracle for the single-pass AppendNormalizedEmail.
func refNormalizeEmail(s string) (string, bool) {
	var full, gmailLocal, domain, spaces strings.Builder
	inDomain, inExt := false, false
	for i := 0; i < len(s); i++ {
		c := s[i]
		if 'A' <= c && c <= 'Z' {
			c += 'a' - 'A'
		}
		if !inDomain {
			switch c {
			case ' ':
			case '@':
				inDomain = true
			case '.':
				full.WriteByte(c)
			case '+':
				full.WriteByte(c)
				inExt = true
			default:
				full.WriteByte(c)
				if !inExt {
					gmailLocal.WriteByte(c)
				}
			}
			continue
		}
		switch c {
		case '@':
			return "", false
		case ' ':
			spaces.WriteByte(c)
		default:
			domain.WriteString(spaces.String())
			spaces.Reset()
			domain.WriteByte(c)
		}
	}
	if domain.Len() == 0 {
		return "", false
	}
	local := full.String()
	if domain.String() == "gmail.com" {
		local = gmailLocal.String()
	}
	if local == "" {
		return "", false
	}
	return local + "@" + domain.String(), true
}

func FuzzNormalizeEmail(f *testing.F) {
	for _, s := range invalidEmails {
		f.Add(s)
	}
	for _, tt := range validEmails {
		f.Add(tt.in)
	}
	for _, tt := range spaceEmails {
		f.Add(tt.in)
	}
	f.Add("a@b")
	f.Add("a@gmail.com ")
	f.Add("a@gmail.com@")
	f.Add("\xff@\xfe")
	f.Fuzz(func(t *testing.T, s string) {
		got, ok := identity.NormalizeEmail(s)
		want, wantOK := refNormalizeEmail(s)
		if got != want || ok != wantOK {
			t.Fatalf("NormalizeEmail(%q) = %q, %v; reference %q, %v", s, got, ok, want, wantOK)
		}
		h, hok := identity.EmailHash(s)
		if hok != ok {
			t.Fatalf("EmailHash(%q) ok = %v; NormalizeEmail ok = %v", s, hok, ok)
		}
		if !ok {
			return
		}
		if sum := sha256.Sum256([]byte(got)); string(h.Bytes()) != string(sum[:]) {
			t.Fatalf("EmailHash(%q) is not SHA-256 of %q", s, got)
		}
		again, ok := identity.NormalizeEmail(got)
		if !ok || again != got {
			t.Fatalf("NormalizeEmail not idempotent: %q -> %q -> %q, %v", s, got, again, ok)
		}
	})
}

func FuzzParseHash(f *testing.F) {
	f.Add("")
	f.Add(masterHash)
	f.Add(strings.TrimSuffix(masterHash, "="))
	f.Add(strings.TrimSuffix(masterHash, "=") + "A")
	f.Add("DH5qQFhi5ALrdqcPiib8cy0Hwykx6frpqxWCkR0uiA==")
	f.Add("DH5qQFhi5ALrdqcPiib8cy0Hwykx6frpqxWCkR0ui===")
	f.Add("DH5qQFhi5ALrdqcPiib8cy0Hwykx6frpqxWCkR0uijs\n")
	f.Add("0c7e6a405862e402eb76a70f8a26fc732d07c32931e9fae9ab1582911d2e8a3b")
	f.Add("0C7E6A405862E402EB76A70F8A26FC732D07C32931E9FAE9AB1582911D2E8A3")
	f.Add("0c7e6a405862e402eb76a70f8a26fc732d07c32931e9fae9ab1582911d2e8a3bb")
	f.Fuzz(func(t *testing.T, s string) {
		h, ok := identity.ParseHash(s)
		if !ok {
			if h.Len() != 0 {
				t.Fatalf("ParseHash(%q) invalid but returned %d bytes", s, h.Len())
			}
			return
		}
		switch len(s) {
		case 44:
			// Oracle: Go's lenient decoder, once the characters Go skips and
			// Java rejects are ruled out.
			enc := base64.StdEncoding
			if !strings.HasSuffix(s, "=") {
				enc = base64.RawStdEncoding
			}
			want, err := enc.DecodeString(s)
			if err != nil || strings.ContainsAny(s, "\r\n") {
				t.Fatalf("ParseHash(%q) ok; Go decoder: %v", s, err)
			}
			if string(h.Bytes()) != string(want) {
				t.Fatalf("ParseHash(%q) = %x; want %x", s, h.Bytes(), want)
			}
		case 64:
			if h.Len() != 32 {
				t.Fatalf("ParseHash(hex %q) = %d bytes", s, h.Len())
			}
		default:
			t.Fatalf("ParseHash(%q) ok for length %d", s, len(s))
		}
		// Round trip: the base64 of any parsed hash is 44 characters and
		// parses back to the same hash.
		b := h.AppendBase64(nil)
		h2, ok := identity.ParseHash(string(b))
		if !ok || h2 != h {
			t.Fatalf("ParseHash(%q) round trip via %q failed", s, b)
		}
	})
}
