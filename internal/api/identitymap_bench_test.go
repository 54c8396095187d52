package api_test

import (
	"bytes"
	"encoding/base64"
	"fmt"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/uid2-private-operator/uid2-operator/internal/envelope"
)

// mapBatch is the identity-map batch size the docs recommend (§2.16).
const mapBatch = 5000

// mapPayload is a request of n distinct emails for key.
func mapPayload(key string, n int) []byte {
	var b strings.Builder
	b.WriteString(`{"` + key + `":[`)
	for i := range n {
		if i > 0 {
			b.WriteByte(',')
		}
		fmt.Fprintf(&b, `"User.%d+tag@Example%d.com"`, i, i%97)
	}
	b.WriteString(`]}`)
	return []byte(b.String())
}

// benchMap runs one sealed request per iteration through the whole handler
// (auth, envelope open, parse, map, render, seal) and reports identities/s.
func benchMap(b *testing.B, path string, payload []byte, n int, binary bool) {
	h, f, now := benchServer(b)
	secret, _ := base64.StdEncoding.DecodeString(f.creds.Mapper.Secret)
	env, err := envelope.SealRequest(nil, secret, payload, now, [8]byte{1}, nil)
	if err != nil {
		b.Fatal(err)
	}
	body, ct := []byte(base64.StdEncoding.EncodeToString(env)), "text/plain"
	if binary {
		body, ct = env, "application/octet-stream"
	}
	auth := "Bearer " + f.creds.Mapper.APIKey
	b.ReportAllocs()
	b.SetBytes(int64(len(body)))
	b.ResetTimer()
	for b.Loop() {
		req := httptest.NewRequest("POST", path, bytes.NewReader(body))
		req.Header.Set("Authorization", auth)
		req.Header.Set("Content-Type", ct)
		w := httptest.NewRecorder()
		h.ServeHTTP(w, req)
		if w.Code != 200 {
			b.Fatalf("status %d: %s", w.Code, w.Body)
		}
	}
	perOp := b.Elapsed().Seconds() / float64(b.N)
	b.ReportMetric(float64(n)/perOp, "ids/s")
	b.ReportMetric(perOp*1e9/float64(n), "ns/id")
}

// BenchmarkIdentityMapV3 maps 5,000 emails per request over /v3/identity/map.
func BenchmarkIdentityMapV3(b *testing.B) {
	p := mapPayload("email", mapBatch)
	b.Run("binary", func(b *testing.B) { benchMap(b, "/v3/identity/map", p, mapBatch, true) })
	b.Run("text", func(b *testing.B) { benchMap(b, "/v3/identity/map", p, mapBatch, false) })
}

// BenchmarkIdentityMapV2 maps 5,000 emails per request over /v2/identity/map.
func BenchmarkIdentityMapV2(b *testing.B) {
	benchMap(b, "/v2/identity/map", mapPayload("email", mapBatch), mapBatch, true)
}
