package envelope

import (
	"crypto/cipher"
	"encoding/binary"
	"fmt"
	"github.com/uid2-private-operator/uid2-operator/internal/b64"
	"io"
	"time"
)

// AppendSeal appends the response envelope for json to dst and returns the
// extended slice (§1.5.1): IV(12) || GCM(secret, ts(8) || nonce(8) || json) ||
// tag(16), with ts = now in epoch ms and nonce echoed from the request.
// Responses carry no version byte. rand supplies the IV; nil means
// crypto/rand. json must not overlap dst's spare capacity.
//
// Render the result for the wire with [AppendBody].
func AppendSeal(dst []byte, secret []byte, nonce [8]byte, json []byte, now time.Time, rand io.Reader) ([]byte, error) {
	aead, err := newGCM(secret)
	if err != nil {
		return dst, fmt.Errorf("envelope: secret: %w", err)
	}
	return AppendSealWith(dst, aead, nonce, json, now, rand)
}

// AppendSealWith is AppendSeal with the client's cipher from NewCipher.
func AppendSealWith(dst []byte, secret cipher.AEAD, nonce [8]byte, json []byte, now time.Time, rand io.Reader) ([]byte, error) {
	var head [headerSize]byte
	binary.BigEndian.PutUint64(head[0:8], uint64(now.UnixMilli()))
	copy(head[8:], nonce[:])
	return gcmAppendSeal(dst, secret, head[:], json, rand)
}

// AppendBody appends sealed, an envelope from [AppendSeal] or [SealRequest],
// encoded for mode: raw bytes for ModeBinary, standard padded base64 for
// ModeText. Send it with Content-Type mode.ContentType().
func AppendBody(dst []byte, mode Mode, sealed []byte) []byte {
	if mode == ModeBinary {
		return append(dst, sealed...)
	}
	return b64.AppendEncode(dst, sealed)
}
