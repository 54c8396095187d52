package envelope

import (
	"crypto/aes"
	"crypto/cipher"
	crand "crypto/rand"
	"fmt"
	"io"
	"slices"
)

// This file is the package's only AES-GCM construction: 12-byte random IV,
// 16-byte tag, no AAD, serialized IV || ciphertext || tag (operator-api.md §0).
// It stays unexported so it can move to a shared package without API churn.

// NewCipher returns the AES-GCM cipher of a client secret, for OpenWith and
// AppendSealWith; building it once per client saves two allocations and the
// key schedule on every request.
func NewCipher(secret []byte) (cipher.AEAD, error) { return newGCM(secret) }

func newGCM(key []byte) (cipher.AEAD, error) {
	block, err := aes.NewCipher(key) // key size picks AES-128/192/256
	if err != nil {
		return nil, err
	}
	return cipher.NewGCM(block)
}

// gcmAppendSeal appends IV || GCM(key, head || body) || tag to dst. The
// plaintext is assembled in dst's tail and sealed in place, so the only
// allocations are the cipher's.
func gcmAppendSeal(dst []byte, aead cipher.AEAD, head, body []byte, rand io.Reader) ([]byte, error) {
	if aead == nil {
		return dst, fmt.Errorf("envelope: secret: no cipher")
	}
	if rand == nil {
		rand = crand.Reader
	}
	n := len(dst)
	ptLen := len(head) + len(body)
	dst = slices.Grow(dst, ivSize+ptLen+tagSize)
	iv := dst[n : n+ivSize]
	if _, err := io.ReadFull(rand, iv); err != nil {
		return dst[:n], fmt.Errorf("envelope: read iv: %w", err)
	}
	pt := dst[n+ivSize : n+ivSize+ptLen]
	copy(pt, head)
	copy(pt[len(head):], body)
	ct := aead.Seal(pt[:0], iv, pt, nil)
	return dst[:n+ivSize+len(ct)], nil
}

// gcmOpen decrypts data = IV || ciphertext || tag, appending the plaintext to
// dst (pass data[ivSize:ivSize] to decrypt in place). Every failure, including
// a bad key size or short data, is the same opaque false.
func gcmOpen(dst []byte, aead cipher.AEAD, data []byte) ([]byte, bool) {
	if len(data) < ivSize+tagSize || aead == nil {
		return nil, false
	}
	pt, err := aead.Open(dst, data[:ivSize], data[ivSize:], nil)
	if err != nil {
		return nil, false
	}
	return pt, true
}
