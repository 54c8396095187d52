package token

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"unsafe"

	"github.com/uid2-private-operator/uid2-operator/internal/aesgcm"
	"github.com/uid2-private-operator/uid2-operator/internal/b64"
	"github.com/uid2-private-operator/uid2-operator/internal/identity"
)

// WrapperLen is the exact length of the refresh_token text handed to
// clients; /v2/token/refresh recognises a wrapper by this length alone
// (§2.2 step 1, §4.5).
const WrapperLen = 388

// The wrapper's JSON, compact and in this key order (§4.5 step 2).
const (
	wrapJSONPrefix = `{"refresh_response_key":"`
	wrapJSONMiddle = `","refresh_token":"`
	wrapJSONSuffix = `"}`

	wrapKeyField   = "refresh_response_key"
	wrapTokenField = "refresh_token"

	// wrapHeaderLen is the scope byte and the refresh key id.
	wrapHeaderLen = 5
	// responseKeyB64Len is the b64 length of a 32-byte refresh_response_key.
	responseKeyB64Len = 44
)

// Messages of /v2/token/refresh step 1 (§2.2), one per unwrap failure.
// Clients match this text; do not change.
const (
	msgWrapperBase64    = "Invalid body: Body is not valid base64."
	msgWrapperKeyFormat = "Invalid key: Generator of this token (Key ID: %d) does not exist."
	msgWrapperData      = "Invalid data: Check encryption method and encryption key."
	msgWrapperFormat    = "Invalid format: Payload is not valid json or missing required data."
)

// WrapRefresh appends the 388-character refresh wrapper (§4.5) to dst:
// b64(scope<<4 (1) || refreshKey.ID (4) || GCM(refreshKey, J)) with
// J = {"refresh_response_key":"<b64 responseKey>","refresh_token":"<inner>"}.
// inner is the text of an inner refresh token (AppendRefreshV3); it must be
// standard base64 so that it needs no JSON escaping, and must not overlap
// the bytes appended to dst (appending after it in the same buffer is fine).
// The IV is read from rand (nil means crypto/rand).
//
// The result must be exactly WrapperLen characters, which holds for a
// 168-character inner token; otherwise it fails with ErrWrapperLength, as
// the operator does. It makes no allocation when refreshKey comes from
// NewKey and dst has capacity for 388+291 more bytes. On error dst is
// returned unchanged.
func WrapRefresh(dst []byte, inner []byte, responseKey *[32]byte, scope identity.Scope, refreshKey Key, rand io.Reader) ([]byte, error) {
	if scope != identity.ScopeUID2 && scope != identity.ScopeEUID {
		return dst, ErrInvalid
	}
	for _, c := range inner {
		if !isBase64Std(c) {
			return dst, ErrInvalid
		}
	}
	jsonLen := len(wrapJSONPrefix) + responseKeyB64Len + len(wrapJSONMiddle) + len(inner) + len(wrapJSONSuffix)
	binLen := wrapHeaderLen + aesgcm.Overhead + jsonLen
	if base64.StdEncoding.EncodedLen(binLen) != WrapperLen {
		return dst, ErrWrapperLength
	}
	a, err := refreshKey.gcm()
	if err != nil {
		return dst, err
	}
	out, text, b := scratch(dst, WrapperLen, binLen)

	b[0] = byte(scope) << 4
	be.PutUint32(b[1:], uint32(refreshKey.ID))
	j := b[wrapHeaderLen+aesgcm.NonceSize:]
	n := copy(j, wrapJSONPrefix)
	base64.StdEncoding.Encode(j[n:], responseKey[:])
	n += responseKeyB64Len
	n += copy(j[n:], wrapJSONMiddle)
	n += copy(j[n:], inner)
	copy(j[n:], wrapJSONSuffix)

	if err := readRand(rand, b[wrapHeaderLen:wrapHeaderLen+aesgcm.NonceSize]); err != nil {
		return dst, err
	}
	sealInPlace(a, b[wrapHeaderLen:], jsonLen)
	base64.StdEncoding.Encode(text, b)
	return out, nil
}

// UnwrapRefresh opens a refresh wrapper (§2.2 step 1, §4.5) and returns the
// inner refresh token text and the client's refresh_response_key, which
// seals the response. The scope byte is not checked, as in the operator; the
// key is looked up by id with keys.
//
// Errors, one per §2.2 message (see WrapperMessage): ErrWrapperBase64,
// *UnknownKeyError (carrying the id), ErrDecrypt (also for input too short
// to hold a key id and a sealed payload), ErrWrapperFormat (not a JSON
// object, a field missing or not a string, a response key that is not base64
// of 16, 24 or 32 bytes). An empty refresh_token passes here and fails in
// DecodeRefresh, as in the operator.
func UnwrapRefresh(s string, keys KeyFunc) (inner string, responseKey []byte, err error) {
	t, responseKey, err := UnwrapRefreshInPlace([]byte(s), keys)
	return string(t), responseKey, err
}

