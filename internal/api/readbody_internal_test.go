package api

import (
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// TestReadRequestKeepsBufferOnError: an over-limit body is 413 and the
// pooled buffer comes back (empty) for the caller to recycle, instead of
// being dropped on every rejected request.
func TestReadRequestKeepsBufferOnError(t *testing.T) {
	r := httptest.NewRequest(http.MethodPost, "/v2/token/generate", strings.NewReader(strings.Repeat("a", 100)))
	r.Body = http.MaxBytesReader(httptest.NewRecorder(), r.Body, 10)
	buf := make([]byte, 0, 4096)
	var s Server
	body, snap, err := s.readRequestInto(r, buf)
	var e *Error
	if !errors.As(err, &e) || e.HTTP != http.StatusRequestEntityTooLarge {
		t.Fatalf("err = %v; want a 413", err)
	}
	if snap != nil || len(body) != 0 || cap(body) != cap(buf) || &body[:1][0] != &buf[:1][0] {
		t.Fatalf("body len %d cap %d, snap %v; want the caller's empty buffer back", len(body), cap(body), snap)
	}
}
