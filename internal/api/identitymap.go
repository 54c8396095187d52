package api

import (
	"errors"
	"fmt"
	"net/http"
	"unsafe"

	"github.com/uid2-private-operator/uid2-operator/internal/identity"
	"github.com/uid2-private-operator/uid2-operator/internal/jsonscan"
	"github.com/uid2-private-operator/uid2-operator/internal/mapping"
	"github.com/uid2-private-operator/uid2-operator/internal/store"
)

// Identity-map wire messages (operator-api.md §1.3, §2.5, §2.6); clients match
// this text; do not change.
const (
	msgMapMixedMissing      = "Required Parameter Missing: one or more of [email, email_hash, phone, phone_hash] must be specified"
	msgMapMixedMissingEmail = "Required Parameter Missing: one or more of [email, email_hash] must be specified"
	msgIncorrectFormat      = "Incorrect request format"
	msgMapV2Unknown         = "Unknown error while mapping identity v2"
	msgMapV3Unknown         = "Unknown error while mapping identity v3"
	msgInvalidLinkID        = "Invalid link_id"
	msgMustBeArraySuffix    = " must be an array"
)

// unknownError is a JSON 500 {"message":…,"status":"unknown"}.
func unknownError(msg string, err error) *Error {
	return &Error{HTTP: http.StatusInternalServerError, Status: statusUnknown, Message: msg, Err: err}
}

// serviceLinkOK is the service-link check of the MAPPER endpoints (§1.3).
// This operator runs with validate_service_links=false (private operators
// receive no services), where the reference rejects every client that has a
// service id and accepts all others, link_id or not.
func serviceLinkOK(c *store.Client) error {
	if c.ServiceID != 0 {
		return &Error{HTTP: http.StatusUnauthorized, Status: statusUnauthorized, Message: msgInvalidLinkID,
			Err: fmt.Errorf("client %s has service id %d but service links are not validated", c.KeyID, c.ServiceID)}
	}
	return nil
}

// handleIdentityMapV2 is POST /v2/identity/map (§2.5).
//
// Two reference artefacts are kept byte for byte: an empty payload and a
// JSON null array element answer 500 {"message":"Unknown error while mapping
// identity v2","status":"unknown"}, because that is what deployed clients of
// the reference observe; a 400 would be friendlier but would differ.
func (s *Server) handleIdentityMapV2(req *v2Request) ([]byte, error) {
	if req.payload == nil {
		return nil, mandated(unknownError(msgMapV2Unknown, fmt.Errorf("empty payload")))
	}
	var vals [4]jsonscan.Value // by InputKind-1; Vert.x keeps the last duplicate
	if err := jsonscan.Members(req.payload, func(key []byte, v jsonscan.Value) bool {
		if k, ok := identity.ParseInputKind(bytesString(key)); ok {
			vals[k-1] = v
		}
		return true
	}); err != nil {
		return nil, clientError(msgPayloadNotJSON)
	}
	// The reference checks the keys in order and answers with the first
	// problem it meets; phone keys are not even read without phone support.
	var chosen identity.InputKind
	seen := false
	for _, f := range s.inputs {
		v := vals[f.kind-1]
		switch v.Kind {
		case jsonscan.Invalid, jsonscan.Null:
			continue
		case jsonscan.Array:
		default:
			return nil, clientError(f.key + msgMustBeArraySuffix)
		}
		seen = true
		if it := jsonscan.Elements(v.Raw); hasNext(&it) {
			if chosen != 0 {
				return nil, s.exactlyOneMissing()
			}
			chosen = f.kind
		}
	}
	if !seen {
		return nil, s.exactlyOneMissing()
	}
	var arr []byte
	if chosen != 0 {
		arr = vals[chosen-1].Raw
	}
	for it := jsonscan.Elements(arr); ; {
		v, ok := it.Next()
		if !ok {
			break
		}
		if v.Kind == jsonscan.Null {
			return nil, mandated(unknownError(msgMapV2Unknown, fmt.Errorf("null element in %s", chosen)))
		}
	}
	if err := serviceLinkOK(req.client); err != nil {
		return nil, err
	}
	if chosen == 0 {
		return success([]byte(`{"mapped":[]}`)), nil
	}

	m := s.newMapper(req)
	// An answer is about four times its input (identifier, raw UID, bucket).
	out := req.responseBuf(4*len(arr) + 256)
	out, err := m.AppendV2(append(out, `{"body":{`...), chosen, arr)
	if err != nil {
		return nil, unknownError(msgMapV2Unknown, err)
	}
	s.reportMap(m, "/v2/identity/map", req.client)
	return append(out, `},"status":"success"}`...), nil
}

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

