package api

import (
	"net/http"
	"strconv"
	"sync/atomic"

	"github.com/uid2-private-operator/uid2-operator/internal/envelope"
)

// Header values of every answer are shared, immutable one-element slices
// assigned straight into the header map: Header.Set allocates a new slice
// (and Content-Length a new string) per response. Sharing is safe because
// a slice of length and capacity 1 is never written in place: net/http
// copies the header when the status is written, and Add appends into a
// new array.
var (
	valueJSON      = []string{"application/json"}
	valueText      = []string{envelope.ContentTypeText}
	valueBinary    = []string{envelope.ContentTypeBinary}
	valueTextPlain = []string{"text/plain; charset=utf-8"}
)

// contentTypeValue is the shared Content-Type value of an envelope mode.
func contentTypeValue(m envelope.Mode) []string {
	if m == envelope.ModeBinary {
		return valueBinary
	}
	return valueText
}

// lengthValues caches Content-Length values of the sizes token and key
// answers have; larger answers format theirs.
var lengthValues [8 << 10]atomic.Pointer[[]string]

// contentLengthValue is the Content-Length header value for n bytes.
func contentLengthValue(n int) []string {
	if n < 0 || n >= len(lengthValues) {
		return []string{strconv.Itoa(n)}
	}
	if v := lengthValues[n].Load(); v != nil {
		return *v
	}
	v := []string{strconv.Itoa(n)}
	lengthValues[n].Store(&v)
	return v
}

// setContent sets an answer's Content-Type and Content-Length.
func setContent(h http.Header, contentType []string, n int) {
	h["Content-Type"] = contentType
	h["Content-Length"] = contentLengthValue(n)
}
