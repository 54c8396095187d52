package identity

import (
	"encoding/binary"
	"slices"
)

// b64Pairs maps 12 bits to their two standard base64 characters, first
// character in the low byte, so six input bytes encode with one 8-byte load,
// four table loads and one 8-byte store.
var b64Pairs = func() (t [4096]uint16) {
	const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
	for i := range t {
		t[i] = uint16(alphabet[i>>6]) | uint16(alphabet[i&63])<<8
	}
	return t
}()

// encodeBase64 writes the padded standard base64 of src to the start of dst,
// which must hold at least base64EncodedLen(len(src)) bytes, and returns the
// number of bytes written. It produces what base64.StdEncoding.Encode does,
// several times faster for the 31–33-byte hashes and raw UIDs of this package.
func encodeBase64(dst, src []byte) int {
	switch len(src) {
	case 32:
		if len(dst) >= 44 {
			encode32((*[44]byte)(dst), (*[32]byte)(src))
			return 44
		}
	case 33:
		if len(dst) >= 44 {
			encode33((*[44]byte)(dst), (*[33]byte)(src))
			return 44
		}
	}
	out := dst[:base64EncodedLen(len(src))]
	i, j := 0, 0
	// Six bytes at a time while an 8-byte load and store stay in bounds.
	for ; i+8 <= len(src) && j+8 <= len(out); i, j = i+6, j+8 {
		v := binary.BigEndian.Uint64(src[i:])
		w := uint64(b64Pairs[v>>52]) | uint64(b64Pairs[v>>40&0xFFF])<<16 |
			uint64(b64Pairs[v>>28&0xFFF])<<32 | uint64(b64Pairs[v>>16&0xFFF])<<48
		binary.LittleEndian.PutUint64(out[j:], w)
	}
	for ; i+3 <= len(src); i, j = i+3, j+4 {
		v := uint(src[i])<<16 | uint(src[i+1])<<8 | uint(src[i+2])
		w := uint32(b64Pairs[v>>12]) | uint32(b64Pairs[v&0xFFF])<<16
		binary.LittleEndian.PutUint32(out[j:], w)
	}
	switch len(src) - i {
	case 1:
		w := uint32(b64Pairs[uint(src[i])<<4]) | '='<<16 | '='<<24
		binary.LittleEndian.PutUint32(out[j:], w)
		j += 4
	case 2:
		v := uint(src[i])<<16 | uint(src[i+1])<<8
		w := uint32(b64Pairs[v>>12]) | uint32(b64Pairs[v&0xFFF]&0xFF)<<16 | '='<<24
		binary.LittleEndian.PutUint32(out[j:], w)
		j += 4
	}
	return j
}

// enc6 returns the eight base64 characters of the top 48 bits of v, first
// character in the low byte.
func enc6(v uint64) uint64 {
	return uint64(b64Pairs[v>>52]) | uint64(b64Pairs[v>>40&0xFFF])<<16 |
		uint64(b64Pairs[v>>28&0xFFF])<<32 | uint64(b64Pairs[v>>16&0xFFF])<<48
}

// encode32 is encodeBase64 for a 32-byte hash: 43 characters and one '='.
func encode32(dst *[44]byte, src *[32]byte) {
	le, be := binary.LittleEndian, binary.BigEndian
	le.PutUint64(dst[0:], enc6(be.Uint64(src[0:])))
	le.PutUint64(dst[8:], enc6(be.Uint64(src[6:])))
	le.PutUint64(dst[16:], enc6(be.Uint64(src[12:])))
	le.PutUint64(dst[24:], enc6(be.Uint64(src[18:])))
	// The last 8 bytes hold src[24:30] and then the final two bytes.
	last := be.Uint64(src[24:])
	le.PutUint64(dst[32:], enc6(last))
	v := uint(last&0xFFFF) << 8 // src[30], src[31], 0
	le.PutUint32(dst[40:], uint32(b64Pairs[v>>12])|uint32(b64Pairs[v&0xFFF]&0xFF)<<16|'='<<24)
}

// encode33 is encodeBase64 for a 33-byte raw UID: 44 characters, no padding.
func encode33(dst *[44]byte, src *[33]byte) {
	le, be := binary.LittleEndian, binary.BigEndian
	le.PutUint64(dst[0:], enc6(be.Uint64(src[0:])))
	le.PutUint64(dst[8:], enc6(be.Uint64(src[6:])))
	le.PutUint64(dst[16:], enc6(be.Uint64(src[12:])))
	le.PutUint64(dst[24:], enc6(be.Uint64(src[18:])))
	le.PutUint64(dst[32:], enc6(be.Uint64(src[24:])))
	v := uint(src[30])<<16 | uint(src[31])<<8 | uint(src[32])
	le.PutUint32(dst[40:], uint32(b64Pairs[v>>12])|uint32(b64Pairs[v&0xFFF])<<16)
}

// base64EncodedLen is base64.StdEncoding.EncodedLen.
func base64EncodedLen(n int) int { return (n + 2) / 3 * 4 }

// appendBase64 appends the padded standard base64 of src to dst.
func appendBase64(dst, src []byte) []byte {
	n0, m := len(dst), base64EncodedLen(len(src))
	dst = slices.Grow(dst, m)[:n0+m]
	encodeBase64(dst[n0:], src)
	return dst
}
