package api

import (
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/uid2-private-operator/uid2-operator/internal/cors"
	"github.com/uid2-private-operator/uid2-operator/internal/envelope"
)

// TestSharedHeaderValues: the shared values are what the header names
// say, and a handler that adds to a shared value does not change it for
// the next response.
func TestSharedHeaderValues(t *testing.T) {
	if contentTypeValue(envelope.ModeBinary)[0] != envelope.ModeBinary.ContentType() ||
		contentTypeValue(envelope.ModeText)[0] != envelope.ModeText.ContentType() {
		t.Errorf("content types %v %v", contentTypeValue(envelope.ModeBinary), contentTypeValue(envelope.ModeText))
	}
	for _, tt := range []struct {
		n    int
		want string
	}{{0, "0"}, {7, "7"}, {1500, "1500"}, {8191, "8191"}, {8192, "8192"}, {1 << 20, "1048576"}} {
		for range 2 { // computed, then cached
			if got := contentLengthValue(tt.n); len(got) != 1 || got[0] != tt.want {
				t.Errorf("contentLengthValue(%d) = %q; want [%s]", tt.n, got, tt.want)
			}
		}
	}
	h := cors.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Add("Vary", "Accept")
		setContent(w.Header(), valueJSON, 2)
		w.Header().Add("Content-Type", "x")
		w.Write([]byte("{}"))
	}))
	for range 2 {
		w := httptest.NewRecorder()
		h.ServeHTTP(w, httptest.NewRequest("GET", "/", nil))
		if got := w.Result().Header.Values("Vary"); len(got) != 2 || got[0] != "Origin" || got[1] != "Accept" {
			t.Errorf("Vary = %q; want [Origin Accept]", got)
		}
	}
	if len(valueJSON) != 1 || valueJSON[0] != "application/json" {
		t.Errorf("shared value changed: %q", valueJSON)
	}
}
