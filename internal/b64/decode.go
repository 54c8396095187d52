package b64

import (
	"bytes"
	"encoding/base64"
	"unsafe"
)

// Decoding follows java.util.Base64.getDecoder() and getUrlDecoder(), which
// the reference operator and SDKs use: the alphabet's characters only (no
// whitespace, no line breaks: Go's decoders skip '\r' and '\n', Java
// rejects them); '=' padding optional, but when present it must complete
// the final 4-character unit and end the input; a lone final character is
// an error; unused trailing bits are ignored. This is the one decoder of
// the operator's untrusted base64 (envelopes, tokens, CSTG fields).

// DecodedLen returns the most bytes decoding n characters can produce.
func DecodedLen(n int) int { return n/4*3 + n%4*6/8 }

// DecodeStd decodes standard-alphabet src into dst and returns the number
// of bytes written, or ok=false if src is not valid as Java decodes it.
// dst must hold DecodedLen(len(src)) bytes. dst may be src itself (decode
// in place): the decoder never writes ahead of what it has read, which a
// test checks against the standard library.
func DecodeStd(dst, src []byte) (n int, ok bool) { return decode(base64.RawStdEncoding, dst, src) }

// DecodeURL is DecodeStd for the URL-safe alphabet ('-' and '_').
func DecodeURL(dst, src []byte) (n int, ok bool) { return decode(base64.RawURLEncoding, dst, src) }

// StdString decodes a standard-alphabet string into a new buffer.
func StdString(s string) ([]byte, bool) { return decodeString(base64.RawStdEncoding, s) }

// URLString decodes a URL-safe string into a new buffer.
func URLString(s string) ([]byte, bool) { return decodeString(base64.RawURLEncoding, s) }

func decodeString(raw *base64.Encoding, s string) ([]byte, bool) {
	// Decode reads the string's bytes without modifying or keeping them.
	src := unsafe.Slice(unsafe.StringData(s), len(s))
	dst := make([]byte, DecodedLen(len(s)))
	n, ok := decode(raw, dst, src)
	if !ok {
		return nil, false
	}
	return dst[:n:n], true
}

// decode strips valid padding and hands the rest to raw, which rejects any
// '=' left and a lone final character, as Java does.
func decode(raw *base64.Encoding, dst, src []byte) (int, bool) {
	if bytes.IndexByte(src, '\n') >= 0 || bytes.IndexByte(src, '\r') >= 0 {
		return 0, false
	}
	n := len(src)
	if n > 0 && src[n-1] == '=' {
		if n%4 != 0 {
			return 0, false
		}
		n--
		if src[n-1] == '=' {
			n--
		}
	}
	m, err := raw.Decode(dst, src[:n])
	if err != nil {
		return 0, false
	}
	return m, true
}
