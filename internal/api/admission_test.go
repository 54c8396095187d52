package api_test

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/uid2-private-operator/uid2-operator/internal/admission"
	"github.com/uid2-private-operator/uid2-operator/internal/api"
	"github.com/uid2-private-operator/uid2-operator/internal/clock"
)

// bulkPaths are the routes behind admission, with a payload each accepts.
var bulkPaths = []struct{ path, payload string }{
	{"/v2/identity/map", `{"email":["user@example.com"]}`},
	{"/v3/identity/map", `{"email":["user@example.com"]}`},
	{"/v2/identity/buckets", `{"since_timestamp":"2020-01-01T00:00:00"}`},
	{"/v2/optout/status", `{"advertising_ids":[]}`},
}

// wantBusy checks a 429 with Retry-After 1 and the JSON status.
func wantBusy(t *testing.T, err error) {
	t.Helper()
	wantStatus(t, err, http.StatusTooManyRequests,
		`{"message":"Too many large requests in progress; retry after the Retry-After delay","status":"too_many_requests"}`)
}

// TestBulkRoutesCPUSlot fills the only CPU slot: each bulk route answers an
// authenticated request 429 with Retry-After, a request without a valid
// key still gets its 401 (it is never admitted), and a light route
// (generate) is still served. After release the routes work again.
func TestBulkRoutesCPUSlot(t *testing.T) {
	cpu := admission.New(admission.Config{Slots: 1, MaxWait: 50 * time.Millisecond})
	f := newFixture(t, api.Options{Admission: api.Admission{CPU: cpu}})
	release, err := cpu.Acquire(context.Background(), 0)
	if err != nil {
		t.Fatal(err)
	}
	for _, b := range bulkPaths {
		_, err := f.client(f.creds.All).Do(context.Background(), b.path, []byte(b.payload))
		wantBusy(t, err)
		r := do(t, f.srv.Client(), mustRequest("POST", f.srv.URL+b.path, "x"))
		if r.code != http.StatusUnauthorized {
			t.Errorf("%s without a key while busy = %d; want 401 (not admitted)", b.path, r.code)
		}
	}
	// The 429 carries Retry-After.
	req := mustRequest("POST", f.srv.URL+"/v3/identity/map", sealRequest(t, f.creds.Mapper.Secret, `{"email":["a@b.com"]}`, time.Now()))
	req.Header.Set("Authorization", "Bearer "+f.creds.Mapper.APIKey)
	if r := do(t, f.srv.Client(), req); r.code != http.StatusTooManyRequests || r.header.Get("Retry-After") != "1" {
		t.Errorf("busy map = %d Retry-After %q; want 429 and 1", r.code, r.header.Get("Retry-After"))
	}
	generate(t, f.client(f.creds.Generator), `{"email":"user@example.com"}`)
	release()
	for _, b := range bulkPaths {
		call(t, f, f.creds.All, b.path, b.payload)
	}
	if s := cpu.Stats(); s.Running != 0 || s.Rejected != 5 {
		t.Fatalf("CPU Stats() = %+v; want idle with 5 rejected", s)
	}
}

// TestBulkRoutesMemoryBudget exhausts the memory budget: an authenticated
// bulk request is turned away before its body is read.
func TestBulkRoutesMemoryBudget(t *testing.T) {
	mem := admission.New(admission.Config{Budget: 1 << 20, MaxWait: 50 * time.Millisecond})
	f := newFixture(t, api.Options{Admission: api.Admission{Memory: mem}})
	release, err := mem.Acquire(context.Background(), 1<<20)
	if err != nil {
		t.Fatal(err)
	}
	_, err = f.client(f.creds.Mapper).Do(context.Background(), "/v3/identity/map", []byte(`{"email":["a@b.com"]}`))
	wantBusy(t, err)
	release()
	call(t, f, f.creds.Mapper, "/v3/identity/map", `{"email":["a@b.com"]}`)
	if s := mem.Stats(); s.InUse != 0 || s.Rejected != 1 {
		t.Fatalf("memory Stats() = %+v; want nothing held, 1 rejected", s)
	}
}

