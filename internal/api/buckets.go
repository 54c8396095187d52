package api

import (
	"errors"
	"net/http"

	"github.com/uid2-private-operator/uid2-operator/internal/jsonscan"
	"github.com/uid2-private-operator/uid2-operator/internal/mapping"
)

// Buckets wire messages (operator-api.md §2.7); clients match this text; do
// not change.
const (
	msgMissingSince = "missing parameter since_timestamp"
	msgInvalidDate  = "invalid date, must conform to ISO 8601"
)

// handleBuckets is POST /v2/identity/buckets (§2.7): the buckets of the
// current salt snapshot updated at or after since_timestamp, in file order.
//
// An empty payload is a 500 "Internal Server Error" in plain text, as in the
// reference, whose handler dereferences the missing request; kept for byte
// compatibility.
func (s *Server) handleBuckets(req *v2Request) ([]byte, error) {
	if req.payload == nil {
		return nil, mandated(plainError(http.StatusInternalServerError, errors.New("buckets: empty payload")))
	}
	var since jsonscan.Value
	if err := jsonscan.Members(req.payload, func(key []byte, v jsonscan.Value) bool {
		if string(key) == "since_timestamp" {
			since = v
		}
		return true
	}); err != nil {
		return nil, clientError(msgPayloadNotJSON)
	}
	if since.Kind == jsonscan.Invalid || since.Kind == jsonscan.Null {
		return nil, clientError(msgMissingSince)
	}
	// getString stringifies non-strings, which then never parse as a date.
	text := since.Raw
	if since.Kind == jsonscan.String {
		text = since.Content(nil)
	}
	sinceMs, ok, overflow := mapping.ParseLocalDateTime(text)
	if !ok {
		return nil, clientError(msgInvalidDate)
	}
	if overflow {
		// Instant.toEpochMilli throws outside the try in the reference.
		return nil, mandated(plainError(http.StatusInternalServerError, errors.New("buckets: since_timestamp out of millisecond range")))
	}
	out := mapping.AppendBuckets(append(make([]byte, 0, 256), `{"body":`...), req.snap, req.now.UnixMilli(), sinceMs)
	return append(out, `,"status":"success"}`...), nil
}
