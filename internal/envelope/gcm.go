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
func gcmAppendSeal(dst, key, head, body []byte, rand io.Reader) ([]byte, error) {
	aead, err := newGCM(key)
	if err != nil {
		return dst, fmt.Errorf("envelope: secret: %w", err)
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
func gcmOpen(dst, key, data []byte) ([]byte, bool) {
	if len(data) < ivSize+tagSize {
		return nil, false
	}
	aead, err := newGCM(key)
	if err != nil {
		return nil, false
	}
	pt, err := aead.Open(dst, data[:ivSize], data[ivSize:], nil)
	if err != nil {
		return nil, false
	}
	return pt, true
}
