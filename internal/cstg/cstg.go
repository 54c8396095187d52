// Package cstg implements the request side of client-side token generation
// (operator-api.md §2.12, POST /v2/token/client-generate): decoding the
// body, the origin and app-name rules (public suffixes and host names as
// Guava's InternetDomainName reads them), the ECDH key agreement with the
// subscription's server key, the additional data the client sealed with,
// opening the payload, and selecting its one identity input.
//
// Each step is a function that api calls in the reference's order; failures
// are *Error values carrying the reference's wire message and a Kind that
// api turns into an HTTP status. Nothing here does I/O or keeps state.
package cstg

import (
	"bytes"
	"crypto/aes"
	"crypto/cipher"
	"crypto/ecdh"
	"crypto/ecdsa"
	"crypto/x509"
	"encoding/json"
	"errors"
	"strconv"
	"strings"

	"github.com/uid2-private-operator/uid2-operator/internal/aesgcm"
	"github.com/uid2-private-operator/uid2-operator/internal/b64"
	"github.com/uid2-private-operator/uid2-operator/internal/identity"
	"github.com/uid2-private-operator/uid2-operator/internal/jsonscan"
	"github.com/uid2-private-operator/uid2-operator/internal/jsonw"
	"github.com/uid2-private-operator/uid2-operator/internal/store"
)

// Wire messages of the reference (§2.12); clients match this text; do not
// change.
const (
	MsgNotJSON           = "json payload is not valid"
	MsgEmpty             = "json payload expected but not found"
	MsgBadSubscription   = "bad subscription_id"
	MsgUnauthorized      = "Unauthorized"
	MsgBadOrigin         = "unexpected http origin"
	MsgBadAppName        = "unexpected app name"
	MsgRequired          = "required parameters: payload, iv, public_key"
	MsgBadPublicKey      = "bad public key"
	MsgBadIV             = "bad iv"
	MsgDecryptFailed     = "payload decryption failed"
	MsgInvalidJSON       = "encrypted payload contains invalid json"
	MsgPhoneDisabled     = "phone support not enabled"
	MsgExactlyOne        = "please provide exactly one of: email_hash, phone_hash"
	MsgExactlyOneNoPhone = "please provide email_hash"
)

// Kind classifies a rejected request; api picks the HTTP status and the
// JSON status for it.
type Kind uint8

// Kinds of rejection.
const (
	BadRequest   Kind = iota // 400 client_error
	Unauthorized             // 401 unauthorized
	BadOrigin                // 403 invalid_http_origin
	BadAppName               // 403 invalid_app_name
)

// Error is a rejected request: Message goes to the client, Err (never DII
// or key material) to the log.
type Error struct {
	Kind    Kind
	Message string
	Err     error
}

func (e *Error) Error() string {
	if e.Err != nil {
		return "cstg: " + e.Message + ": " + e.Err.Error()
	}
	return "cstg: " + e.Message
}

func (e *Error) Unwrap() error { return e.Err }

func reject(msg string) *Error { return &Error{Kind: BadRequest, Message: msg} }

// Request is the plain JSON body of /v2/token/client-generate. String
// fields are "" when absent or null; Has* record presence where it matters.
type Request struct {
	Payload, IV, PublicKey string
	SubscriptionID         string
	AppName                string
	HasApp                 bool
	HasCrypto              bool // payload, iv and public_key all non-null
	Timestamp              int64
}

// ParseRequest decodes the body (§2.12 step 1). Like Jackson's String
// fields, scalar values are taken as their text. Unlike the reference, whose
// strict mapping turns unknown fields into a 500, unknown fields are ignored
// (the spec's recommendation, §7), and values of the wrong shape (objects,
// arrays, a non-integer timestamp) get the step-1 400 instead of a 500.
func ParseRequest(body []byte) (Request, error) {
	var req Request
	if len(bytes.TrimSpace(body)) == 0 {
		return req, reject(MsgEmpty)
	}
	if !jsonscan.ValidObject(body) {
		return req, reject(MsgNotJSON)
	}
	fields, ok := jsonscan.DecodeObject(body)
	if !ok {
		return req, reject(MsgNotJSON)
	}
	var bad bool
	str := func(key string) (string, bool) {
		raw := fields[key]
		if !jsonscan.Present(raw) {
			return "", false
		}
		if t := bytes.TrimSpace(raw); t[0] == '{' || t[0] == '[' {
			bad = true
			return "", false
		}
		return jsonscan.StringValue(raw), true
	}
	var hasPayload, hasIV, hasKey bool
	req.Payload, hasPayload = str("payload")
	req.IV, hasIV = str("iv")
	req.PublicKey, hasKey = str("public_key")
	req.SubscriptionID, _ = str("subscription_id")
	req.AppName, req.HasApp = str("app_name")
	if bad {
		return Request{}, reject(MsgNotJSON)
	}
	req.HasCrypto = hasPayload && hasIV && hasKey
	if raw := fields["timestamp"]; jsonscan.Present(raw) {
		ts, err := strconv.ParseInt(strings.Trim(string(bytes.TrimSpace(raw)), `"`), 10, 64)
		if err != nil {
			return req, reject(MsgNotJSON)
		}
		req.Timestamp = ts
	}
	return req, nil
}

