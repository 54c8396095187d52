package api

import (
	"encoding/json"

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

// selectInput finds exactly one identity input among the request keys
// (§2.1 step 1) and returns its kind and value.
func (s *Server) selectInput(req map[string]json.RawMessage) (identity.InputKind, string, error) {
	var (
		kind  identity.InputKind
		value string
		n     int
	)
	for _, f := range s.inputs {
		if raw := req[f.key]; jsonscan.Present(raw) {
			n++
			kind, value = f.kind, jsonscan.StringValue(raw)
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
	fields map[string]json.RawMessage
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
	fields, ok := jsonscan.DecodeObject(payload)
	if !ok {
		return identityRequest{}, errPayloadJSON
	}
	kind, value, err := s.selectInput(fields)
	if err != nil {
		return identityRequest{}, err
	}
	h, ok := identity.Parse(kind, value)
	if !ok {
		return identityRequest{}, errBadIdentifier
	}
	return identityRequest{fields: fields, kind: kind, hash: h}, nil
}
