package envelope

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"time"
)

// Errors returned by [OpenResponse]. Unlike [Error], these are ours, not the
// reference operator's wire text.
var (
	ErrResponseFormat = errors.New("envelope: malformed response envelope")
	ErrResponseOpen   = errors.New("envelope: cannot decrypt response envelope")
	ErrNonceMismatch  = errors.New("envelope: response nonce does not match request")
)

// SealRequest appends the request envelope a client sends (§1.4) to dst:
// 0x01 || IV(12) || GCM(secret, ts(8) || nonce(8) || payload) || tag(16), with
// ts = now in epoch ms. payload is the request JSON and may be empty. rand
// supplies the IV; nil means crypto/rand. payload must not overlap dst's
// spare capacity. Encode the result for the wire with [AppendBody].
func SealRequest(dst []byte, secret []byte, payload []byte, now time.Time, nonce [8]byte, rand io.Reader) ([]byte, error) {
	n := len(dst)
	dst = append(dst, version)
	var head [headerSize]byte
	binary.BigEndian.PutUint64(head[0:8], uint64(now.UnixMilli()))
	copy(head[8:], nonce[:])
	aead, err := newGCM(secret)
	if err != nil {
		return dst[:n], fmt.Errorf("envelope: secret: %w", err)
	}
	out, err := gcmAppendSeal(dst, aead, head[:], payload, rand)
	if err != nil {
		return dst[:n], err
	}
	return out, nil
}

// OpenResponse opens a response envelope (§1.5.1) received with the given
// mode (see [ModeFor] on the response Content-Type), checks that it echoes
// wantNonce, and returns the response JSON and the server timestamp (epoch
// ms). body is not modified; json aliases a new buffer.
//
// Errors: ErrResponseFormat (not base64, too short), ErrResponseOpen (wrong
// secret or tampered), ErrNonceMismatch.
func OpenResponse(body []byte, mode Mode, secret []byte, wantNonce [8]byte) (json []byte, timestamp int64, err error) {
	var pt []byte
	var ok bool
	secretAEAD, err := newGCM(secret)
	if err != nil {
		return nil, 0, ErrResponseOpen
	}
	if mode == ModeBinary {
		if len(body) < minOverhead {
			return nil, 0, ErrResponseFormat
		}
		pt, ok = gcmOpen(nil, secretAEAD, body)
	} else {
		decoded, okb := decodeBase64(body)
		if !okb || len(decoded) < minOverhead {
			return nil, 0, ErrResponseFormat
		}
		pt, ok = gcmOpen(decoded[ivSize:ivSize], secretAEAD, decoded)
	}
	if !ok {
		return nil, 0, ErrResponseOpen
	}
	if [8]byte(pt[8:16]) != wantNonce {
		return nil, 0, ErrNonceMismatch
	}
	return pt[headerSize:], int64(binary.BigEndian.Uint64(pt[0:8])), nil
}