// CheckSite is step 4 of §2.12: an app_name must be one of the site's app
// names (case-insensitively); otherwise the Origin's registrable domain
// must be one of its domain names. A nil site matches nothing.
func CheckSite(site *store.Site, req *Request, origin string) error {
	if req.HasApp {
		if site != nil {
			for _, a := range site.AppNames {
				if strings.EqualFold(a, req.AppName) {
					return nil
				}
			}
		}
		return &Error{Kind: BadAppName, Message: MsgBadAppName}
	}
	if domain, ok := RegistrableDomain(origin); ok && site != nil {
		for _, d := range site.DomainNames {
			if d == domain {
				return nil
			}
		}
	}
	return &Error{Kind: BadOrigin, Message: MsgBadOrigin}
}

// Open is steps 5–8 of §2.12: it derives the shared secret (the raw X
// coordinate of ECDH(server private, client public), used as the AES-256-GCM
// key without a KDF) and opens the payload with AAD [timestamp] or
// [timestamp,"app_name"]. The plaintext is a JSON object; the secret seals
// the answer (aesgcm.Seal).
func Open(kp *store.ClientSideKeypair, req *Request) (secret, plaintext []byte, err error) {
	if !req.HasCrypto {
		return nil, nil, reject(MsgRequired)
	}
	pub, err := ParsePublicKey(req.PublicKey)
	if err != nil {
		return nil, nil, &Error{Kind: BadRequest, Message: MsgBadPublicKey, Err: err}
	}
	iv, ok := b64.StdString(req.IV)
	if !ok || len(iv) != aesgcm.NonceSize {
		return nil, nil, reject(MsgBadIV)
	}
	secret, err = kp.Private.ECDH(pub)
	if err != nil {
		return nil, nil, &Error{Kind: BadRequest, Message: MsgBadPublicKey, Err: err}
	}
	ct, ok := b64.StdString(req.Payload)
	if !ok {
		return nil, nil, reject(MsgDecryptFailed)
	}
	block, err := aes.NewCipher(secret)
	if err != nil {
		return nil, nil, err
	}
	gcm, err := cipher.NewGCM(block)
	if err != nil {
		return nil, nil, err
	}
	plaintext, err = gcm.Open(nil, iv, ct, AppendAAD(nil, req))
	if err != nil {
		return nil, nil, reject(MsgDecryptFailed)
	}
	if !jsonscan.ValidObject(plaintext) {
		return nil, nil, reject(MsgInvalidJSON)
	}
	return secret, plaintext, nil
}

// AppendAAD appends the additional data the client sealed with: the
// compact JSON array [timestamp] or [timestamp,"app_name"], with the string
// escaped as Vert.x's JsonArray encoding (Jackson) does.
func AppendAAD(dst []byte, req *Request) []byte {
	dst = append(dst, '[')
	dst = jsonw.AppendInt(dst, req.Timestamp)
	if req.HasApp {
		dst = append(dst, ',')
		dst = jsonw.AppendString(dst, req.AppName)
	}
	return append(dst, ']')
}

// ParsePublicKey decodes the client's ephemeral key: standard base64 of an
// X.509 SubjectPublicKeyInfo for EC P-256, with no prefix.
func ParsePublicKey(s string) (*ecdh.PublicKey, error) {
	der, ok := b64.StdString(s)
	if !ok {
		return nil, errors.New("public key: not base64")
	}
	k, err := x509.ParsePKIXPublicKey(der)
	if err != nil {
		return nil, errors.New("public key: not an X.509 public key")
	}
	switch k := k.(type) {
	case *ecdsa.PublicKey:
		pub, err := k.ECDH()
		if err == nil && pub.Curve() == ecdh.P256() {
			return pub, nil
		}
	case *ecdh.PublicKey:
		if k.Curve() == ecdh.P256() {
			return k, nil
		}
	}
	return nil, errors.New("public key: not EC P-256")
}

// Input is step 9 of §2.12: the plaintext names exactly one of email_hash
// and phone_hash (raw email and phone are not accepted; phone_hash only
// with phone support). The value is not yet validated.
func Input(plaintext []byte, phone bool) (identity.InputKind, string, error) {
	var fields map[string]json.RawMessage
	if err := json.Unmarshal(plaintext, &fields); err != nil {
		return 0, "", reject(MsgInvalidJSON)
	}
	email, ph := fields["email_hash"], fields["phone_hash"]
	hasEmail, hasPhone := jsonscan.Present(email), jsonscan.Present(ph)
	switch {
	case hasPhone && !phone:
		return 0, "", reject(MsgPhoneDisabled)
	case hasEmail == hasPhone:
		if !phone {
			return 0, "", reject(MsgExactlyOneNoPhone)
		}
		return 0, "", reject(MsgExactlyOne)
	case hasEmail:
		return identity.KindEmailHash, jsonscan.StringValue(email), nil
	}
	return identity.KindPhoneHash, jsonscan.StringValue(ph), nil
}
