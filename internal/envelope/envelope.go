// Package envelope implements the UID2 v2 request and response envelope
// (operator-api.md §1.4–§1.5.1): the operator side ([Open], [AppendSeal],
// [AppendBody]) and the client side ([SealRequest], [OpenResponse]) used by
// the request CLI and by tests.
//
// Request envelope:  0x01 || IV(12) || GCM(secret, ts(8) || nonce(8) || JSON) || tag(16)
// Response envelope:        IV(12) || GCM(secret, ts(8) || nonce(8) || JSON) || tag(16)
//
// Timestamps are epoch milliseconds, big-endian. The secret is the client's
// 32-byte secret (AES-256). All functions are safe for concurrent use.
package envelope

import (
	"crypto/cipher"
	"encoding/binary"
	"strconv"
	"time"

	"github.com/uid2-private-operator/uid2-operator/internal/identity"
	"github.com/uid2-private-operator/uid2-operator/internal/jsonscan"
)

// Mode is the transport encoding of an envelope on the wire (§1.4, §1.5.1).
// The zero value is ModeText.
type Mode uint8

const (
	// ModeText is standard base64 text; responses use Content-Type text/plain.
	ModeText Mode = iota
	// ModeBinary is the raw envelope; responses use application/octet-stream.
	ModeBinary
)

// Content types of envelope responses. The Java SDK compares the binary one
// for exact equality, so it never carries parameters (§1.5.1).
const (
	ContentTypeBinary = "application/octet-stream"
	ContentTypeText   = "text/plain"
)

// ModeFor returns ModeBinary iff contentType equals application/octet-stream,
// ignoring ASCII case; anything else, including parameters or an empty
// value, is text (§1.4).
func ModeFor(contentType string) Mode {
	if asciiEqualFold(contentType, ContentTypeBinary) {
		return ModeBinary
	}
	return ModeText
}

// ContentType returns the response Content-Type for m.
func (m Mode) ContentType() string {
	if m == ModeBinary {
		return ContentTypeBinary
	}
	return ContentTypeText
}

// String returns "text" or "binary".
func (m Mode) String() string {
	if m == ModeBinary {
		return "binary"
	}
	return "text"
}

// Envelope sizes (§1.4).
const (
	version     = 1
	ivSize      = 12
	tagSize     = 16
	headerSize  = 16 // timestamp(8) || nonce(8)
	minOverhead = ivSize + tagSize + headerSize
	// minRequestLen is the shortest request envelope: 1+12+16+8+8 = 45.
	minRequestLen = 1 + minOverhead
)

// Accepted clock drift, in ms, as now−ts. Java computes
// |Duration.between(ts, now).toMinutes()| > 1, and Duration floors negative
// values to whole seconds before toMinutes truncates, so the window is
// −119000…119999 ms, not the 60 s the docs claim (§1.4 step 6).
const (
	maxAheadMillis  = 119000 // client clock ahead of ours
	maxBehindMillis = 119999 // request older than now
)

// Request is a successfully opened request envelope.
type Request struct {
	// Payload is the request JSON object, or nil when the plaintext held only
	// the timestamp and nonce (SDK key refreshes send no JSON). It aliases a
	// buffer that Open allocated, never body.
	Payload []byte
	// Nonce must be echoed in the response envelope.
	Nonce [8]byte
	// Timestamp is the client's request time in epoch milliseconds.
	Timestamp int64
	// Mode is the mode the response must use: ModeText when a binary request
	// was only accepted through the base64 fallback.
	Mode Mode
}

// Error is a rejected request envelope. Message is the exact text the
// reference operator sends in {"message":...,"status":"client_error"} with
// HTTP 400 (§1.4). It never contains request data.
type Error struct {
	Message string
}

func (e *Error) Error() string { return e.Message }

