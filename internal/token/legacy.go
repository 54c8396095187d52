package token

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/subtle"
)

// operatorTypeService is OperatorType.Service, the operator's own type; the
// legacy decoders report it because V2 tokens do not carry one.
const operatorTypeService = 1

// openCBC decrypts data = IV(16) || AES-CBC ciphertext with PKCS#7 padding
// (§0 "CBC(key, pt)") in place and returns the plaintext. Every failure is
// ErrDecrypt. CBC carries no MAC; it survives only to read legacy V2 tokens.
func openCBC(k Key, data []byte) ([]byte, error) {
	const bs = aes.BlockSize
	if len(data) < 2*bs || len(data)%bs != 0 {
		return nil, ErrDecrypt
	}
	blk, err := aes.NewCipher(k.Secret)
	if err != nil {
		return nil, ErrDecrypt
	}
	ct := data[bs:]
	cipher.NewCBCDecrypter(blk, data[:bs]).CryptBlocks(ct, ct)
	pad := int(ct[len(ct)-1])
	if pad == 0 || pad > bs {
		return nil, ErrDecrypt
	}
	// Check the padding without branching on each byte.
	good := 1
	for _, c := range ct[len(ct)-pad:] {
		good &= subtle.ConstantTimeByteEq(c, byte(pad))
	}
	if good != 1 {
		return nil, ErrDecrypt
	}
	return ct[:len(ct)-pad], nil
}

// parseIdentityV2 splits the legacy identity block shared by V2 advertising
// and refresh tokens (§4.3, §4.4): site id (4) || L (4) || b64 text (L) ||
// privacy bits (4) || established ms (8). It returns the decoded id.
func parseIdentityV2(p []byte) (site int32, id []byte, privacy uint32, established int64, ok bool) {
	if len(p) < 8 {
		return 0, nil, 0, 0, false
	}
	l := int64(be.Uint32(p[4:]))
	if l > int64(len(p)) || int64(len(p)) != 8+l+12 {
		return 0, nil, 0, 0, false
	}
	id, ok = decodeStd(string(p[8 : 8+l]))
	if !ok {
		return 0, nil, 0, 0, false
	}
	return i32(p), id, be.Uint32(p[8+l:]), i64(p[8+l+4:]), true
}
