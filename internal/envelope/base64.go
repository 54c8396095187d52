package envelope

import (
	"bytes"
	"encoding/base64"
	"encoding/binary"
	"slices"
)

// decodeBase64 decodes src like Java's Base64.getDecoder() (SH
// Utils.decodeBase64String, §1.4): standard alphabet, '=' padding optional
// but, when present, it must complete the final 4-character unit; no
// whitespace; unused trailing bits ignored. It returns a new buffer.
func decodeBase64(src []byte) ([]byte, bool) {
	// Go's decoders silently skip \r and \n; Java rejects them.
	if bytes.IndexByte(src, '\n') >= 0 || bytes.IndexByte(src, '\r') >= 0 {
		return nil, false
	}
	n := len(src)
	if n > 0 && src[n-1] == '=' {
		if n%4 != 0 {
			return nil, false
		}
		n--
		if src[n-1] == '=' {
			n--
		}
	}
	// RawStdEncoding rejects any '=' left in src[:n] and a dangling single
	// character, matching Java; it is not strict, so trailing bits pass.
	buf := make([]byte, base64.RawStdEncoding.DecodedLen(n))
	m, err := base64.RawStdEncoding.Decode(buf, src[:n])
	if err != nil {
		return nil, false
	}
	return buf[:m], true
}

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

// enc6 returns the eight base64 characters of the top 48 bits of v, first
// character in the low byte.
func enc6(v uint64) uint64 {
	return uint64(b64Pairs[v>>52]) | uint64(b64Pairs[v>>40&0xFFF])<<16 |
		uint64(b64Pairs[v>>28&0xFFF])<<32 | uint64(b64Pairs[v>>16&0xFFF])<<48
}

// appendBase64 appends the padded standard base64 of src to dst, as
// base64.StdEncoding.AppendEncode does, two to three times faster: a text
// mode response envelope is a few hundred KiB for a large identity map.
func appendBase64(dst, src []byte) []byte {
	n0, m := len(dst), base64.StdEncoding.EncodedLen(len(src))
	dst = slices.Grow(dst, m)[:n0+m]
	out := dst[n0:]
	i, j := 0, 0
	// 24 bytes to 32 characters per iteration, as four 8-byte loads (of
	// which the last two bytes are unused) and four 8-byte stores; the
	// fixed-size views leave one bounds check per iteration.
	for ; i+26 <= len(src) && j+32 <= len(out); i, j = i+24, j+32 {
		s := (*[26]byte)(src[i : i+26])
		o := (*[32]byte)(out[j : j+32])
		binary.LittleEndian.PutUint64(o[0:], enc6(binary.BigEndian.Uint64(s[0:])))
		binary.LittleEndian.PutUint64(o[8:], enc6(binary.BigEndian.Uint64(s[6:])))
		binary.LittleEndian.PutUint64(o[16:], enc6(binary.BigEndian.Uint64(s[12:])))
		binary.LittleEndian.PutUint64(o[24:], enc6(binary.BigEndian.Uint64(s[18:])))
	}
	// The last few bytes (and padding) are not worth a hand-written tail.
	base64.StdEncoding.Encode(out[j:], src[i:])
	return dst
}
