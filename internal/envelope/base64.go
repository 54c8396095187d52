package envelope

import "github.com/uid2-private-operator/uid2-operator/internal/b64"

// decodeBase64 decodes src like Java's Base64.getDecoder() (SH
// Utils.decodeBase64String, §1.4) with the operator's one such decoder,
// internal/b64. It returns a new buffer.
func decodeBase64(src []byte) ([]byte, bool) {
	buf := make([]byte, b64.DecodedLen(len(src)))
	n, ok := b64.DecodeStd(buf, src)
	return buf[:n], ok
}

// decodeBase64InPlace decodes src into its own first bytes and returns
// them; src is lost either way.
func decodeBase64InPlace(src []byte) ([]byte, bool) {
	n, ok := b64.DecodeStd(src, src)
	return src[:n], ok
}
