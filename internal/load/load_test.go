package load

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/base64"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/uid2-private-operator/uid2-operator/internal/envelope"
	"github.com/uid2-private-operator/uid2-operator/internal/identity"
)

func newSecret() []byte {
	secret := make([]byte, 32)
	rand.Read(secret)
	return secret
}

func testCreds(url string, secret []byte) Credentials {
	return Credentials{BaseURL: url, APIKey: "test-key", Secret: base64.StdEncoding.EncodeToString(secret)}
}

// fakeOperator opens request envelopes with secret and answers status in a
// response envelope; badNonce echoes a wrong nonce.
func fakeOperator(secret []byte, status string, badNonce bool) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		if r.Header.Get("Authorization") != "Bearer test-key" {
			http.Error(w, `{"status":"unauthorized"}`, http.StatusUnauthorized)
			return
		}
		mode := envelope.ModeFor(r.Header.Get("Content-Type"))
		req, err := envelope.Open(body, mode, secret, time.Now(), identity.ScopeUID2)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		if !bytes.HasPrefix(req.Payload, []byte(`{"email":`)) {
			http.Error(w, "unexpected payload", http.StatusBadRequest)
			return
		}
		nonce := req.Nonce
		if badNonce {
			nonce[0]++
		}
		sealed, _ := envelope.AppendSeal(nil, secret, nonce, []byte(`{"body":{},"status":"`+status+`"}`), time.Now(), nil)
		w.Header().Set("Content-Type", mode.ContentType())
		w.Write(envelope.AppendBody(nil, mode, sealed))
	})
}

func run(t *testing.T, h http.Handler, o Options, baseline bool) Result {
	t.Helper()
	ts := httptest.NewServer(h)
	defer ts.Close()
	return runWith(t, ts.URL, testCreds(ts.URL, newSecret()), o, baseline)
}

func runWith(t *testing.T, url string, creds Credentials, o Options, baseline bool) Result {
	t.Helper()
	w, err := Prepare(context.Background(), creds, o)
	if err != nil {
		t.Fatal(err)
	}
	res, err := w.Run(context.Background(), Server{Name: "test", BaseURL: url, PID: os.Getpid(), Baseline: baseline})
	if err != nil {
		t.Fatal(err)
	}
	return res
}

var quick = Options{Conns: 2, Duration: 300 * time.Millisecond, Warmup: 50 * time.Millisecond, Identities: 10}

func TestRunBaseline(t *testing.T) {
	o := quick
	o.Endpoint = MapV3
	res := run(t, BaselineHandler(), o, true)
	if res.Requests == 0 || res.ErrorCount() != 0 || res.RequestsPerSecond() <= 0 {
		t.Fatalf("baseline run: %d requests, errors %v (%v)", res.Requests, res.Errors, res.ErrorText)
	}
	// The server is this process, so its CPU includes the client: it
	// cannot be zero over a busy window.
	if !res.CPUKnown || res.ServerCPU <= 0 || res.CPUPerRequest() <= 0 || res.CPUPerIdentity() <= 0 {
		t.Errorf("CPU: %v known=%v per request %v µs", res.ServerCPU, res.CPUKnown, res.CPUPerRequest())
	}
	if res.Latency.P50 <= 0 || res.Latency.P50 > res.Latency.P90 || res.Latency.P99 > res.Latency.Max || !res.Sampled {
		t.Errorf("latency %+v sampled=%v", res.Latency, res.Sampled)
	}
	if res.Identities != 10 || res.Conns != 2 || res.Elapsed < o.Duration {
		t.Errorf("result %+v", res)
	}
}

func TestRunEnvelopes(t *testing.T) {
	for _, tc := range []struct {
		name      string
		binary    bool
		status    string
		badNonce  bool
		wantError string
	}{
		{name: "text", status: "success"},
		{name: "binary", binary: true, status: "success"},
		{name: "status", status: "client_error", wantError: "status"},
		{name: "nonce", status: "success", badNonce: true, wantError: "decrypt"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			secret := newSecret()
			ts := httptest.NewServer(fakeOperator(secret, tc.status, tc.badNonce))
			defer ts.Close()
			o := quick
			o.Endpoint, o.Binary = Generate, tc.binary
			res := runWith(t, ts.URL, testCreds(ts.URL, secret), o, false)
			if tc.wantError == "" {
				if res.Requests == 0 || res.ErrorCount() != 0 {
					t.Fatalf("%d requests, errors %v %v", res.Requests, res.Errors, res.ErrorText)
				}
				return
			}
			if res.Requests != 0 || res.Errors[tc.wantError] == 0 || res.ErrorText[tc.wantError] == "" {
				t.Fatalf("%d requests, errors %v; want only %q errors", res.Requests, res.Errors, tc.wantError)
			}
		})
	}
}

func TestRunCountsHTTPErrors(t *testing.T) {
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Error(w, `{"status":"unauthorized"}`, http.StatusUnauthorized)
	})
	o := quick
	o.Endpoint = Generate
	res := run(t, h, o, false)
	if res.Requests != 0 || res.Errors["http 401"] == 0 || !strings.Contains(res.ErrorText["http 401"], "unauthorized") {
		t.Fatalf("%d requests, errors %v %v; want only http 401", res.Requests, res.Errors, res.ErrorText)
	}
	row := NewRow(1, res, nil)
	var b strings.Builder
	if err := WriteTable(&b, []Row{row}); err != nil || !strings.Contains(b.String(), "http401:") {
		t.Errorf("table does not show the errors: %v\n%s", err, b.String())
	}
}

func TestRunRefusedServer(t *testing.T) {
	ts := httptest.NewServer(BaselineHandler())
	url := ts.URL
	ts.Close()
	creds := testCreds(url, newSecret())
	o := quick
	o.Endpoint = Generate
	w, err := Prepare(context.Background(), creds, o)
	if err != nil {
		t.Fatal(err)
	}
	res, err := w.Run(context.Background(), Server{Name: "gone", BaseURL: url})
	if err != nil {
		t.Fatal(err)
	}
	if res.Requests != 0 || res.Errors["refused"] == 0 || res.CPUKnown {
		t.Fatalf("errors %v, CPU known %v; want refused and no CPU", res.Errors, res.CPUKnown)
	}
}

func TestOptionsBounds(t *testing.T) {
	creds := Credentials{Secret: base64.StdEncoding.EncodeToString(make([]byte, 32))}
	for _, tc := range []struct {
		o    Options
		want string
	}{
		{Options{Endpoint: "nope"}, "endpoint"},
		{Options{Endpoint: Generate, Conns: MaxConns + 1}, "conns"},
		{Options{Endpoint: Generate, Duration: -time.Second}, "duration"},
		{Options{Endpoint: MapV3, Identities: MaxIdentities + 1}, "identities"},
	} {
		if _, err := Prepare(context.Background(), creds, tc.o); err == nil || !strings.HasPrefix(err.Error(), tc.want) {
			t.Errorf("Prepare(%+v) = %v; want an error naming %s", tc.o, err, tc.want)
		}
	}
	if _, err := Prepare(context.Background(), Credentials{Secret: "c2hvcnQ="}, Options{Endpoint: Generate}); err == nil ||
		!strings.HasPrefix(err.Error(), "secret") {
		t.Errorf("short secret: %v", err)
	}
}

func TestMapPayload(t *testing.T) {
	got := string(mapPayload(3, 2))
	if want := `{"email":["m3-0@example.com","m3-1@example.com"]}`; got != want {
		t.Errorf("mapPayload = %s; want %s", got, want)
	}
}
