// Package aesgcm seals and opens AES-GCM messages in the layout the UID2
// services share, IV(12) || ciphertext || tag(16) with no additional data
// (operator-api.md §0 "GCM(key, pt)", used by §1.5, §2.2 step 6, §2.12, §4).
package aesgcm

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
)

// Sizes of the framing around a sealed message, in bytes.
const (
	NonceSize = 12
	TagSize   = 16
	Overhead  = NonceSize + TagSize
)

// Errors returned by this package.
var (
	// ErrOpen is the one opaque error for every message that fails to open:
	// too short, wrong key or tampered. It never says which.
	ErrOpen = errors.New("aesgcm: message authentication failed")

	// ErrKeySize reports a key that is not 16, 24 or 32 bytes long.
	ErrKeySize = errors.New("aesgcm: invalid key size")

	// ErrAEAD reports an AEAD whose nonce or tag size is not 12 and 16 bytes.
	ErrAEAD = errors.New("aesgcm: AEAD must use 12-byte nonces and 16-byte tags")
)

// New returns an AES-GCM AEAD for key (16, 24 or 32 bytes). Build it once per
// key and reuse it: construction allocates, Seal and Open do not. The stdlib
// AEAD keeps no per-call state, so it may be shared between goroutines.
func New(key []byte) (cipher.AEAD, error) {
	switch len(key) {
	case 16, 24, 32:
	default:
		return nil, ErrKeySize
	}
	b, err := aes.NewCipher(key)
	if err != nil {
		return nil, err
	}
	return cipher.NewGCM(b)
}

// Seal appends IV || AES-GCM(key, plaintext) || tag to dst and returns the
// extended slice. The IV is read from rand; nil means crypto/rand.Reader.
// plaintext must not overlap the bytes appended to dst.
func Seal(dst, key, plaintext []byte, rand io.Reader) ([]byte, error) {
	a, err := New(key)
	if err != nil {
		return nil, err
	}
	return SealWith(dst, a, plaintext, rand)
}

// SealWith is Seal with a prebuilt AEAD (see New). It does not allocate when
// dst has room for len(plaintext)+Overhead more bytes.
func SealWith(dst []byte, a cipher.AEAD, plaintext []byte, rand io.Reader) ([]byte, error) {
	if a.NonceSize() != NonceSize || a.Overhead() != TagSize {
		return nil, ErrAEAD
	}
	n := len(dst)
	out := grow(dst, len(plaintext)+Overhead)
	iv := out[n : n+NonceSize]
	if err := readIV(rand, iv); err != nil {
		return nil, err
	}
	return a.Seal(out[:n+NonceSize], iv, plaintext, nil), nil
}

// Open returns the plaintext of data = IV || ciphertext || tag in a new
// slice. Every failure is ErrOpen, except a bad key size (ErrKeySize).
func Open(key, data []byte) ([]byte, error) {
	a, err := New(key)
	if err != nil {
		return nil, err
	}
	return OpenWith(nil, a, data)
}

// OpenWith appends the plaintext of data to dst with a prebuilt AEAD. To
// decrypt in place, pass data[NonceSize:NonceSize] as dst. Every failure is
// ErrOpen.
func OpenWith(dst []byte, a cipher.AEAD, data []byte) ([]byte, error) {
	if a.NonceSize() != NonceSize || a.Overhead() != TagSize {
		return nil, ErrAEAD
	}
	if len(data) < Overhead {
		return nil, ErrOpen
	}
	out, err := a.Open(dst, data[:NonceSize], data[NonceSize:], nil)
	if err != nil {
		return nil, ErrOpen
	}
	return out, nil
}

// readIV fills iv from r, defaulting to crypto/rand.
func readIV(r io.Reader, iv []byte) error {
	if r == nil {
		r = rand.Reader
	}
	if _, err := io.ReadFull(r, iv); err != nil {
		return fmt.Errorf("aesgcm: read IV: %w", err)
	}
	return nil
}

// grow returns dst extended by n bytes, reallocating only when cap is short.
func grow(dst []byte, n int) []byte {
	total := len(dst) + n
	if total <= cap(dst) {
		return dst[:total]
	}
	out := make([]byte, total, total+total/4)
	copy(out, dst)
	return out
}
