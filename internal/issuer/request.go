package issuer

import (
	"errors"

	"github.com/uid2-private-operator/uid2-operator/internal/identity"
	"github.com/uid2-private-operator/uid2-operator/internal/jsonscan"
)

// Errors of ParseRequest, in the order its steps meet them (§2.1 steps 1–2).
var (
	ErrPayloadJSON   = errors.New("issuer: payload is not a JSON object")
	ErrInputCount    = errors.New("issuer: not exactly one identity input")
	ErrBadIdentifier = errors.New("issuer: invalid identifier")
)

// Request is a generate, validate or logout payload that names exactly one
// identity input, validated and hashed.
type Request struct {
	Kind identity.InputKind
	Hash identity.Hash
	f    fields
}

// fields are the members the handlers read, as spans of the payload. Keys
// match exactly (case-sensitive, after unescaping) and a later duplicate
// replaces an earlier one, as when Vert.x decodes the object into a map. A
// member not in the request has Kind jsonscan.Invalid.
type fields struct {
	email, emailHash, phone, phoneHash jsonscan.Value
	tcfConsent, token, clientIP        jsonscan.Value
}

// ParseRequest scans a small request object (without building a map),
// selects its one identity input among email, email_hash and, with phone
// support, phone and phone_hash, in the reference's order, and validates
// it. A nil payload has no members.
func ParseRequest(payload []byte, phone bool) (Request, error) {
	f, ok := decodeFields(payload)
	if !ok {
		return Request{}, ErrPayloadJSON
	}
	r := Request{f: f}
	inputs := [...]struct {
		kind identity.InputKind
		v    jsonscan.Value
	}{{identity.KindEmail, f.email}, {identity.KindEmailHash, f.emailHash}, {identity.KindPhone, f.phone}, {identity.KindPhoneHash, f.phoneHash}}
	n, value := 0, ""
	for i, in := range inputs {
		if i >= 2 && !phone {
			break
		}
		if set(in.v) {
			n++
			r.Kind, value = in.kind, valueString(in.v)
		}
	}
	if n != 1 {
		return Request{}, ErrInputCount
	}
	h, ok := identity.Parse(r.Kind, value)
	if !ok {
		return Request{}, ErrBadIdentifier
	}
	r.Hash = h
	return r, nil
}

// TCFConsent returns tcf_consent_string and whether the member is in the
// request at all (EUID checks it even when null: §2.1 step 3).
func (r *Request) TCFConsent() (string, bool) {
	return valueString(r.f.tcfConsent), given(r.f.tcfConsent)
}

// Token returns the token member of a validate request, if set.
func (r *Request) Token() (string, bool) { return valueString(r.f.token), set(r.f.token) }

// Audit returns logout's optional audit members, "" when not set.
func (r *Request) Audit() (email, phone, clientIP string) {
	get := func(v jsonscan.Value) string {
		if set(v) {
			return valueString(v)
		}
		return ""
	}
	return get(r.f.email), get(r.f.phone), get(r.f.clientIP)
}

// decodeFields scans the members the handlers read; ok is false when the
// payload is not one JSON object.
func decodeFields(payload []byte) (f fields, ok bool) {
	if payload == nil {
		return f, true
	}
	err := jsonscan.Members(payload, func(key []byte, v jsonscan.Value) bool {
		switch string(key) {
		case "email":
			f.email = v
		case "email_hash":
			f.emailHash = v
		case "phone":
			f.phone = v
		case "phone_hash":
			f.phoneHash = v
		case "tcf_consent_string":
			f.tcfConsent = v
		case "token":
			f.token = v
		case "clientIp":
			f.clientIP = v
		}
		return true
	})
	return f, err == nil
}

// given reports whether a member is in the request, even as null.
func given(v jsonscan.Value) bool { return v.Kind != jsonscan.Invalid }

// set reports whether a member is in the request with a non-null value.
func set(v jsonscan.Value) bool { return v.Kind != jsonscan.Invalid && v.Kind != jsonscan.Null }

// valueString reads a member the way Vert.x 4's getString does: strings as
// their decoded content, other values as their JSON text.
func valueString(v jsonscan.Value) string {
	if v.Kind == jsonscan.String {
		if v.Plain {
			return string(v.Raw[1 : len(v.Raw)-1])
		}
		var buf [64]byte
		return string(jsonscan.Unquote(buf[:0], v.Raw))
	}
	return string(v.Raw)
}
