// Package token encodes and decodes UID2 tokens: advertising tokens V4, V3
// and legacy V2, refresh tokens V3 and legacy V2, and the 388-character
// refresh wrapper handed to clients (operator-api.md §4.1–§4.5, KATs §6 K-4
// to K-6, pitfalls §8 items 1, 8 and 9).
//
// The package is pure: no clock, no key store and no I/O. Callers pass keys
// (for decoding, a KeyFunc that finds any keyset key by id, §4.1) and the
// randomness source for IVs. Decoders never panic on any input.
//
// Encoders append to a caller buffer and assemble the binary token in its
// spare capacity, encrypting in place. With keys from NewKey (cached AES-GCM)
// and a reused buffer they make no allocation; a Key literal costs two
// allocations (about 1.3 KB) per key per call for the cipher set-up. Decoding
// a V4 advertising token makes one allocation (384 B) with cached keys.
package token

import (
	"crypto/cipher"
	"crypto/rand"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"log/slog"

	"github.com/uid2-private-operator/uid2-operator/internal/aesgcm"
	"github.com/uid2-private-operator/uid2-operator/internal/b64"
	"github.com/uid2-private-operator/uid2-operator/internal/identity"
)

// Token version bytes (SH model/TokenVersion.java, §4.2).
const (
	VersionV2 uint8 = 2
	VersionV3 uint8 = 112 // 0x70
	VersionV4 uint8 = 128 // 0x80
)

// Errors returned by the decoders and encoders. Decoding errors are one of
// these or an *UnknownKeyError (which matches ErrUnknownKey); the API layer
// maps them onto client messages. Crypto failures are deliberately opaque.
var (
	// ErrInvalid reports malformed input: bad base64, a wrong length, bad
	// field values, or an encoder argument out of range.
	ErrInvalid = errors.New("token: invalid token")

	// ErrVersion reports a token whose version byte is not one we decode.
	ErrVersion = errors.New("token: unsupported token version")

	// ErrUnknownKey is matched by *UnknownKeyError: the token names a key id
	// the KeyFunc does not know.
	ErrUnknownKey = errors.New("token: unknown key id")

	// ErrDecrypt is the one error for every failed decryption: wrong key,
	// tampered ciphertext, bad CBC padding.
	ErrDecrypt = errors.New("token: decryption failed")

	// ErrIdentityMismatch reports a token whose outer identity byte disagrees
	// with the scope/type carried inside it (§4.2, §4.4).
	ErrIdentityMismatch = errors.New("token: identity scope/type mismatch")

	// ErrKeySize reports a Key whose secret is not 16, 24 or 32 bytes.
	ErrKeySize = errors.New("token: invalid key size")

	// ErrWrapperLength reports a refresh wrapper that would not be exactly
	// WrapperLen characters (the operator refuses to send one, §4.5).
	ErrWrapperLength = errors.New("token: refresh wrapper is not 388 characters")

	// ErrWrapperBase64 reports a refresh wrapper that is not valid base64.
	ErrWrapperBase64 = errors.New("token: refresh wrapper is not valid base64")

	// ErrWrapperFormat reports a decrypted refresh wrapper that is not the
	// expected JSON object or lacks a field.
	ErrWrapperFormat = errors.New("token: refresh wrapper payload is not valid json or misses fields")
)

// UnknownKeyError reports a key id that the KeyFunc did not find.
type UnknownKeyError struct {
	ID int32
}

func (e *UnknownKeyError) Error() string {
	return fmt.Sprintf("token: unknown key id %d", e.ID)
}

// Is makes errors.Is(err, ErrUnknownKey) true.
func (e *UnknownKeyError) Is(target error) bool { return target == ErrUnknownKey }

// Key is a keyset key: its id and AES secret (16 or 32 bytes; 24 also works).
//
// A Key literal {ID, Secret} is valid; each use then builds its AES-GCM
// cipher, which costs a few allocations. NewKey builds the cipher once and
// caches it in the Key, which makes encoding allocation-free when the caller
// supplies buffer space (see the benchmarks). A Key built by NewKey may be
// copied and shared between goroutines; do not modify Secret afterwards.
type Key struct {
	ID     int32
	Secret []byte

	aead cipher.AEAD // cached by NewKey; nil means build per use
}

// NewKey returns a Key for id and secret with its AES-GCM cipher prebuilt.
// It keeps secret, not a copy.
func NewKey(id int32, secret []byte) (Key, error) {
	a, err := aesgcm.New(secret)
	if err != nil {
		return Key{}, ErrKeySize
	}
	return Key{ID: id, Secret: secret, aead: a}, nil
}

// LogValue keeps the secret out of structured logs.
func (k Key) LogValue() slog.Value {
	return slog.GroupValue(slog.Int("id", int(k.ID)), slog.String("secret", "[redacted]"))
}