// Wire text of the §1.4 errors; clients match this text; do not change.
const (
	msgBodyMissing    = "Invalid body: Body is missing."
	msgNotBase64      = "Invalid body: Body is not valid base64."
	msgTooShort       = "Invalid body: Body too short. Check encryption method."
	msgVersionStart   = "Invalid body: Invalid request envelope format version: received "
	msgVersionEnd     = ", must be 1."
	msgSecret         = "Invalid body: Check encryption key (ClientSecret)."
	msgTimestamp      = "Invalid timestamp: Request too old or client time drift."
	MsgPayloadNotJSON = "Invalid payload in body: Data is not valid json string."

	// <UNENC>, sent when the body is plain JSON: the caller skipped encryption.
	msgUnencStart = "Invalid body: The request body is unencrypted JSON. It must be an encrypted request envelope. See "
	msgUnencEnd   = docsPath + "#encryption-and-decryption-code-examples for encryption and decryption code examples."

	// <HINT>, appended to the envelope format errors.
	hintStart = " See "
	hintEnd   = docsPath + " for details on the request envelope format."

	docsPath = "/docs/getting-started/gs-encryption-decryption"
	hostUID2 = "https://unifiedid.com"
	hostEUID = "https://euid.eu"
)

// Precomputed scope-dependent messages, so rejecting garbage costs one small
// allocation (the *Error). Indexed by scopeIndex.
var (
	msgsUnenc = [2]string{
		msgUnencStart + hostUID2 + msgUnencEnd,
		msgUnencStart + hostEUID + msgUnencEnd,
	}
	hints = [2]string{
		hintStart + hostUID2 + hintEnd,
		hintStart + hostEUID + hintEnd,
	}
	msgsNotBase64 = [2]string{msgNotBase64 + hints[0], msgNotBase64 + hints[1]}
	msgsTooShort  = [2]string{msgTooShort + hints[0], msgTooShort + hints[1]}
	msgsSecret    = [2]string{msgSecret + hints[0], msgSecret + hints[1]}
)

func scopeIndex(s identity.Scope) int {
	if s == identity.ScopeEUID {
		return 1
	}
	return 0
}

func errorf(msg string) *Error { return &Error{Message: msg} }

// Open opens a v2 request envelope sent with the given mode, checking it in
// the order and with the messages of §1.4 steps 1–7. now is the server clock;
// scope picks the docs host in error hints. Every error is an *Error.
//
// A ModeBinary body that fails to open is retried as base64 text, as the
// reference does; when that fallback decides the outcome, the error is the
// text attempt's and a success has Mode ModeText.
//
// Open does not modify or retain body. Besides the AES-GCM cipher it
// allocates one buffer of about len(body), decrypted in place, which
// Request.Payload aliases.
func Open(body []byte, mode Mode, secret []byte, now time.Time, scope identity.Scope) (Request, error) {
	aead, err := newGCM(secret)
	if err != nil {
		aead = nil // every decryption then fails with the secret message
	}
	return OpenWith(body, mode, aead, now, scope)
}

// OpenWith is Open with the client's cipher from NewCipher.
func OpenWith(body []byte, mode Mode, secret cipher.AEAD, now time.Time, scope identity.Scope) (Request, error) {
	return openWith(body, false, true, mode, secret, now, scope)
}

// OpenInPlace is OpenWith for a body the caller gives up: a text envelope is
// base64-decoded and a binary one decrypted in place, saving a copy of the
// body, and Request.Payload aliases body. The caller must not use body
// afterwards.
func OpenInPlace(body []byte, mode Mode, secret cipher.AEAD, now time.Time, scope identity.Scope) (Request, error) {
	return openWith(body, true, true, mode, secret, now, scope)
}

// OpenInPlaceUnchecked is OpenInPlace without §1.4 step 7: Payload is the
// plaintext after the header, whatever it holds. It is for handlers that
// validate the whole payload while they parse it and answer a payload that
// is not one JSON object with MsgPayloadNotJSON, before any other error;
// it saves a full scan of large bodies.
func OpenInPlaceUnchecked(body []byte, mode Mode, secret cipher.AEAD, now time.Time, scope identity.Scope) (Request, error) {
	return openWith(body, true, false, mode, secret, now, scope)
}

