package api

import (
	"errors"
	"strconv"

	"github.com/uid2-private-operator/uid2-operator/internal/jsonscan"
	"github.com/uid2-private-operator/uid2-operator/internal/jsonw"
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
	out := make([]byte, 0, 256)
	out = append(out, `{"body":{"opted_out":[`...)
	var scratch []byte
	inputs, optedOut := 0, 0
	for it := jsonscan.Elements(ids.Raw); ; {
		v, ok := it.Next()
		if !ok {
			break
		}
		inputs++
		if v.Kind == jsonscan.Null || s.opt.OptOuts == nil {
			continue // getString gives null, which no opt-out entry has
		}
		id := v.Raw // other values are looked up by their JSON text
		if v.Kind == jsonscan.String {
			id = v.Content(scratch[:0])
		}
		ts, found := s.opt.OptOuts.AdvertisingIDTimestamp(bytesString(id))
		if !found {
			continue
		}
		optedOut++
		if out[len(out)-1] != '[' {
			out = append(out, ',')
		}
		out = append(out, `{"advertising_id":`...)
		out = jsonw.AppendString(out, bytesString(id))
		out = append(out, `,"opted_out_since":`...)
		out = strconv.AppendInt(out, ts*1000, 10)
		out = append(out, '}')
	}
	s.opt.Metrics.OptoutStatus(req.client, inputs, optedOut)
	return append(out, `]},"status":"success"}`...), nil
}
