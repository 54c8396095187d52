// Package b64 encodes standard, padded base64 (RFC 4648, as
// encoding/base64.StdEncoding) fast on the operator's hot paths: the 32- and
// 33-byte hashes and raw UIDs of identity mapping, and the large text-mode
// response envelopes. Output is byte-identical to encoding/base64.
package b64

import (
	"encoding/base64"
	"encoding/binary"
	"slices"
)

// pairs maps 12 bits to their two base64 characters, first character in the
// low byte, so six input bytes encode with one 8-byte load, four table loads
// and one 8-byte store. It is immutable after package initialization.
var pairs = func() (t [4096]uint16) {
	const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
	for i := range t {
		t[i] = uint16(alphabet[i>>6]) | uint16(alphabet[i&63])<<8
	}
	return t
}()

// enc6 returns the eight base64 characters of the top 48 bits of v, first
// character in the low byte.
func enc6(v uint64) uint64 {
	return uint64(pairs[v>>52]) | uint64(pairs[v>>40&0xFFF])<<16 |
		uint64(pairs[v>>28&0xFFF])<<32 | uint64(pairs[v>>16&0xFFF])<<48
}

// EncodedLen is base64.StdEncoding.EncodedLen.
func EncodedLen(n int) int { return (n + 2) / 3 * 4 }

// Encode writes the base64 of src to the start of dst, which must hold at
// least EncodedLen(len(src)) bytes, and returns the number of bytes written.
func Encode(dst, src []byte) int {
	switch len(src) {
	case 32:
		if len(dst) >= 44 {
			Encode32((*[44]byte)(dst), (*[32]byte)(src))
			return 44
		}
	case 33:
		if len(dst) >= 44 {
			Encode33((*[44]byte)(dst), (*[33]byte)(src))
			return 44
		}
	}
	out := dst[:EncodedLen(len(src))]
	i, j := 0, 0
	// Six bytes at a time while an 8-byte load and store stay in bounds.
	for ; i+8 <= len(src) && j+8 <= len(out); i, j = i+6, j+8 {
		binary.LittleEndian.PutUint64(out[j:], enc6(binary.BigEndian.Uint64(src[i:])))
	}
	for ; i+3 <= len(src); i, j = i+3, j+4 {
		v := uint(src[i])<<16 | uint(src[i+1])<<8 | uint(src[i+2])
		binary.LittleEndian.PutUint32(out[j:], uint32(pairs[v>>12])|uint32(pairs[v&0xFFF])<<16)
	}
	switch len(src) - i {
	case 1:
		binary.LittleEndian.PutUint32(out[j:], uint32(pairs[uint(src[i])<<4])|'='<<16|'='<<24)
		j += 4
	case 2:
		v := uint(src[i])<<16 | uint(src[i+1])<<8
		binary.LittleEndian.PutUint32(out[j:], uint32(pairs[v>>12])|uint32(pairs[v&0xFFF]&0xFF)<<16|'='<<24)
		j += 4
	}
	return j
}

// Encode32 encodes a 32-byte hash: 43 characters and one '='.
func Encode32(dst *[44]byte, src *[32]byte) {
	le, be := binary.LittleEndian, binary.BigEndian
	le.PutUint64(dst[0:], enc6(be.Uint64(src[0:])))
	le.PutUint64(dst[8:], enc6(be.Uint64(src[6:])))
	le.PutUint64(dst[16:], enc6(be.Uint64(src[12:])))
	le.PutUint64(dst[24:], enc6(be.Uint64(src[18:])))
	// The last 8 bytes hold src[24:30] and then the final two bytes.
	last := be.Uint64(src[24:])
	le.PutUint64(dst[32:], enc6(last))
	v := uint(last&0xFFFF) << 8 // src[30], src[31], 0
	le.PutUint32(dst[40:], uint32(pairs[v>>12])|uint32(pairs[v&0xFFF]&0xFF)<<16|'='<<24)
}

// Encode33 encodes a 33-byte raw UID: 44 characters, no padding.
func Encode33(dst *[44]byte, src *[33]byte) {
	le, be := binary.LittleEndian, binary.BigEndian
	le.PutUint64(dst[0:], enc6(be.Uint64(src[0:])))
	le.PutUint64(dst[8:], enc6(be.Uint64(src[6:])))
	le.PutUint64(dst[16:], enc6(be.Uint64(src[12:])))
	le.PutUint64(dst[24:], enc6(be.Uint64(src[18:])))
	le.PutUint64(dst[32:], enc6(be.Uint64(src[24:])))
	v := uint(src[30])<<16 | uint(src[31])<<8 | uint(src[32])
	le.PutUint32(dst[40:], uint32(pairs[v>>12])|uint32(pairs[v&0xFFF])<<16)
}

// AppendEncode appends the base64 of src to dst, as
// base64.StdEncoding.AppendEncode does, two to three times faster for large
// inputs (24 bytes per iteration) and for 32/33-byte ones.
func AppendEncode(dst, src []byte) []byte {
	n0, m := len(dst), EncodedLen(len(src))
	dst = slices.Grow(dst, m)[:n0+m]
	out := dst[n0:]
	if len(src) <= 64 {
		Encode(out, src)
		return dst
	}
	i, j := 0, 0
	// Four 8-byte loads (the last two bytes unused) and four 8-byte stores;
	// the fixed-size views leave one bounds check per iteration.
	for ; i+26 <= len(src) && j+32 <= len(out); i, j = i+24, j+32 {
		s := (*[26]byte)(src[i : i+26])
		o := (*[32]byte)(out[j : j+32])
		binary.LittleEndian.PutUint64(o[0:], enc6(binary.BigEndian.Uint64(s[0:])))
		binary.LittleEndian.PutUint64(o[8:], enc6(binary.BigEndian.Uint64(s[6:])))
		binary.LittleEndian.PutUint64(o[16:], enc6(binary.BigEndian.Uint64(s[12:])))
		binary.LittleEndian.PutUint64(o[24:], enc6(binary.BigEndian.Uint64(s[18:])))
	}
	// The tail (and padding) is not worth a hand-written loop.
	base64.StdEncoding.Encode(out[j:], src[i:])
	return dst
}
