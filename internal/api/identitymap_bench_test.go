package api_test

import (
	"bytes"
	"encoding/base64"
	"fmt"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/uid2-private-operator/uid2-operator/internal/api"
	"github.com/uid2-private-operator/uid2-operator/internal/envelope"
	"github.com/uid2-private-operator/uid2-operator/internal/identity"
	"github.com/uid2-private-operator/uid2-operator/internal/salts"
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
//
// mode is "binary" (application/octet-stream envelope, like the Java SDK),
// "text" (base64 envelope, like the Python SDK) or "plain" (no envelope:
// enable_v2_encryption=false), which isolates the handler from the envelope.
func benchMap(b *testing.B, path string, payload []byte, n int, mode string) {
	h, f, now := benchServer(b)
	secret, _ := base64.StdEncoding.DecodeString(f.creds.Mapper.Secret)
	env, err := envelope.SealRequest(nil, secret, payload, now, [8]byte{1}, nil)
	if err != nil {
		b.Fatal(err)
	}
	var body []byte
	var ct string
	switch mode {
	case "binary":
		body, ct = env, "application/octet-stream"
	case "text":
		body, ct = []byte(base64.StdEncoding.EncodeToString(env)), "text/plain"
	case "plain":
		body, ct = payload, "application/json"
		h = api.New(api.Options{Store: f.store, Now: func() time.Time { return now }, DisableV2Encryption: true}).Handler()
	}
	auth := "Bearer " + f.creds.Mapper.APIKey
	var w discardWriter // bench_test.go
	b.ReportAllocs()
	b.SetBytes(int64(len(body)))
	b.ResetTimer()
	cpu0 := processCPU()
	for b.Loop() {
		req := httptest.NewRequest("POST", path, bytes.NewReader(body))
		req.Header.Set("Authorization", auth)
		req.Header.Set("Content-Type", ct)
		w.reset()
		h.ServeHTTP(&w, req)
		if w.code != 200 {
			b.Fatalf("status %d", w.code)
		}
	}
	cpu := processCPU() - cpu0
	perOp := b.Elapsed().Seconds() / float64(b.N)
	b.ReportMetric(float64(n)/perOp, "ids/s")
	b.ReportMetric(perOp*1e9/float64(n), "ns/id")
	if cpu > 0 {
		// Identities per CPU-second of the whole process (GC included):
		// identities/s/core, independent of other load on the machine.
		cpuPerOp := cpu.Seconds() / float64(b.N)
		b.ReportMetric(float64(n)/cpuPerOp, "ids/cpu-s")
		b.ReportMetric(cpuPerOp*1e9/float64(n), "cpu-ns/id")
	}
}

// BenchmarkIdentityMapV3 maps 5,000 emails per request over /v3/identity/map.
func BenchmarkIdentityMapV3(b *testing.B) {
	p := mapPayload("email", mapBatch)
	for _, mode := range []string{"binary", "text", "plain"} {
		b.Run(mode, func(b *testing.B) { benchMap(b, "/v3/identity/map", p, mapBatch, mode) })
	}
}

// BenchmarkIdentityMapV2 maps 5,000 emails per request over /v2/identity/map.
func BenchmarkIdentityMapV2(b *testing.B) {
	benchMap(b, "/v2/identity/map", mapPayload("email", mapBatch), mapBatch, "binary")
}

// BenchmarkIdentityMapFloor is the identity-package work alone for the same
// 5,000 emails (normalize + 3 SHA-256 + previous UID where it applies), the
// floor that BenchmarkIdentityMapV3 is measured against.
func BenchmarkIdentityMapFloor(b *testing.B) {
	_, f, now := benchServer(b)
	snap := f.store.Load()
	nowMs := now.UnixMilli()
	table := snap.Salts.At(nowMs).Table
	flSalt := snap.Salts.FirstLevel()
	env, _ := identity.ParseEnvironment(snap.Runtime.IdentityEnvironment)
	emails := make([]string, mapBatch)
	for i := range emails {
		emails[i] = fmt.Sprintf("User.%d+tag@Example%d.com", i, i%97)
	}
	uid := func(flh *[32]byte, salt string, km salts.KeyMaterial) identity.RawUID {
		if salt != "" {
			return identity.RawUIDv2(flh, salt)
		}
		k, err := snap.Salts.V4Key(km)
		if err != nil {
			b.Fatal(err)
		}
		return k.RawUID(flh, identity.ScopeUID2, identity.TypeEmail, env)
	}
	b.ReportAllocs()
	b.ResetTimer()
	cpu0 := processCPU()
	var sink byte
	for b.Loop() {
		for _, e := range emails {
			h, _ := identity.EmailHash(e)
			flh := identity.FirstLevelHash(h, flSalt)
			entry := table.Entry(identity.BucketIndex(&flh, table.Len()))
			u := uid(&flh, entry.CurrentSalt, entry.CurrentKey)
			sink ^= u.Bytes()[0]
			if salts.PreviousApplies(entry, nowMs) {
				p := uid(&flh, entry.PreviousSalt, entry.PreviousKey)
				sink ^= p.Bytes()[0]
			}
		}
	}
	cpu := processCPU() - cpu0
	b.ReportMetric(b.Elapsed().Seconds()*1e9/float64(b.N)/mapBatch, "ns/id")
	if cpu > 0 {
		b.ReportMetric(cpu.Seconds()*1e9/float64(b.N)/mapBatch, "cpu-ns/id")
	}
	_ = sink
}
