package api

import (
	"github.com/uid2-private-operator/uid2-operator/internal/identity"
	"github.com/uid2-private-operator/uid2-operator/internal/jsonscan"
)

// inputField is one request key naming an identity input.
type inputField struct {
	key  string
	kind identity.InputKind
}

// inputFields lists the identity keys in the reference's order; phone keys
// only with phone support (§2.1 step 1).
func inputFields(phone bool) []inputField {
	f := []inputField{{"email", identity.KindEmail}, {"email_hash", identity.KindEmailHash}}
	if phone {
		f = append(f, inputField{"phone", identity.KindPhone}, inputField{"phone_hash", identity.KindPhoneHash})
	}
	return f
}

// requestFields are the members of a generate, validate or logout request
// that the handlers read, as spans of the payload. Keys match exactly
// (case-sensitive, after unescaping) and a later duplicate replaces an
// earlier one, as when Vert.x decodes the object into a map. A member not
// in the request has Kind jsonscan.Invalid.
type requestFields struct {
	email, emailHash, phone, phoneHash jsonscan.Value
	tcfConsent, token, clientIP        jsonscan.Value
}

// decodeRequest scans a small request object without building a map; a nil
// payload has no fields. ok is false when the payload is not one JSON
// object.
func decodeRequest(payload []byte) (f requestFields, ok bool) {
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

// input returns the member that carries an identity input of kind.
func (f *requestFields) input(kind identity.InputKind) jsonscan.Value {
	switch kind {
	case identity.KindEmail:
		return f.email
	case identity.KindEmailHash:
		return f.emailHash
	case identity.KindPhone:
		return f.phone
	case identity.KindPhoneHash:
		return f.phoneHash
	}
	return jsonscan.Value{}
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

// selectInput finds exactly one identity input among the request's members
// (§2.1 step 1) and returns its kind and value.
func (s *Server) selectInput(req *requestFields) (identity.InputKind, string, error) {
	var (
		kind  identity.InputKind
		value string
		n     int
	)
	for _, f := range s.inputs {
		if v := req.input(f.kind); set(v) {
			n++
			kind, value = f.kind, valueString(v)
		}
	}
	if n != 1 {
		if s.opt.DisablePhone {
			return 0, "", clientError(msgExactlyOneInputEmail)
		}
		return 0, "", clientError(msgExactlyOneInput)
	}
	return kind, value, nil
}

// identityRequest is a request that names exactly one identity input.
type identityRequest struct {
	fields requestFields
	kind   identity.InputKind
	hash   identity.Hash
}

// Steps of parseIdentityRequest that can fail, for callers (logout) that
// answer some of them differently.
var (
	errPayloadJSON   = clientError(msgPayloadNotJSON)
	errBadIdentifier = clientError(msgInvalidIdentifier)
)

// parseIdentityRequest decodes a generate/validate/logout payload, selects
// its one identity input and validates it (§2.1 steps 1–2). Errors are
// errPayloadJSON, the selection error of selectInput, or errBadIdentifier.
func (s *Server) parseIdentityRequest(payload []byte) (identityRequest, error) {
	fields, ok := decodeRequest(payload)
	if !ok {
		return identityRequest{}, errPayloadJSON
	}
	kind, value, err := s.selectInput(&fields)
	if err != nil {
		return identityRequest{}, err
	}
	h, ok := identity.Parse(kind, value)
	if !ok {
		return identityRequest{}, errBadIdentifier
	}
	return identityRequest{fields: fields, kind: kind, hash: h}, nil
}