// UnwrapRefreshInPlace is UnwrapRefresh that decodes, decrypts and reads the
// wrapper inside b, so a refresh makes no allocation for it. b is
// overwritten whatever the outcome, and inner and responseKey may share its
// memory (they do not overlap, so inner may be decoded in place with
// DecodeRefreshInPlace while responseKey is still in use).
func UnwrapRefreshInPlace(b []byte, keys KeyFunc) (inner, responseKey []byte, err error) {
	n, ok := b64.DecodeStd(b, b)
	if !ok {
		return nil, nil, ErrWrapperBase64
	}
	b = b[:n]
	if len(b) < wrapHeaderLen {
		return nil, nil, ErrDecrypt
	}
	k, err := lookup(keys, i32(b[1:]))
	if err != nil {
		return nil, nil, err
	}
	j, err := openInPlace(k, b[wrapHeaderLen:])
	if err != nil {
		return nil, nil, err
	}
	inner, responseKey, ok = parseWrapperJSON(j)
	if !ok {
		return nil, nil, ErrWrapperFormat
	}
	return inner, responseKey, nil
}

// parseWrapperJSON reads the two fields by exact name (encoding/json would
// also match other letter cases).
func parseWrapperJSON(j []byte) (inner, key []byte, ok bool) {
	// Fast path: the exact layout WrapRefresh writes, which is what every
	// wrapper this operator (or the reference) issued contains.
	if k, t, ok := splitWrapperJSON(j); ok {
		// The key is decoded over its own text, but only once it decoded
		// well, so the general path below still reads j unchanged.
		var key [33]byte
		if n, ok := b64.DecodeStd(key[:], k); ok && n == 32 {
			copy(k, key[:32])
			return t, k[:32:32], true
		}
	}
	return parseWrapperJSONFields(j)
}

// parseWrapperJSONFields is parseWrapperJSON for any JSON layout. It is a
// function of its own so that its heap-allocated variables cost only the
// requests that take it.
func parseWrapperJSONFields(j []byte) (inner, key []byte, ok bool) {
	var fields map[string]json.RawMessage
	if err := json.Unmarshal(j, &fields); err != nil || fields == nil {
		return nil, nil, false
	}
	var keyText, innerText string
	if !jsonString(fields[wrapKeyField], &keyText) || !jsonString(fields[wrapTokenField], &innerText) {
		return nil, nil, false
	}
	key, ok = decodeStd(keyText)
	if !ok {
		return nil, nil, false
	}
	switch len(key) {
	case 16, 24, 32:
		return []byte(innerText), key, true
	}
	return nil, nil, false
}

// splitWrapperJSON recognises {"refresh_response_key":"<44 b64>","refresh_token":"<b64>"}
// with nothing to unescape, and returns the two values.
func splitWrapperJSON(j []byte) (key, inner []byte, ok bool) {
	rest, found := bytes.CutPrefix(j, []byte(wrapJSONPrefix))
	if !found || len(rest) < responseKeyB64Len {
		return nil, nil, false
	}
	k := rest[:responseKeyB64Len]
	rest, found = bytes.CutPrefix(rest[responseKeyB64Len:], []byte(wrapJSONMiddle))
	if !found {
		return nil, nil, false
	}
	t, found := bytes.CutSuffix(rest, []byte(wrapJSONSuffix))
	if !found {
		return nil, nil, false
	}
	for _, c := range k {
		if !isBase64Std(c) {
			return nil, nil, false
		}
	}
	for _, c := range t {
		if !isBase64Std(c) {
			return nil, nil, false
		}
	}
	return k, t, true
}

// bytesString views b as a string without copying; b must not change
// while the string is in use.
func bytesString(b []byte) string { return unsafe.String(unsafe.SliceData(b), len(b)) }

// jsonString decodes raw into *s if raw is a JSON string.
func jsonString(raw json.RawMessage, s *string) bool {
	raw = bytes.TrimSpace(raw)
	return len(raw) > 0 && raw[0] == '"' && json.Unmarshal(raw, s) == nil
}

// WrapperMessage returns the client message of /v2/token/refresh for an
// UnwrapRefresh error (§2.2 step 1). Errors it does not recognise get the
// "Invalid data" message.
func WrapperMessage(err error) string {
	var uk *UnknownKeyError
	switch {
	case errors.Is(err, ErrWrapperBase64):
		return msgWrapperBase64
	case errors.As(err, &uk):
		return fmt.Sprintf(msgWrapperKeyFormat, uk.ID)
	case errors.Is(err, ErrWrapperFormat):
		return msgWrapperFormat
	}
	return msgWrapperData
}

// isBase64Std reports whether c belongs to standard base64 text, padding
// included; such text is safe inside a JSON string without escaping.
func isBase64Std(c byte) bool { return base64StdBytes[c] }

// base64StdBytes is isBase64Std as a table: refresh checks every character
// of the inner token this way, and the comparisons were 6 % of its CPU.
var base64StdBytes = func() (t [256]bool) {
	for _, c := range []byte("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/=") {
		t[c] = true
	}
	return t
}()
