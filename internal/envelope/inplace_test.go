package envelope_test

import (
	"bytes"
	"encoding/base64"
	"strings"
	"testing"
	"time"

	"github.com/uid2-private-operator/uid2-operator/internal/envelope"
	"github.com/uid2-private-operator/uid2-operator/internal/identity"
)

// TestOpenInPlace checks that OpenInPlace answers exactly as OpenWith for
// binary, text and fallback bodies, including the failure paths.
func TestOpenInPlace(t *testing.T) {
	secret := bytes.Repeat([]byte{3}, 32)
	other := bytes.Repeat([]byte{4}, 32)
	aead, err := envelope.NewCipher(secret)
	if err != nil {
		t.Fatal(err)
	}
	now := time.UnixMilli(1_700_000_000_000)
	payload := []byte(`{"email":"user@example.com"}`)
	env, err := envelope.SealRequest(nil, secret, payload, now, [8]byte{9}, nil)
	if err != nil {
		t.Fatal(err)
	}
	wrong, _ := envelope.SealRequest(nil, other, payload, now, [8]byte{9}, nil)
	text := []byte(base64.StdEncoding.EncodeToString(env))
	// Base64 of `{"aaa…` followed by `":1}`: not a JSON object, but once its
	// valid prefix is decoded over itself the buffer reads {"aaa…<base64>":1}.
	becomesObject := []byte(base64.StdEncoding.EncodeToString([]byte(`{"`+strings.Repeat("a", 43))) + `":1}`)
	for _, tc := range []struct {
		name string
		body []byte
		mode envelope.Mode
	}{
		{"binary", env, envelope.ModeBinary},
		{"text", text, envelope.ModeText},
		{"text sent as binary", text, envelope.ModeBinary},
		{"wrong secret", wrong, envelope.ModeBinary},
		{"truncated", env[:40], envelope.ModeBinary},
		{"json", []byte(`{"email":"x"}`), envelope.ModeBinary},
		{"json as text", []byte(` {"email":"x"}`), envelope.ModeText},
		{"text with a line break", append(bytes.Clone(text[:8]), append([]byte("\n"), text[8:]...)...), envelope.ModeText},
		{"text, bad character late", append(bytes.Clone(text[:len(text)-8]), "!!!!!!!!"...), envelope.ModeText},
		{"text, turns into JSON when decoded in place", becomesObject, envelope.ModeText},
		{"text, wrong secret", []byte(base64.StdEncoding.EncodeToString(wrong)), envelope.ModeText},
	} {
		t.Run(tc.name, func(t *testing.T) {
			want, wantErr := envelope.OpenWith(bytes.Clone(tc.body), tc.mode, aead, now, identity.ScopeUID2)
			got, gotErr := envelope.OpenInPlace(bytes.Clone(tc.body), tc.mode, aead, now, identity.ScopeUID2)
			if (wantErr == nil) != (gotErr == nil) || (wantErr != nil && wantErr.Error() != gotErr.Error()) {
				t.Fatalf("err = %v; want %v", gotErr, wantErr)
			}
			if !bytes.Equal(got.Payload, want.Payload) || got.Nonce != want.Nonce || got.Mode != want.Mode || got.Timestamp != want.Timestamp {
				t.Fatalf("OpenInPlace = %+v; want %+v", got, want)
			}
		})
	}
}

// TestSealInPlace checks that sealing in the response buffer gives the
// bytes AppendSealWith gives, with and without spare capacity for the tag.
func TestSealInPlace(t *testing.T) {
	aead, err := envelope.NewCipher(bytes.Repeat([]byte{5}, 32))
	if err != nil {
		t.Fatal(err)
	}
	now := time.UnixMilli(1_700_000_000_123)
	nonce := [8]byte{1, 2, 3, 4, 5, 6, 7, 8}
	for _, n := range []int{0, 1, 30, 5000} {
		json := bytes.Repeat([]byte{'x'}, n)
		want, err := envelope.AppendSealWith(nil, aead, nonce, json, now, bytes.NewReader(make([]byte, 12)))
		if err != nil {
			t.Fatal(err)
		}
		for _, spare := range []int{0, envelope.TagSize} {
			buf := make([]byte, envelope.ResponsePrefix, envelope.ResponsePrefix+n+spare)
			buf = append(buf, json...)
			got, err := envelope.SealInPlace(buf, aead, nonce, now, bytes.NewReader(make([]byte, 12)))
			if err != nil || !bytes.Equal(got, want) {
				t.Fatalf("SealInPlace(%d bytes, spare %d) = %x, %v; want %x", n, spare, got, err, want)
			}
			if spare > 0 && &got[0] != &buf[0] {
				t.Fatalf("SealInPlace with spare capacity copied the buffer")
			}
		}
	}
	if _, err := envelope.SealInPlace(make([]byte, 3), aead, nonce, now, nil); err == nil {
		t.Fatal("SealInPlace(short buffer) = nil error")
	}
}
