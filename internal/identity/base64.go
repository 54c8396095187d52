package identity

import "slices"

// b64Pairs maps 12 bits to their two standard base64 characters, so three
// input bytes encode with two table loads instead of four.
var b64Pairs = func() (t [4096][2]byte) {
	const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
	for i := range t {
		t[i] = [2]byte{alphabet[i>>6], alphabet[i&63]}
	}
	return t
}()

// encodeBase64 writes the padded standard base64 of src to the start of dst,
// which must hold at least base64EncodedLen(len(src)) bytes, and returns the
// number of bytes written. It produces what base64.StdEncoding.Encode does,
// about twice as fast for the 31–33-byte hashes and raw UIDs of this package.
func encodeBase64(dst, src []byte) int {
	n := len(src) / 3 * 3
	out := dst[:base64EncodedLen(len(src))]
	j := 0
	for i := 0; i < n; i += 3 {
		v := uint(src[i])<<16 | uint(src[i+1])<<8 | uint(src[i+2])
		hi, lo := b64Pairs[v>>12], b64Pairs[v&0xFFF]
		out[j], out[j+1], out[j+2], out[j+3] = hi[0], hi[1], lo[0], lo[1]
		j += 4
	}
	switch len(src) - n {
	case 1:
		hi := b64Pairs[uint(src[n])<<4]
		out[j], out[j+1], out[j+2], out[j+3] = hi[0], hi[1], '=', '='
		j += 4
	case 2:
		v := uint(src[n])<<16 | uint(src[n+1])<<8
		hi, lo := b64Pairs[v>>12], b64Pairs[v&0xFFF]
		out[j], out[j+1], out[j+2], out[j+3] = hi[0], hi[1], lo[0], '='
		j += 4
	}
	return j
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
