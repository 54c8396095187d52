package identity

import (
	"crypto/sha256"

	"github.com/uid2-private-operator/uid2-operator/internal/b64"
)

// Hash is an identity hash (operator-api.md §2.14): the SHA-256 of a
// normalized email or phone, or the bytes of a hash the client supplied.
//
// It is normally 32 bytes. A client-supplied 44-character base64 hash is
// accepted the way Java's basic decoder accepts it (§2.14.3), so without
// padding it decodes to 33 bytes and with "==" padding to 31 bytes; the
// operator keeps those lengths and so do we, because the first-level hash is
// computed over the base64 text of exactly these bytes (§3.2).
//
// The bytes live in a fixed array, so a Hash never allocates. The zero value
// is an empty (invalid) hash. Hashes compare with ==.
type Hash struct {
	b [33]byte
	n uint8
}

// Len returns the number of bytes in h: 0 for the zero value, else 31, 32 or 33.
func (h *Hash) Len() int { return int(h.n) }

// Bytes returns the hash bytes. The slice aliases h; do not modify it.
func (h *Hash) Bytes() []byte { return h.b[:h.n] }

// AppendBase64 appends the standard base64 encoding of h, with padding (the
// form Java's Base64.getEncoder produces), to dst and returns the result.
func (h *Hash) AppendBase64(dst []byte) []byte {
	return b64.AppendEncode(dst, h.b[:h.n])
}

// emailBufSize is the stack buffer used to normalize an email before hashing.
// Longer emails still work but cost one heap allocation.
const emailBufSize = 256

// hashBufSize is emailBufSize plus slack for the normalizer's appends.
const hashBufSize = emailBufSize + 72

// EmailHash normalizes the email s (§2.14.1) and returns the SHA-256 of the
// normalized form. ok is false if s is not a valid email. It does not
// allocate for emails up to 256 bytes.
func EmailHash(s string) (h Hash, ok bool) {
	var buf [hashBufSize]byte
	norm, ok := AppendNormalizedEmail(buf[:0], s)
	if !ok {
		return Hash{}, false
	}
	return sumHash(norm), true
}

// PhoneHash validates the phone number s (§2.14.2) and returns the SHA-256 of
// s itself: a valid phone is already in normalized form. ok is false if s is
// not a valid phone number.
func PhoneHash(s string) (h Hash, ok bool) {
	if !ValidPhone(s) {
		return Hash{}, false
	}
	var buf [maxPhoneLen + 72]byte
	return sumHash(append(buf[:0], s...)), true
}

// sumHash returns the identity hash SHA-256(b).
func sumHash(b []byte) Hash {
	h := Hash{n: sha256.Size}
	sum := sum256(b)
	copy(h.b[:], sum[:])
	return h
}

// ParseHash parses a client-supplied email or phone hash (§2.14.3):
//   - exactly 44 characters of standard base64, padding optional, decoded the
//     way Java's Base64.getDecoder does (so 44 characters without padding
//     give 33 bytes, with "=" 32 bytes, with "==" 31 bytes; non-zero unused
//     trailing bits are ignored);
//   - exactly 64 hex digits, either case, giving 32 bytes.
//
// Anything else is invalid, including the 43-character unpadded base64 of a
// 32-byte hash. ParseHash does not allocate.
func ParseHash(s string) (h Hash, ok bool) {
	switch len(s) {
	case 44:
		return parseBase64Hash(s)
	case 64:
		return parseHexHash(s)
	}
	return Hash{}, false
}

// parseBase64Hash mirrors java.util.Base64.Decoder on a 44-character input:
// at most two trailing '=' (a third one leaves a unit with too few bits and is
// rejected), nothing but alphabet characters before them, and the bits that
// do not fill a whole byte are dropped without being checked. Go's decoders
// differ (they skip '\r' and '\n', and demand either padding or none), so
// this is done by hand.
func parseBase64Hash(s string) (Hash, bool) {
	data := s
	if data[len(data)-1] == '=' {
		data = data[:len(data)-1]
		if data[len(data)-1] == '=' {
			data = data[:len(data)-1]
		}
	}
	var h Hash
	var acc uint32
	bits := 0
	for i := 0; i < len(data); i++ {
		v, ok := base64Value(data[i])
		if !ok {
			return Hash{}, false
		}
		acc = acc<<6 | uint32(v)
		bits += 6
		if bits >= 8 {
			bits -= 8
			h.b[h.n] = byte(acc >> bits)
			h.n++
		}
	}
	return h, true
}

// base64Value returns the value of c in the standard base64 alphabet. It is
// a table lookup: chained range comparisons mispredict on every character
// of random base64 and cost about 7 ns each (BenchmarkParseBase64Hash).
func base64Value(c byte) (byte, bool) {
	v := base64Values[c]
	return v, v != invalidBase64
}

const invalidBase64 = 0xff

// base64Values maps a character to its standard base64 value, or
// invalidBase64.
var base64Values = func() (t [256]byte) {
	for i := range t {
		t[i] = invalidBase64
	}
	for i, c := range []byte("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/") {
		t[c] = byte(i)
	}
	return t
}()

func parseHexHash(s string) (Hash, bool) {
	h := Hash{n: 32}
	for i := 0; i < 32; i++ {
		hi, ok1 := hexValue(s[2*i])
		lo, ok2 := hexValue(s[2*i+1])
		if !ok1 || !ok2 {
			return Hash{}, false
		}
		h.b[i] = hi<<4 | lo
	}
	return h, true
}

func hexValue(c byte) (byte, bool) {
	switch {
	case '0' <= c && c <= '9':
		return c - '0', true
	case 'a' <= c && c <= 'f':
		return c - 'a' + 10, true
	case 'A' <= c && c <= 'F':
		return c - 'A' + 10, true
	}
	return 0, false
}

// InputKind is the kind of identity a client submits: the JSON field name of
// the generate, map and CSTG requests. The zero value is not a valid kind.
type InputKind uint8

// Input kinds.
const (
	KindEmail InputKind = iota + 1
	KindEmailHash
	KindPhone
	KindPhoneHash
)

// ParseInputKind parses "email", "email_hash", "phone" or "phone_hash".
func ParseInputKind(s string) (InputKind, bool) {
	switch s {
	case "email":
		return KindEmail, true
	case "email_hash":
		return KindEmailHash, true
	case "phone":
		return KindPhone, true
	case "phone_hash":
		return KindPhoneHash, true
	}
	return 0, false
}

// String returns "email", "email_hash", "phone" or "phone_hash", or "" for an
// invalid kind.
func (k InputKind) String() string {
	switch k {
	case KindEmail:
		return "email"
	case KindEmailHash:
		return "email_hash"
	case KindPhone:
		return "phone"
	case KindPhoneHash:
		return "phone_hash"
	}
	return ""
}

// Type returns the identity type the kind produces: email hashes are emails
// and phone hashes are phones (§2.14.3). An invalid kind reports TypeEmail.
func (k InputKind) Type() Type {
	if k == KindPhone || k == KindPhoneHash {
		return TypePhone
	}
	return TypeEmail
}

// Parse validates s as an input of the given kind and returns its identity
// hash (§2.14). ok is false if s is invalid or kind is not a valid kind.
// Parse does not allocate (for emails up to 256 bytes).
func Parse(kind InputKind, s string) (h Hash, ok bool) {
	switch kind {
	case KindEmail:
		return EmailHash(s)
	case KindPhone:
		return PhoneHash(s)
	case KindEmailHash, KindPhoneHash:
		return ParseHash(s)
	}
	return Hash{}, false
}
