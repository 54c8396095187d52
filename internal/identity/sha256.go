package identity

import (
	"crypto/sha256"
	"encoding/binary"
)

// The hashes of this package have short inputs (one to three blocks), where
// crypto/sha256's streaming digest spends about a third of the time outside
// the compression function: copying into its block buffer, building the
// padding, copying the digest state. sum256 pads in the caller's buffer and
// calls the SHA-NI compression function once; without SHA-NI it is
// crypto/sha256.Sum256.

// sha256IV is the SHA-256 initial hash value (FIPS 180-4 §5.3.3).
var sha256IV = [8]uint32{
	0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a,
	0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19,
}

// paddedLen is the length of an n-byte message with its SHA-256 padding.
func paddedLen(n int) int { return (n + 9 + 63) &^ 63 }

// sum256 returns SHA-256(msg). It uses msg's spare capacity, up to
// paddedLen(len(msg)), for the padding, overwriting whatever is there; when
// the capacity is too small it is crypto/sha256.Sum256.
func sum256(msg []byte) [32]byte {
	n := len(msg)
	end := paddedLen(n)
	if !useSHANI || cap(msg) < end {
		return sha256.Sum256(msg)
	}
	b := msg[:end]
	b[n] = 0x80
	clear(b[n+1 : end-8])
	binary.BigEndian.PutUint64(b[end-8:], uint64(n)<<3)
	h := sha256IV
	blocksSHANI(&h, &b[0], end/64)
	var out [32]byte
	for i, v := range h {
		binary.BigEndian.PutUint32(out[4*i:], v)
	}
	return out
}
