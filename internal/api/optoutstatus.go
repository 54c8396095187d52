package api

import (
	"errors"

	"github.com/uid2-private-operator/uid2-operator/internal/jsonscan"
	"github.com/uid2-private-operator/uid2-operator/internal/optout"
)

// Opt-out status wire messages (operator-api.md §2.8); clients match this
// text; do not change.
const (
	msgInvalidRequestBody    = "Invalid request body"
	msgMissingAdvertisingIDs = "Required Parameter Missing: advertising_ids"
	msgPayloadTooLarge       = "Request payload is too large"
	msgOptoutStatusUnknown   = "Unknown error while getting optout status"
)

// handleOptoutStatus is POST /v2/optout/status (§2.8): which of the given
// raw UIDs (exact standard base64 strings) have opted out, and since when.
//
// A non-array advertising_ids answers the reference's 500 {"message":
// "Unknown error while getting optout status","status":"unknown"}, kept for
// byte compatibility.
func (s *Server) handleOptoutStatus(req *v2Request) ([]byte, error) {
	if req.payload == nil {
		return nil, clientError(msgInvalidRequestBody)
	}
	var ids jsonscan.Value
	if err := jsonscan.Members(req.payload, func(key []byte, v jsonscan.Value) bool {
		if string(key) == "advertising_ids" {
			ids = v
		}
		return true
	}); err != nil {
		return nil, clientError(msgPayloadNotJSON)
	}
	switch ids.Kind {
	case jsonscan.Invalid, jsonscan.Null:
		return nil, clientError(msgMissingAdvertisingIDs)
	case jsonscan.Array:
	default:
		return nil, mandated(unknownError(msgOptoutStatusUnknown, errors.New("advertising_ids is not an array")))
	}
	if jsonscan.Len(ids.Raw) > s.opt.OptoutStatusMaxRequestSize {
		return nil, clientError(msgPayloadTooLarge)
	}
	out, inputs, optedOut := optout.AppendStatus(append(make([]byte, 0, 256), `{"body":{"opted_out":`...), ids.Raw, s.opt.OptOuts)
	s.opt.Metrics.OptoutStatus(req.client, inputs, optedOut)
	return append(out, `},"status":"success"}`...), nil
}
