package api_test

import (
	"bytes"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/uid2-private-operator/uid2-operator/internal/api"
)

// plainHandler is an operator without the envelope (enable_v2_encryption=
// false), so fuzzed bytes reach the request parsers directly.
func plainHandler(f *testing.F) (http.Handler, string) {
	fx := newFixture(f, api.Options{})
	now := time.Now()
	h := api.New(api.Options{Store: fx.store, Now: func() time.Time { return now }, DisableV2Encryption: true}).Handler()
	return h, fx.creds.All.APIKey
}

func post(h http.Handler, key, path string, body []byte) *httptest.ResponseRecorder {
	req := httptest.NewRequest("POST", path, bytes.NewReader(body))
	req.Header.Set("Authorization", "Bearer "+key)
	w := httptest.NewRecorder()
	h.ServeHTTP(w, req)
	return w
}

// checkAnswer fails unless the answer is a 200 with a JSON body or one of the
// errors the endpoint documents.
func checkAnswer(t *testing.T, path string, body []byte, w *httptest.ResponseRecorder, allowed500 string) {
	t.Helper()
	switch w.Code {
	case 200, 400:
		if !json.Valid(w.Body.Bytes()) {
			t.Fatalf("%s %q: %d with invalid JSON %q", path, body, w.Code, w.Body)
		}
	case 500:
		if w.Body.String() != allowed500 {
			t.Fatalf("%s %q: 500 %s", path, body, w.Body)
		}
	default:
		t.Fatalf("%s %q: unexpected %d %s", path, body, w.Code, w.Body)
	}
}

var mapSeeds = []string{
	`{"email":["a@b.com","bad",1,true]}`, `{"email_hash":[],"phone":["+12345678901"]}`,
	`{"email":["\u0041@b.com","x\"y"],"email":null}`, `{"phone_hash":["` + sha256b64("+12345678901") + `"]}`,
	`{"email":[null]}`, `{"email":"a"}`, `{"link_id":"x","email":["a@b.com"]}`, `{}`, `[]`, `{"email":[[]]}`,
	`{"email":["` + "\xff" + `@b.com"]}`, `{"email":["\ud800@b.com"]}`,
}

// FuzzIdentityMapV3 checks that the v3 parser never panics, answers only
// documented errors, and decodes every string exactly as encoding/json does:
// each element maps to the answer a one-element request built by
// encoding/json gets.
func FuzzIdentityMapV3(f *testing.F) {
	h, key := plainHandler(f)
	for _, s := range mapSeeds {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		w := post(h, key, "/v3/identity/map", body)
		checkAnswer(t, "/v3/identity/map", body, w, "")
		var req map[string][]string
		dec := json.NewDecoder(bytes.NewReader(body))
		if dec.Decode(&req) != nil || dec.More() || len(req) == 0 {
			return
		}
		for k := range req {
			if k != "email" && k != "email_hash" && k != "phone" && k != "phone_hash" {
				return
			}
		}
		if bytes.Contains(body, []byte("null")) || !noDuplicateKeys(body) {
			return // null elements (400 here, "" there) and duplicate keys are covered by e2e tests
		}
		if w.Code != 200 {
			t.Fatalf("%q: %d %s; encoding/json decodes it as %v", body, w.Code, w.Body, req)
		}
		var resp struct {
			Body map[string][]json.RawMessage `json:"body"`
		}
		if err := json.Unmarshal(w.Body.Bytes(), &resp); err != nil {
			t.Fatal(err)
		}
		for k, list := range req {
			if len(resp.Body[k]) != len(list) {
				t.Fatalf("%q: %s has %d answers for %d inputs", body, k, len(resp.Body[k]), len(list))
			}
			for i, in := range list {
				one, _ := json.Marshal(map[string][]string{k: {in}})
				var single struct {
					Body map[string][]json.RawMessage `json:"body"`
				}
				if err := json.Unmarshal(post(h, key, "/v3/identity/map", one).Body.Bytes(), &single); err != nil {
					t.Fatal(err)
				}
				if string(single.Body[k][0]) != string(resp.Body[k][i]) {
					t.Fatalf("%q: %s[%d] = %s; alone (%s) = %s", body, k, i, resp.Body[k][i], one, single.Body[k][0])
				}
			}
		}
	})
}

// noDuplicateKeys reports whether none of the four input keys appears twice
// (spelled plainly) in body.
func noDuplicateKeys(body []byte) bool {
	var raw map[string]json.RawMessage
	if json.Unmarshal(body, &raw) != nil {
		return false
	}
	n := 0
	for _, k := range []string{`"email"`, `"email_hash"`, `"phone"`, `"phone_hash"`} {
		n += bytes.Count(body, []byte(k))
	}
	return n == len(raw)
}

// FuzzIdentityMapV2 checks the v2 parser: no panics, documented errors only,
// and on success one answer per input.
func FuzzIdentityMapV2(f *testing.F) {
	h, key := plainHandler(f)
	for _, s := range mapSeeds {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		w := post(h, key, "/v2/identity/map", body)
		checkAnswer(t, "/v2/identity/map", body, w, `{"message":"Unknown error while mapping identity v2","status":"unknown"}`)
		if w.Code != 200 {
			return
		}
		var resp struct {
			Body struct {
				Mapped   []json.RawMessage `json:"mapped"`
				Unmapped []json.RawMessage `json:"unmapped"`
			} `json:"body"`
		}
		if err := json.Unmarshal(w.Body.Bytes(), &resp); err != nil {
			t.Fatal(err)
		}
		var req map[string]json.RawMessage
		if json.Unmarshal(body, &req) != nil {
			t.Fatalf("%q answered 200 but is not a JSON object", body)
		}
		total := 0
		for _, k := range []string{"email", "email_hash", "phone", "phone_hash"} {
			var list []json.RawMessage
			if json.Unmarshal(req[k], &list) == nil {
				total += len(list)
			}
		}
		if got := len(resp.Body.Mapped) + len(resp.Body.Unmapped); got != total {
			t.Fatalf("%q: %d answers for %d inputs", body, got, total)
		}
	})
}

// FuzzBucketsAndOptoutStatus checks the two small parsers never panic and
// answer only documented errors.
func FuzzBucketsAndOptoutStatus(f *testing.F) {
	h, key := plainHandler(f)
	for _, s := range []string{
		`{"since_timestamp":"2024-01-01T00:00:00.123"}`, `{"since_timestamp":"+999999999-12-31T23:59:59.999999999"}`,
		`{"since_timestamp":"-999999999-01-01T00:00"}`, `{"since_timestamp":"2024-1-1T0:0"}`, `{"since_timestamp":7}`,
		`{"advertising_ids":["AAAA",null,1]}`, `{"advertising_ids":{}}`, `{}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		w := post(h, key, "/v2/identity/buckets", body)
		checkAnswer(t, "/v2/identity/buckets", body, w, "Internal Server Error")
		w = post(h, key, "/v2/optout/status", body)
		checkAnswer(t, "/v2/optout/status", body, w, `{"message":"Unknown error while getting optout status","status":"unknown"}`)
	})
}
