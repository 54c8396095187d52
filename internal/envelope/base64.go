package envelope

import (
	"bytes"
	"encoding/base64"
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
