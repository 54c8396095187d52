package aks_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/uid2-private-operator/uid2-operator/internal/aks"
)

func noSleep(context.Context, time.Duration) error { return nil }

func TestProbeOK(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != aks.HealthPath {
			http.NotFound(w, r)
			return
		}
		fmt.Fprint(w, "OK")
	}))
	defer srv.Close()
	p := aks.Probe{URL: srv.URL + aks.HealthPath, Client: srv.Client(), Sleep: noSleep}
	a, err := p.Run(context.Background())
	if err != nil || a.N != 1 || a.Status != 200 || a.Body != "OK" {
		t.Fatalf("Run = %+v, %v; want attempt 1, 200 OK", a, err)
	}
}

func TestProbe503ThenOK(t *testing.T) {
	var calls atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if calls.Add(1) <= 2 {
			w.WriteHeader(http.StatusServiceUnavailable)
			fmt.Fprint(w, "salt-rotator: not started\ncloudsync-optout: not started")
			return
		}
		fmt.Fprint(w, "OK")
	}))
	defer srv.Close()
	var seen []aks.Attempt
	var slept []time.Duration
	p := aks.Probe{
		URL: srv.URL + aks.HealthPath, Client: srv.Client(), Interval: 7 * time.Second,
		Sleep:    func(_ context.Context, d time.Duration) error { slept = append(slept, d); return nil },
		Progress: func(a aks.Attempt) { seen = append(seen, a) },
	}
	a, err := p.Run(context.Background())
	if err != nil || a.N != 3 {
		t.Fatalf("Run = %+v, %v; want success on attempt 3", a, err)
	}
	if len(seen) != 3 || seen[0].Status != 503 || !strings.Contains(seen[0].String(), "salt-rotator: not started; cloudsync-optout") {
		t.Errorf("progress = %v", seen)
	}
	if len(slept) != 2 || slept[0] != 7*time.Second {
		t.Errorf("slept %v; want two 7s waits", slept)
	}
}

func TestProbeGivesUp(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusServiceUnavailable)
		fmt.Fprint(w, "pod-termination: terminating")
	}))
	defer srv.Close()
	p := aks.Probe{URL: srv.URL, Client: srv.Client(), Attempts: 4, Sleep: noSleep}
	a, err := p.Run(context.Background())
	if !errors.Is(err, aks.ErrUnhealthy) || a.N != 4 || !strings.Contains(err.Error(), "HTTP 503: pod-termination: terminating") {
		t.Fatalf("Run = %+v, %v; want ErrUnhealthy after 4 attempts with the 503 reason", a, err)
	}
}

func TestProbeTimeout(t *testing.T) {
	release := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-r.Context().Done():
		case <-release:
		}
	}))
	defer srv.Close()
	defer close(release)
	p := aks.Probe{URL: srv.URL, Client: srv.Client(), Attempts: 2, Timeout: 50 * time.Millisecond, Sleep: noSleep}
	a, err := p.Run(context.Background())
	if !errors.Is(err, aks.ErrUnhealthy) || a.N != 2 || !strings.Contains(err.Error(), "no answer within 50ms") {
		t.Fatalf("Run = %+v, %v; want a timeout after 2 attempts", a, err)
	}
}

func TestProbeConnectionRefused(t *testing.T) {
	srv := httptest.NewServer(http.NotFoundHandler())
	url := srv.URL
	srv.Close()
	p := aks.Probe{URL: url, Attempts: 1, Sleep: noSleep}
	if _, err := p.Run(context.Background()); !errors.Is(err, aks.ErrUnhealthy) {
		t.Fatalf("Run(closed server) = %v; want ErrUnhealthy", err)
	}
}

func TestHealthURL(t *testing.T) {
	for in, want := range map[string]string{
		"20.1.2.3":    "http://20.1.2.3/ops/healthcheck",
		"2001:db8::1": "http://[2001:db8::1]/ops/healthcheck",
	} {
		if got := aks.HealthURL(in); got != want {
			t.Errorf("HealthURL(%s) = %s; want %s", in, got, want)
		}
	}
}

// fakeRunner answers commands from a table keyed by the command line.
type fakeRunner struct {
	answers map[string][]string // each call pops the next answer; "ERR:..." fails
	calls   []string
}

