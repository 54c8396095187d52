package envelope

import (
	"crypto/cipher"
	crand "crypto/rand"
	"encoding/binary"
	"fmt"
	"io"
	"time"

	"github.com/uid2-private-operator/uid2-operator/internal/b64"
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

// ResponsePrefix is the room SealInPlace needs in front of the response
// JSON: the IV and the timestamp/nonce header.
const ResponsePrefix = ivSize + headerSize

// TagSize is the bytes SealInPlace appends: the GCM tag.
const TagSize = tagSize

// SealInPlace seals a response whose JSON is buf[ResponsePrefix:], in buf
// itself: it writes the IV and header into buf[:ResponsePrefix], encrypts
// from the header on in place and appends the tag, returning the whole
// envelope (§1.5.1), byte for byte what AppendSealWith(nil, …) returns.
// Give buf TagSize bytes of spare capacity to avoid a copy. rand supplies
// the IV; nil means crypto/rand.
func SealInPlace(buf []byte, secret cipher.AEAD, nonce [8]byte, now time.Time, rand io.Reader) ([]byte, error) {
	if len(buf) < ResponsePrefix {
		return nil, fmt.Errorf("envelope: SealInPlace: buffer shorter than ResponsePrefix")
	}
	if secret == nil {
		return nil, fmt.Errorf("envelope: secret: no cipher")
	}
	if rand == nil {
		rand = crand.Reader
	}
	if _, err := io.ReadFull(rand, buf[:ivSize]); err != nil {
		return nil, fmt.Errorf("envelope: read iv: %w", err)
	}
	binary.BigEndian.PutUint64(buf[ivSize:ivSize+8], uint64(now.UnixMilli()))
	copy(buf[ivSize+8:ResponsePrefix], nonce[:])
	pt := buf[ivSize:]
	ct := secret.Seal(pt[:0], buf[:ivSize], pt, nil)
	if &ct[0] != &buf[ivSize] {
		// Seal grew into a new array: put the IV in front of it.
		out := make([]byte, ivSize+len(ct))
		copy(out, buf[:ivSize])
		copy(out[ivSize:], ct)
		return out, nil
	}
	return buf[:ivSize+len(ct)], nil
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

// textChunk is how many sealed bytes WriteBody encodes per write in text
// mode: a multiple of 3, so the chunks join into one valid base64 text.
const textChunk = 48 << 10

// BodyLen is the length of sealed's body for mode (the Content-Length).
func BodyLen(mode Mode, sealed []byte) int {
	if mode == ModeBinary {
		return len(sealed)
	}
	return b64.EncodedLen(len(sealed))
}

// WriteBody writes sealed encoded for mode, as AppendBody would, without
// holding the whole text: base64 is written in chunks through scratch (any
// capacity, grown if too small; ScratchLen(len(sealed)) is enough) and the
// scratch is returned for reuse.
func WriteBody(w io.Writer, mode Mode, sealed, scratch []byte) ([]byte, error) {
	if mode == ModeBinary {
		_, err := w.Write(sealed)
		return scratch, err
	}
	for len(sealed) > 0 {
		chunk := sealed[:min(len(sealed), textChunk)]
		scratch = b64.AppendEncode(scratch[:0], chunk)
		if _, err := w.Write(scratch); err != nil {
			return scratch, err
		}
		sealed = sealed[len(chunk):]
	}
	return scratch, nil
}

// ScratchLen is the scratch capacity WriteBody needs for a text body of n
// sealed bytes.
func ScratchLen(n int) int { return b64.EncodedLen(min(n, textChunk)) }