// TestBulkRoutesQueue checks that a waiting request is served once the
// running one finishes, within the queue wait.
func TestBulkRoutesQueue(t *testing.T) {
	clk := clock.NewFake(time.Now())
	cpu := admission.New(admission.Config{Slots: 1, MaxWait: time.Minute, Clock: clk})
	f := newFixture(t, api.Options{Admission: api.Admission{CPU: cpu}})
	release, err := cpu.Acquire(context.Background(), 0)
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
	// The queued request arms its wait timer once it is in the queue.
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := clk.BlockUntil(ctx, 1); err != nil || cpu.Stats().Waiting != 1 {
		t.Fatalf("request not queued: %v, Stats() = %+v", err, cpu.Stats())
	}
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

// TestSlowBodyHoldsNoCPUSlot: a client that sends its body slowly holds
// memory budget while it does, but not the only CPU slot, so other bulk
// requests keep being served.
func TestSlowBodyHoldsNoCPUSlot(t *testing.T) {
	cpu := admission.New(admission.Config{Slots: 1, MaxWait: 50 * time.Millisecond})
	mem := admission.New(admission.Config{Budget: 64 << 20, MaxWait: 50 * time.Millisecond})
	f := newFixture(t, api.Options{Admission: api.Admission{Memory: mem, CPU: cpu}})
	conn, err := net.Dial("tcp", f.srv.Listener.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	fmt.Fprintf(conn, "POST /v3/identity/map HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer %s\r\nContent-Length: 1000\r\n\r\nAAAA",
		f.creds.Mapper.APIKey)
	waitFor(t, func() bool { return mem.Stats().Running == 1 }) // admitted to memory, reading its body
	call(t, f, f.creds.Mapper, "/v3/identity/map", `{"email":["a@b.com"]}`)
	if s := cpu.Stats(); s.Rejected != 0 {
		t.Fatalf("CPU Stats() = %+v; the slow body must not hold the slot", s)
	}
}

// TestBulkErrorsReleaseAdmission: a bulk request that fails after it was
// admitted (a body that is no envelope, a body over the limit, a mandated
// 500, a client that hangs up mid-body) gives back its memory and its CPU
// slot, so errors cannot leak the budget until the pod turns every bulk
// request away.
func TestBulkErrorsReleaseAdmission(t *testing.T) {
	mem := admission.New(admission.Config{Budget: 4 << 20, Slots: 1, MaxWait: 50 * time.Millisecond})
	cpu := admission.New(admission.Config{Slots: 1, MaxWait: 50 * time.Millisecond})
	f := newFixture(t, api.Options{Admission: api.Admission{Memory: mem, CPU: cpu}})
	idle := func(what string) {
		t.Helper()
		// The handler may still be returning after the client saw the answer.
		waitFor(t, func() bool {
			m, c := mem.Stats(), cpu.Stats()
			return m.InUse == 0 && m.Running == 0 && c.Running == 0
		})
		if m, c := mem.Stats(), cpu.Stats(); m.Rejected != 0 || c.Rejected != 0 {
			t.Fatalf("after %s: memory %+v, CPU %+v; want nothing rejected", what, m, c)
		}
	}
	post := func(body string) *http.Request {
		req := mustRequest("POST", f.srv.URL+"/v2/identity/map", body)
		req.Header.Set("Authorization", "Bearer "+f.creds.Mapper.APIKey)
		return req
	}
	for _, tt := range []struct {
		name string
		body string
		code int
	}{
		{"not an envelope", "!!not base64!!", http.StatusBadRequest},
		{"over the body limit", strings.Repeat("A", api.MaxRequestBody+1), http.StatusRequestEntityTooLarge},
		{"mandated 500", sealRequest(t, f.creds.Mapper.Secret, `{"email":["a@b.com",null]}`, time.Now()), http.StatusInternalServerError},
	} {
		if r := do(t, f.srv.Client(), post(tt.body)); r.code != tt.code {
			t.Fatalf("%s = %d; want %d", tt.name, r.code, tt.code)
		}
		idle(tt.name)
	}

	// A client that announces 1 MiB, sends a little and hangs up.
	conn, err := net.Dial("tcp", strings.TrimPrefix(f.srv.URL, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	fmt.Fprintf(conn, "POST /v2/identity/map HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer %s\r\nContent-Length: %d\r\n\r\nAAAA",
		f.creds.Mapper.APIKey, 1<<20)
	waitFor(t, func() bool { return mem.Stats().InUse > 0 })
	conn.Close()
	idle("a client hang-up")

	call(t, f, f.creds.Mapper, "/v2/identity/map", `{"email":["a@b.com"]}`)
	idle("a served request")
}
