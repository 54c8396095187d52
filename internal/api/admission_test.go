package api_test

import (
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/uid2-private-operator/uid2-operator/internal/admission"
	"github.com/uid2-private-operator/uid2-operator/internal/api"
)

// TestHeavyRoutesAdmission fills the only slot and checks that each heavy
// route answers 429 with Retry-After and a JSON status while a light route
// (generate) is still served; after release the heavy route works again.
func TestHeavyRoutesAdmission(t *testing.T) {
	ctl := admission.New(admission.Config{Slots: 1, MaxWait: 100 * time.Millisecond})
	f := newFixture(t, api.Options{Admission: ctl})
	release, err := ctl.Acquire(context.Background(), 0)
	if err != nil {
		t.Fatal(err)
	}
	for _, path := range []string{"/v2/identity/map", "/v3/identity/map", "/v2/identity/buckets", "/v2/optout/status"} {
		// The 429 comes before authentication: no body is read at all.
		r := do(t, f.srv.Client(), mustRequest("POST", f.srv.URL+path, "x"))
		if r.code != http.StatusTooManyRequests || r.header.Get("Retry-After") != "1" {
			t.Errorf("%s with the slot taken = %d Retry-After %q; want 429 Retry-After 1", path, r.code, r.header.Get("Retry-After"))
		}
		var body struct{ Status, Message string }
		if err := json.Unmarshal(r.body, &body); err != nil || body.Status != "too_many_requests" || body.Message == "" {
			t.Errorf("%s 429 body = %s; want {status: too_many_requests, message}", path, r.body)
		}
	}
	generate(t, f.client(f.creds.Generator), `{"email":"user@example.com"}`)
	release()
	call(t, f, f.creds.Mapper, "/v3/identity/map", `{"email":["user@example.com"]}`)
	if s := ctl.Stats(); s.Running != 0 || s.InUse != 0 || s.Rejected != 4 {
		t.Fatalf("Stats() = %+v; want idle with 4 rejected", s)
	}
}

// TestHeavyRoutesQueue checks that a waiting request is served once the
// running one finishes, within the queue wait.
func TestHeavyRoutesQueue(t *testing.T) {
	ctl := admission.New(admission.Config{Slots: 1, MaxWait: time.Minute})
	f := newFixture(t, api.Options{Admission: ctl})
	release, err := ctl.Acquire(context.Background(), 0)
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		if _, err := f.client(f.creds.Mapper).Do(context.Background(), "/v3/identity/map", []byte(`{"email":["a@b.com"]}`)); err != nil {
			t.Errorf("queued request: %v", err)
		}
	}()
	waitFor(t, func() bool { return ctl.Stats().Waiting == 1 })
	release()
	wg.Wait()
}

// TestMandated500sRateLimited: the reference-mandated 500s for bad client
// input keep their answer but no longer write an ERROR line per request;
// one WARN line per interval carries the count.
func TestMandated500sRateLimited(t *testing.T) {
	var logs lockedBuffer
	now := time.Now()
	var mu sync.Mutex
	clock := func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
	f := newFixture(t, api.Options{Logger: slog.New(slog.NewJSONHandler(&logs, nil)), Now: clock})
	bad := []struct{ path, payload string }{
		{"/v2/identity/map", `{"email":["a@b.com",null]}`},
		{"/v2/identity/map", ``},
		{"/v2/identity/buckets", ``},
		{"/v2/optout/status", `{"advertising_ids":"x"}`},
	}
	for _, b := range bad {
		_, err := f.client(f.creds.All).Do(context.Background(), b.path, []byte(b.payload))
		var se interface{ Error() string }
		if se = err; se == nil || !strings.Contains(err.Error(), "500") {
			t.Fatalf("%s %q = %v; want the reference's 500", b.path, b.payload, err)
		}
	}
	lines := logs.lines()
	if len(lines) != 1 {
		t.Fatalf("log after 4 mandated 500s has %d lines; want 1:\n%s", len(lines), strings.Join(lines, "\n"))
	}
	if l := lines[0]; !strings.Contains(l, `"level":"WARN"`) || !strings.Contains(l, `"count":1`) {
		t.Fatalf("first line = %s; want a WARN with count 1", l)
	}
	mu.Lock()
	now = now.Add(rateLogIntervalForTest)
	mu.Unlock()
	if _, err := f.client(f.creds.All).Do(context.Background(), "/v2/identity/map", nil); err == nil || !strings.Contains(err.Error(), "500") {
		t.Fatalf("empty map payload after the interval = %v; want 500", err)
	}
	lines = logs.lines()
	if len(lines) != 2 || !strings.Contains(lines[1], `"count":4`) {
		t.Fatalf("log after the interval = %q; want a second WARN with count 4", lines)
	}
	for _, l := range lines {
		if strings.Contains(l, `"level":"ERROR"`) {
			t.Fatalf("ERROR line for a mandated 500: %s", l)
		}
	}
}

type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) lines() []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	s := strings.TrimSpace(l.b.String())
	if s == "" {
		return nil
	}
	return strings.Split(s, "\n")
}

// waitFor polls cond, which another goroutine makes true.
func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatal("condition not reached")
		}
		time.Sleep(time.Millisecond)
	}
}

// rateLogIntervalForTest moves the server clock just past the one-minute
// log interval while staying inside the envelope's ±2 minute window.
const rateLogIntervalForTest = 61 * time.Second
