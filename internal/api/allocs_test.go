package api_test

import (
	"bytes"
	"encoding/base64"
	"io"
	"net/http/httptest"
	"testing"

	"github.com/uid2-private-operator/uid2-operator/internal/envelope"
)

// TestGenerateAllocs bounds the allocations of one /v2/token/generate in
// process (metrics on, the request reused as in BenchmarkGenerate): at
// most 10, issue 13's goal. It counts, it does not time.
func TestGenerateAllocs(t *testing.T) {
	if raceEnabled {
		t.Skip("sync.Pool drops items at random under the race detector")
	}
	h, f, now := benchServer(t)
	secret, _ := base64.StdEncoding.DecodeString(f.creds.Generator.Secret)
	env, err := envelope.SealRequest(nil, secret, []byte(`{"email":"user@example.com"}`), now, [8]byte{1}, nil)
	if err != nil {
		t.Fatal(err)
	}
	body := []byte(base64.StdEncoding.EncodeToString(env))
	req := httptest.NewRequest("POST", "/v2/token/generate", nil)
	req.Header.Set("Authorization", "Bearer "+f.creds.Generator.APIKey)
	rd := bytes.NewReader(body)
	rc := io.NopCloser(rd)
	var w discardWriter
	serve := func() {
		rd.Reset(body)
		req.Body = rc
		req.ContentLength = int64(len(body))
		w.reset()
		h.ServeHTTP(&w, req)
	}
	serve()
	if w.code != 200 {
		t.Fatalf("status %d", w.code)
	}
	if n := testing.AllocsPerRun(200, serve); n > 10 {
		t.Errorf("generate: %.1f allocations per request; want at most 10", n)
	}
}
