package core_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/uid2-private-operator/uid2-operator/internal/attest"
	"github.com/uid2-private-operator/uid2-operator/internal/core"
	"github.com/uid2-private-operator/uid2-operator/internal/core/standin"
	"github.com/uid2-private-operator/uid2-operator/internal/localdata"
	"github.com/uid2-private-operator/uid2-operator/internal/optout"
)

type seen struct {
	path   string
	header http.Header
	body   []byte
}

// TestWireHeaders records what the operator sends to Core, Opt-Out and the
// presigned locations (core-and-optout.md §1.2, §1.6, §3.5).
func TestWireHeaders(t *testing.T) {
	fsys, _ := localdata.Open(time.Now())
	key := standin.NewOperatorKey(standin.DefaultSiteID)
	s, err := standin.New(standin.Options{Dataset: fsys, Operators: []standin.Operator{{Key: key, SiteID: standin.DefaultSiteID}}})
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	var reqs []seen
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		mu.Lock()
		reqs = append(reqs, seen{r.URL.Path, r.Header.Clone(), b})
		mu.Unlock()
		r.Body = io.NopCloser(strings.NewReader(string(b)))
		s.Handler().ServeHTTP(w, r)
	}))
	defer srv.Close()
	c := &coreFixture{srv: srv, key: key, standin: s}
	o := startOperator(t, c.config(true))
	if err := o.Replicator.Replicate(context.Background(), optout.Logout{FLH: [32]byte{1}, AdvertisingID: make([]byte, 32), Email: "x@example.com", TraceID: "trace-1"}); err != nil {
		t.Fatal(err)
	}
	tok := o.Client.Token().Value
	instance := regexp.MustCompile(`^e2e-[0-9a-f]{1,16}$`)
	appVersion := "uid2-operator=test;uid2-shared=" + attest.SharedVersion + ";uid2-attestation-api=" + attest.APIVersion
	var kinds = map[string]int{}
	for _, r := range reqs {
		h := r.header
		switch {
		case r.path == "/attest":
			kinds["attest"]++
			var body map[string]any
			json.Unmarshal(r.body, &body)
			if h.Get("Authorization") != "Bearer "+key || h.Get("Content-Type") != "application/json" ||
				h.Get(core.HeaderAppVersion) != appVersion || !instance.MatchString(h.Get(core.HeaderInstanceID)) {
				t.Errorf("/attest headers = %v", h)
			}
			if body["attestation_request"] != "AA==" || body["operator_type"] != "private" || body["application_name"] != "uid2-operator" {
				t.Errorf("/attest body = %s", r.body)
			}
		case strings.HasSuffix(r.path, "/refresh") || r.path == "/operator/config" || r.path == "/cloud_encryption_keys/retrieve":
			kinds["core"]++
			want := map[string]string{"Authorization": "Bearer " + key, core.HeaderAttestationToken: tok, core.HeaderAppVersion: appVersion}
			if r.path != "/optout/refresh" {
				want[core.HeaderEncrypted] = "true"
			} else if h.Get(core.HeaderEncrypted) != "" {
				t.Errorf("%s sends Encrypted to Opt-Out", r.path)
			}
			for k, v := range want {
				if h.Get(k) != v {
					t.Errorf("%s: %s = %q; want %q", r.path, k, h.Get(k), v)
				}
			}
		case strings.HasPrefix(r.path, "/files/") || strings.HasPrefix(r.path, "/efiles/") || strings.HasPrefix(r.path, "/optout/files/"):
			kinds["download"]++
			for k := range h {
				if k != "User-Agent" && k != "Accept-Encoding" {
					t.Errorf("download %s carries header %s", r.path, k)
				}
			}
		case r.path == "/optout/replicate":
			kinds["replicate"]++
			if h.Get(core.HeaderAttestationToken) != "" || h.Get(core.HeaderAttestationJWT) != "" || h.Get("Authorization") != "Bearer "+key ||
				h.Get(core.HeaderTraceID) != "trace-1" || h.Get("Content-Type") != "application/json" || !instance.MatchString(h.Get(core.HeaderInstanceID)) {
				t.Errorf("replicate headers = %v", h)
			}
			if string(r.body) != `{"email":"x@example.com"}` {
				t.Errorf("replicate body = %s", r.body)
			}
		default:
			t.Errorf("unexpected request %s", r.path)
		}
	}
	if kinds["attest"] != 1 || kinds["core"] < 6 || kinds["download"] < 4 || kinds["replicate"] != 1 {
		t.Errorf("requests by kind = %v", kinds)
	}
}