// Format keeps the secret (and the expanded AES key schedule) out of fmt
// output such as %v and %+v.
func (k Key) Format(f fmt.State, _ rune) {
	fmt.Fprintf(f, "token.Key{ID:%d Secret:[redacted]}", k.ID)
}

// gcm returns the cached AEAD or builds one.
func (k *Key) gcm() (cipher.AEAD, error) {
	if k.aead != nil {
		return k.aead, nil
	}
	a, err := aesgcm.New(k.Secret)
	if err != nil {
		return nil, ErrKeySize
	}
	return a, nil
}

// KeyFunc finds any keyset key by id, whatever its keyset, activation or
// expiry (decoding looks keys up by id only, §4.1). It returns a Key rather
// than a bare secret so that a key store can hand out keys built by NewKey
// and decoding skips the cipher set-up. It must be safe for concurrent use if
// the decoder is used concurrently.
type KeyFunc func(id int32) (Key, bool)

// lookup finds id with keys, treating a nil KeyFunc as knowing no key.
func lookup(keys KeyFunc, id int32) (Key, error) {
	if keys != nil {
		if k, ok := keys(id); ok {
			return k, nil
		}
	}
	return Key{}, &UnknownKeyError{ID: id}
}

// identityByte is (scope << 4) | (type << 2) | 3, the first byte of V3/V4
// advertising and refresh tokens; the low bits make the second base64
// character match the version ("3", "4") (§4.2).
func identityByte(s identity.Scope, t identity.Type) byte {
	return byte(s)<<4 | byte(t)<<2 | 3
}

// splitIdentity recovers scope and type from an identity byte or byte0 of a
// 33-byte raw UID, with the bit positions the operator reads (§3.4). The low
// two bits are ignored; a type value other than email or phone is invalid.
func splitIdentity(b byte) (identity.Scope, identity.Type, bool) {
	s := identity.Scope(b >> 4 & 1)
	t := identity.Type(b >> 2 & 3)
	return s, t, t == identity.TypeEmail || t == identity.TypePhone
}

// validKinds reports whether s and t are values the wire format can carry.
func validKinds(s identity.Scope, t identity.Type) bool {
	return (s == identity.ScopeUID2 || s == identity.ScopeEUID) &&
		(t == identity.TypeEmail || t == identity.TypePhone)
}

// decodeStd decodes standard base64 as Java's basic decoder does
// (internal/b64): padding optional but right when present, no line breaks.
func decodeStd(s string) ([]byte, bool) { return b64.StdString(s) }

// decodeURL decodes URL-safe base64 as Java's URL decoder does.
func decodeURL(s string) ([]byte, bool) { return b64.URLString(s) }

// scratch extends dst by textLen+binLen bytes of capacity and returns dst
// grown to hold the text, plus a scratch region after it where the binary
// token is assembled and encrypted in place before being base64-encoded into
// the text. The two regions do not overlap, so one buffer serves both.
func scratch(dst []byte, textLen, binLen int) (out, text, bin []byte) {
	n := len(dst)
	need := n + textLen + binLen
	if need > cap(dst) {
		grown := make([]byte, n, need)
		copy(grown, dst)
		dst = grown
	}
	full := dst[:need]
	return full[:n+textLen], full[n : n+textLen], full[n+textLen : need]
}

// readRand fills b from r, defaulting to crypto/rand.
func readRand(r io.Reader, b []byte) error {
	if r == nil {
		r = rand.Reader
	}
	if _, err := io.ReadFull(r, b); err != nil {
		return fmt.Errorf("token: read IV: %w", err)
	}
	return nil
}

// sealInPlace encrypts buf[ivLen:ivLen+n] in place with the IV already at
// buf[:12] and writes the tag after it; buf must have room for the tag.
func sealInPlace(a cipher.AEAD, buf []byte, n int) {
	iv := buf[:aesgcm.NonceSize]
	pt := buf[aesgcm.NonceSize : aesgcm.NonceSize+n]
	a.Seal(pt[:0], iv, pt, nil)
}

// openInPlace decrypts data = IV || ct || tag over its own storage and
// returns the plaintext, a sub-slice of data.
func openInPlace(k Key, data []byte) ([]byte, error) {
	if len(data) < aesgcm.Overhead {
		return nil, ErrDecrypt
	}
	a, err := k.gcm()
	if err != nil {
		return nil, ErrDecrypt
	}
	pt, err := aesgcm.OpenWith(data[aesgcm.NonceSize:aesgcm.NonceSize], a, data)
	if err != nil {
		return nil, ErrDecrypt
	}
	return pt, nil
}

// Big-endian field access (§0: all integers are big-endian).
var be = binary.BigEndian

func i32(b []byte) int32 { return int32(be.Uint32(b)) }
func i64(b []byte) int64 { return int64(be.Uint64(b)) }