func (f *fakeRunner) Run(_ context.Context, name string, args ...string) ([]byte, error) {
	line := name + " " + strings.Join(args, " ")
	f.calls = append(f.calls, line)
	for prefix, outs := range f.answers {
		if strings.HasPrefix(line, prefix) && len(outs) > 0 {
			out := outs[0]
			if len(outs) > 1 {
				f.answers[prefix] = outs[1:]
			}
			if msg, ok := strings.CutPrefix(out, "ERR:"); ok {
				return nil, errors.New(msg)
			}
			return []byte(out), nil
		}
	}
	return nil, fmt.Errorf("unexpected command %q", line)
}

func TestIPLookupService(t *testing.T) {
	r := &fakeRunner{answers: map[string][]string{"kubectl get service operator-svc": {"", "", "20.1.2.3"}}}
	l := aks.IPLookup{Runner: r, Sleep: noSleep}
	ip, err := l.Find(context.Background())
	if err != nil || ip != "20.1.2.3" || len(r.calls) != 3 {
		t.Fatalf("Find = %q, %v after %d calls; want 20.1.2.3 after 3", ip, err, len(r.calls))
	}
}

func TestIPLookupGuideFallback(t *testing.T) {
	r := &fakeRunner{answers: map[string][]string{
		"kubectl get service": {"ERR:no context"},
		"az aks show":         {"MC_rg_c_eastus\n"},
		"az network public-ip list --resource-group MC_rg_c_eastus": {"20.9.8.7\n"},
	}}
	l := aks.IPLookup{Runner: r, ResourceGroup: "rg", ClusterName: "c", Sleep: noSleep}
	ip, err := l.Find(context.Background())
	if err != nil || ip != "20.9.8.7" {
		t.Fatalf("Find = %q, %v; want 20.9.8.7 (calls %q)", ip, err, r.calls)
	}
}

func TestIPLookupAmbiguous(t *testing.T) {
	r := &fakeRunner{answers: map[string][]string{
		"kubectl get service":       {"ERR:no context"},
		"az aks show":               {"MC_rg_c_eastus"},
		"az network public-ip list": {"20.9.8.7\n20.9.8.8\n"},
	}}
	l := aks.IPLookup{Runner: r, ResourceGroup: "rg", ClusterName: "c", Attempts: 1, Sleep: noSleep}
	if _, err := l.Find(context.Background()); err == nil || !strings.Contains(err.Error(), "--ip") {
		t.Fatalf("Find(two IPs) = %v; want an error asking for --ip", err)
	}
}

func TestIPLookupNoIP(t *testing.T) {
	r := &fakeRunner{answers: map[string][]string{"kubectl get service": {""}}}
	l := aks.IPLookup{Runner: r, Attempts: 2, Sleep: noSleep}
	if _, err := l.Find(context.Background()); !errors.Is(err, aks.ErrNoIP) {
		t.Fatalf("Find(pending) = %v; want ErrNoIP", err)
	}
}

// Issue 9 item 5: a failed command is not retried; only a pending IP is.
func TestIPLookupCommandFailureIsFinal(t *testing.T) {
	r := &fakeRunner{answers: map[string][]string{"kubectl get service": {"ERR:current-context is not set", "20.1.2.3"}}}
	l := aks.IPLookup{Runner: r, Attempts: 5, Sleep: noSleep}
	_, err := l.Find(context.Background())
	if err == nil || !strings.Contains(err.Error(), "current-context is not set") || len(r.calls) != 1 {
		t.Fatalf("Find = %v after %d calls; want kubectl's error after 1", err, len(r.calls))
	}
	missing := &fakeRunner{answers: map[string][]string{}}
	l = aks.IPLookup{Runner: toolMissing{missing}, Attempts: 5, Sleep: noSleep}
	if _, err := l.Find(context.Background()); !errors.Is(err, aks.ErrToolMissing) || !strings.Contains(err.Error(), "--ip") {
		t.Fatalf("Find(no kubectl) = %v; want ErrToolMissing with a hint to pass --ip", err)
	}
}

// toolMissing is a Runner on a machine without kubectl and az.
type toolMissing struct{ *fakeRunner }

func (toolMissing) Run(_ context.Context, name string, _ ...string) ([]byte, error) {
	return nil, fmt.Errorf("%s: %w", name, aks.ErrToolMissing)
}