// openWith runs Open; owned says body may be decrypted in place. That is
// safe with the binary→text fallback: decryption only starts once byte 0 is
// the version byte, and then there is no fallback.
func openWith(body []byte, owned, checkPayload bool, mode Mode, secret cipher.AEAD, now time.Time, scope identity.Scope) (Request, error) {
	if mode == ModeBinary {
		req, err := openEnvelope(body, owned, checkPayload, secret, now, scope)
		if err == nil {
			req.Mode = ModeBinary
			return req, nil
		}
		// 0x01 is not a base64 character, so once the version byte matched
		// the fallback cannot succeed; skip its allocation.
		if len(body) > 0 && body[0] == version {
			return Request{}, err
		}
		decoded, ok := decodeText(body, owned)
		if !ok {
			// Not base64 either: the binary diagnosis stands.
			return Request{}, err
		}
		return openEnvelope(decoded, true, checkPayload, secret, now, scope)
	}

	if len(body) == 0 {
		return Request{}, errorf(msgBodyMissing)
	}
	// A failed in-place decode leaves body half overwritten, and the
	// decoded prefix can make it read as a JSON object; decide from the
	// body as sent (decodeText keeps a body that starts an object intact).
	object := startsObject(body)
	decoded, ok := decodeText(body, owned)
	if !ok {
		if object && isJSONObject(body) {
			return Request{}, errorf(msgsUnenc[scopeIndex(scope)])
		}
		return Request{}, errorf(msgsNotBase64[scopeIndex(scope)])
	}
	return openEnvelope(decoded, true, checkPayload, secret, now, scope)
}

// decodeText decodes a base64 body, in place when the caller gave body up
// (saving a buffer of ¾ its size) unless it may be a JSON object: the
// unencrypted-body diagnosis then needs it intact. A JSON object starts
// with '{', which is not base64, so an in-place failure loses nothing.
func decodeText(body []byte, owned bool) ([]byte, bool) {
	if owned && !startsObject(body) {
		return decodeBase64InPlace(body)
	}
	return decodeBase64(body)
}

// startsObject reports whether b's first non-whitespace byte is '{'.
func startsObject(b []byte) bool {
	for _, c := range b {
		switch c {
		case ' ', '\t', '\n', '\r':
			continue
		}
		return c == '{'
	}
	return false
}

// openEnvelope runs §1.4 steps 2–7 on the decoded envelope b. If owned, b is
// a buffer Open allocated and is decrypted in place; otherwise the plaintext
// goes to a new buffer.
func openEnvelope(b []byte, owned, checkPayload bool, secret cipher.AEAD, now time.Time, scope identity.Scope) (Request, error) {
	si := scopeIndex(scope)
	if len(b) == 0 {
		return Request{}, errorf(msgBodyMissing)
	}
	if len(b) < minRequestLen {
		if isJSONObject(b) {
			return Request{}, errorf(msgsUnenc[si])
		}
		return Request{}, errorf(msgsTooShort[si])
	}
	if b[0] != version {
		if isJSONObject(b) {
			return Request{}, errorf(msgsUnenc[si])
		}
		return Request{}, errorf(msgVersionStart + strconv.Itoa(int(b[0])) + msgVersionEnd + hints[si])
	}

	data := b[1:]
	var dst []byte
	if owned {
		dst = data[ivSize:ivSize] // in place: Open allows ciphertext[:0]
	}
	pt, ok := gcmOpen(dst, secret, data)
	if !ok {
		return Request{}, errorf(msgsSecret[si])
	}

	ts := int64(binary.BigEndian.Uint64(pt[0:8]))
	// Compare ts against bounds instead of computing now−ts, which overflows
	// for timestamps near math.MinInt64.
	nowMs := now.UnixMilli()
	if ts < nowMs-maxBehindMillis || ts > nowMs+maxAheadMillis {
		return Request{}, errorf(msgTimestamp)
	}

	req := Request{Timestamp: ts, Mode: ModeText}
	copy(req.Nonce[:], pt[8:16])
	if len(pt) > headerSize {
		payload := pt[headerSize:]
		if checkPayload && !isJSONObject(payload) {
			return Request{}, errorf(MsgPayloadNotJSON)
		}
		req.Payload = payload
	}
	return req, nil
}

// isJSONObject reports whether b is a single valid JSON object, the test the
// reference applies with Vert.x's JsonObject (§1.4 steps 1, 3, 4 and 7).
func isJSONObject(b []byte) bool {
	for _, c := range b {
		switch c {
		case ' ', '\t', '\n', '\r':
			continue
		case '{':
			return jsonscan.ValidObject(b)
		}
		return false
	}
	return false
}

// asciiEqualFold reports whether s equals the lower-case ASCII string lower,
// ignoring ASCII case only (header values are ASCII; no Unicode folding).
func asciiEqualFold(s, lower string) bool {
	if len(s) != len(lower) {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if 'A' <= c && c <= 'Z' {
			c += 'a' - 'A'
		}
		if c != lower[i] {
			return false
		}
	}
	return true
}