func (s *Server) exactlyOneMissing() *Error {
	if s.opt.DisablePhone {
		return clientError(msgExactlyOneInputEmail)
	}
	return clientError(msgExactlyOneInput)
}

func hasNext(it *jsonscan.Iter) bool {
	_, ok := it.Next()
	return ok
}

// handleIdentityMapV3 is POST /v3/identity/map (§2.6): any mix of the four
// input arrays, parsed strictly like the reference's Jackson record, answered
// with index-aligned arrays of {"u","p","r"} or {"e"} objects.
func (s *Server) handleIdentityMapV3(req *v2Request) ([]byte, error) {
	missing := msgMapMixedMissing
	if s.opt.DisablePhone {
		missing = msgMapMixedMissingEmail
	}
	if req.payload == nil {
		return nil, clientError(missing)
	}
	// The route skips the envelope's JSON check (v2Validating): Members
	// validates the whole payload even after the callback stops, so a syntax
	// error anywhere wins over a bad member earlier in it, as in §1.4 step 7.
	var vals [4]jsonscan.Value
	members, bad := 0, false
	if err := jsonscan.Members(req.payload, func(key []byte, v jsonscan.Value) bool {
		members++
		k, ok := identity.ParseInputKind(bytesString(key))
		if !ok || (v.Kind != jsonscan.Array && v.Kind != jsonscan.Null) {
			bad = true // unknown property (link_id too) or not an array
			return false
		}
		vals[k-1] = v // a later duplicate wins, null clears
		return true
	}); err != nil {
		return nil, clientError(msgPayloadNotJSON)
	}
	switch {
	case members == 0:
		return nil, clientError(missing)
	case bad:
		return nil, clientError(msgIncorrectFormat)
	}
	if req.client.ServiceID != 0 {
		// Parsing errors come before the service-link answer.
		for _, v := range vals {
			if !validV3Array(v) {
				return nil, clientError(msgIncorrectFormat)
			}
		}
		return nil, serviceLinkOK(req.client)
	}

	m := s.newMapper(req)
	out := req.responseBuf(4*len(req.payload) + 256)
	out, err := m.AppendV3(append(out, `{"body":{`...), &vals)
	switch {
	case errors.Is(err, mapping.ErrIncorrectFormat):
		return nil, clientError(msgIncorrectFormat)
	case err != nil:
		return nil, unknownError(msgMapV3Unknown, err)
	}
	s.reportMap(m, "/v3/identity/map", req.client)
	return append(out, `},"status":"success"}`...), nil
}

// validV3Array reports whether v is absent, null, or an array of scalars
// that Jackson coerces to strings.
func validV3Array(v jsonscan.Value) bool {
	if v.Kind != jsonscan.Array {
		return true
	}
	for it := jsonscan.Elements(v.Raw); ; {
		e, ok := it.Next()
		if !ok {
			return true
		}
		if e.Kind != jsonscan.String && e.Kind != jsonscan.Number && e.Kind != jsonscan.Bool {
			return false
		}
	}
}

// newMapper returns the identity-map engine for one request.
func (s *Server) newMapper(req *v2Request) *mapping.Mapper {
	return mapping.New(&s.mapping, req.snap, req.now.UnixMilli())
}

// reportMap records a request's identity-map counts on the metrics.
func (s *Server) reportMap(m *mapping.Mapper, path string, c *store.Client) {
	n := m.Counts()
	s.opt.Metrics.IdentityMap(c, path, &n.PerKind, n.Invalid, n.OptedOut)
	s.opt.Metrics.RawUIDsDerived(&n.UIDs)
}

// bytesString views b as a string without copying, for read-only calls that
// do not retain it. b must not change while the string is in use.
func bytesString(b []byte) string {
	return unsafe.String(unsafe.SliceData(b), len(b))
}
