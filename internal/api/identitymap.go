package api

import (
	"errors"
	"fmt"
	"net/http"

	"github.com/uid2-private-operator/uid2-operator/internal/mapping"
	"github.com/uid2-private-operator/uid2-operator/internal/metrics/httpmetrics"
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
	// Counted before the payload is checked, as the reference does.
	s.opt.Metrics.SDKVersion(req.snap, req.client.SiteID, req.client.Contact, "/v2/identity/map", httpmetrics.Header(req.header, httpmetrics.ClientVersion))
	if req.payload == nil {
		return nil, mandated(unknownError(msgMapV2Unknown, fmt.Errorf("empty payload")))
	}
	chosen, arr, err := mapping.ParseV2(req.payload, !s.opt.DisablePhone)
	if err != nil {
		return nil, s.mapV2Error(err)
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
	out, err = m.AppendV2(append(out, `{"body":{`...), chosen, arr)
	if err != nil {
		return nil, unknownError(msgMapV2Unknown, err)
	}
	s.opt.Metrics.Mapped(req.client, "/v2/identity/map", m.Counts())
	return append(out, `},"status":"success"}`...), nil
}

// mapV2Error is the reference's answer to a ParseV2 error.
func (s *Server) mapV2Error(err error) *Error {
	var notArray *mapping.NotArrayError
	switch {
	case errors.Is(err, mapping.ErrNotJSON):
		return clientError(msgPayloadNotJSON)
	case errors.As(err, &notArray):
		return clientError(notArray.Key + msgMustBeArraySuffix)
	case errors.Is(err, mapping.ErrInputCount):
		return s.exactlyOneMissing()
	}
	return mandated(unknownError(msgMapV2Unknown, err))
}

func (s *Server) exactlyOneMissing() *Error {
	if s.opt.DisablePhone {
		return clientError(msgExactlyOneInputEmail)
	}
	return clientError(msgExactlyOneInput)
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
	// The route skips the envelope's JSON check (uncheckedPayload): ParseV3
	// validates the whole payload itself.
	vals, err := mapping.ParseV3(req.payload)
	switch {
	case errors.Is(err, mapping.ErrNotJSON):
		return nil, clientError(msgPayloadNotJSON)
	case errors.Is(err, mapping.ErrInputCount):
		return nil, clientError(missing)
	case err != nil:
		return nil, clientError(msgIncorrectFormat)
	}
	if req.client.ServiceID != 0 {
		// Parsing errors come before the service-link answer.
		if err := mapping.ValidV3(&vals); err != nil {
			return nil, clientError(msgIncorrectFormat)
		}
		return nil, serviceLinkOK(req.client)
	}

	m := s.newMapper(req)
	out := req.responseBuf(4*len(req.payload) + 256)
	out, err = m.AppendV3(append(out, `{"body":{`...), &vals)
	switch {
	case errors.Is(err, mapping.ErrIncorrectFormat):
		return nil, clientError(msgIncorrectFormat)
	case err != nil:
		return nil, unknownError(msgMapV3Unknown, err)
	}
	s.opt.Metrics.Mapped(req.client, "/v3/identity/map", m.Counts())
	return append(out, `},"status":"success"}`...), nil
}

// newMapper returns the identity-map engine for one request.
func (s *Server) newMapper(req *v2Request) *mapping.Mapper {
	return mapping.New(&s.mapping, req.snap, req.now.UnixMilli())
}
