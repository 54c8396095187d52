package lifecycle_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/uid2-private-operator/uid2-operator/internal/clock"
	"github.com/uid2-private-operator/uid2-operator/internal/lifecycle"
)

var timeouts = lifecycle.Timeouts{Read: 5 * time.Second, Write: 5 * time.Second, Idle: time.Minute}

// syncBuffer is a log sink safe for the server's goroutines.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// start serves h on 127.0.0.1 with p until the returned cancel; done yields
// Serve's result once.
func start(t *testing.T, p *lifecycle.Process, h http.Handler, to lifecycle.Timeouts) (base string, cancel context.CancelFunc, done <-chan error) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	errc := make(chan error, 1)
	finished := make(chan struct{})
	go func() {
		errc <- p.Serve(ctx, []lifecycle.Listener{{Name: "api", Server: p.NewServer("api", h, to), Ln: ln}})
		close(finished)
	}()
	t.Cleanup(func() {
		cancel()
		select {
		case <-finished:
		case <-time.After(30 * time.Second):
			t.Error("Serve did not return")
		}
	})
	return "http://" + ln.Addr().String(), cancel, errc
}

// TestDrainOrder: after the stop signal, readiness turns 503 first, then the
// server keeps answering during the drain delay with "Connection: close",
// then it stops accepting and Serve returns nil. The delay runs on a fake
// clock: the test ends it, so no request races a real timer.
func TestDrainOrder(t *testing.T) {
	drained := make(chan struct{})
	var reason atomic.Pointer[string]
	clk := clock.NewFake(time.Unix(1_800_000_000, 0))
	release := make(chan struct{})
	arrived := make(chan struct{})
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/slow" {
			close(arrived)
			<-release
		}
		io.WriteString(w, "ok")
	})
	p := lifecycle.New(lifecycle.Options{
		DrainDelay:      15 * time.Second,
		ShutdownTimeout: 10 * time.Second,
		OnDrain:         func(r string) { reason.Store(&r); close(drained) },
		Clock:           clk,
	})
	base, cancel, done := start(t, p, h, timeouts)
	client := &http.Client{Timeout: 10 * time.Second}

	resp, err := client.Get(base + "/")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.Close || p.Draining() {
		t.Fatalf("before the drain: Connection close = %v, draining = %v", resp.Close, p.Draining())
	}
	// An in-flight request that outlives the drain delay still completes.
	slow := make(chan error, 1)
	go func() {
		resp, err := client.Get(base + "/slow")
		if err == nil {
			b, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if string(b) != "ok" {
				err = io.ErrUnexpectedEOF
			}
		}
		slow <- err
	}()
	// Stop only once /slow is in the handler: a request still on its way
	// over an idle keep-alive connection is not in flight yet.
	<-arrived
	cancel()
	<-drained
	if r := reason.Load(); r == nil || *r != "shutting down" {
		t.Fatalf("OnDrain reason = %v", r)
	}
	resp, err = client.Get(base + "/")
	if err != nil {
		t.Fatalf("request during the drain delay: %v", err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 || !resp.Close {
		t.Fatalf("during the drain: status %d, Connection close = %v; want 200 and close", resp.StatusCode, resp.Close)
	}
	// After the delay the listener closes; Serve waits for /slow.
	armed, stopWait := context.WithTimeout(context.Background(), 20*time.Second)
	defer stopWait()
	if err := clk.BlockUntil(armed, 2); err != nil { // the heartbeat and the drain delay
		t.Fatalf("drain delay timer: %v", err)
	}
	clk.Advance(15 * time.Second)
	// Shutdown closes the listener in Serve's goroutine: dial until it is
	// gone (bounded; each refused dial returns at once).
	for deadline := time.Now().Add(20 * time.Second); ; {
		c, err := net.Dial("tcp", strings.TrimPrefix(base, "http://"))
		if err != nil {
			break
		}
		c.Close()
		if time.Now().After(deadline) {
			t.Fatal("the listener is still open after the drain delay")
		}
		runtime.Gosched()
	}
	select {
	case err := <-done:
		t.Fatalf("Serve returned %v with a request in flight", err)
	default:
	}
	close(release)
	if err := <-slow; err != nil {
		t.Fatalf("in-flight request: %v", err)
	}
	if err := <-done; err != nil {
		t.Fatalf("Serve = %v; want nil", err)
	}
}

// TestFailSkipsDelay: a fatal condition drains without the delay.
func TestFailSkipsDelay(t *testing.T) {
	var reason atomic.Pointer[string]
	p := lifecycle.New(lifecycle.Options{
		DrainDelay:      time.Hour,
		ShutdownTimeout: 5 * time.Second,
		OnDrain:         func(r string) { reason.Store(&r) },
	})
	_, _, done := start(t, p, http.NotFoundHandler(), timeouts)
	p.Fail("fatal: attest: core answered HTTP 401")
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("Serve = %v", err)
		}
	case <-time.After(20 * time.Second):
		t.Fatal("Fail did not skip the one-hour drain delay")
	}
	if r := reason.Load(); r == nil || *r != "fatal: attest: core answered HTTP 401" {
		t.Fatalf("OnDrain reason = %v", r)
	}
}

// TestWriteTimeoutCutIsLogged: a response the client does not read is cut by
// the write timeout, and the cut is logged with its path and counted.
func TestWriteTimeoutCutIsLogged(t *testing.T) {
	var logs syncBuffer
	cut := make(chan struct{}, 1)
	p := lifecycle.New(lifecycle.Options{
		ShutdownTimeout: 5 * time.Second,
		Log:             slog.New(slog.NewTextHandler(&logs, nil)),
		OnCut:           func() { cut <- struct{}{} },
	})
	big := bytes.Repeat([]byte("x"), 1<<20)
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		for range 256 { // 256 MiB: more than any socket buffer
			if _, err := w.Write(big); err != nil {
				return
			}
		}
	})
	base, _, _ := start(t, p, h, lifecycle.Timeouts{Read: time.Second, Write: 300 * time.Millisecond, Idle: time.Second})
	c, err := net.Dial("tcp", strings.TrimPrefix(base, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	io.WriteString(c, "GET /v3/identity/map HTTP/1.1\r\nHost: x\r\n\r\n") // and never read
	select {
	case <-cut:
	case <-time.After(30 * time.Second):
		t.Fatal("no cut reported")
	}
	got := logs.String()
	for _, want := range []string{"response cut by the write timeout", "path=/v3/identity/map", "write_timeout=300ms"} {
		if !strings.Contains(got, want) {
			t.Errorf("log lacks %q:\n%s", want, got)
		}
	}
}

// TestNoCutLogForCompleteResponses: normal responses log nothing.
func TestNoCutLogForCompleteResponses(t *testing.T) {
	var logs syncBuffer
	var cuts atomic.Int32
	p := lifecycle.New(lifecycle.Options{
		ShutdownTimeout: 5 * time.Second,
		Log:             slog.New(slog.NewTextHandler(&logs, nil)),
		OnCut:           func() { cuts.Add(1) },
	})
	base, _, _ := start(t, p, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "ok") }), timeouts)
	for range 20 {
		resp, err := http.Get(base + "/")
		if err != nil {
			t.Fatal(err)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
	}
	if cuts.Load() != 0 || strings.Contains(logs.String(), "cut") {
		t.Fatalf("cuts = %d, logs:\n%s", cuts.Load(), logs.String())
	}
}

// TestLiveness: live while the heartbeat is recent, not live once it is
// older than the limit.
func TestLiveness(t *testing.T) {
	clk := clock.NewFake(time.Unix(1_800_000_000, 0))
	p := lifecycle.New(lifecycle.Options{LivenessLimit: 30 * time.Second, Clock: clk, ShutdownTimeout: 5 * time.Second})
	if ok, reason := p.Live(); !ok {
		t.Fatalf("Live() = false %q right after New", reason)
	}
	clk.Advance(31 * time.Second) // nothing beats before Serve
	if ok, reason := p.Live(); ok || !strings.Contains(reason, "heartbeat: none for 31s") {
		t.Fatalf("Live() = %v %q; want false with the heartbeat age", ok, reason)
	}

	// While Serve runs, the heartbeat beats every HeartbeatPeriod.
	start(t, p, http.NotFoundHandler(), timeouts)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if err := clk.BlockUntil(ctx, 1); err != nil {
		t.Fatalf("heartbeat ticker: %v", err)
	}
	clk.Advance(time.Minute) // the last tick is received once every earlier beat is stored
	if ok, reason := p.Live(); !ok {
		t.Fatalf("Live() = false %q while Serve runs a minute on", reason)
	}
}

// TestSecondSignalCutsDrainShort: a second SIGTERM during the drain delay
// ends it at once (the operator's equivalent of a second Ctrl-C).
func TestSecondSignalCutsDrainShort(t *testing.T) {
	drainStarted := make(chan struct{})
	p := lifecycle.New(lifecycle.Options{
		DrainDelay:      time.Hour,
		ShutdownTimeout: 5 * time.Second,
		// Serve listens for the second signal before it calls OnDrain, so
		// the SIGTERM below cannot reach the default handler.
		OnDrain: func(string) { close(drainStarted) },
	})
	_, cancel, done := start(t, p, http.NotFoundHandler(), timeouts)
	cancel()
	<-drainStarted
	self, _ := os.FindProcess(os.Getpid())
	if err := self.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("Serve = %v", err)
		}
	case <-time.After(20 * time.Second):
		t.Fatal("the second signal did not cut the one-hour drain delay short")
	}
}

// TestLoops: loops stop when the drain starts; a loop's error is fatal:
// the drain skips its delay and Serve returns that error.
func TestLoops(t *testing.T) {
	t.Run("stop at drain", func(t *testing.T) {
		p := lifecycle.New(lifecycle.Options{DrainDelay: 200 * time.Millisecond, ShutdownTimeout: 5 * time.Second})
		ln, _ := net.Listen("tcp", "127.0.0.1:0")
		ctx, cancel := context.WithCancel(context.Background())
		stopped := make(chan bool, 1)
		loop := func(ctx context.Context) error {
			<-ctx.Done()
			stopped <- p.Draining()
			return nil
		}
		errc := make(chan error, 1)
		go func() {
			errc <- p.Serve(ctx, []lifecycle.Listener{{Name: "api", Ln: ln, Server: p.NewServer("api", http.NotFoundHandler(), timeouts)}}, loop)
		}()
		cancel()
		if draining := <-stopped; !draining {
			t.Error("the loop stopped before the drain started")
		}
		if err := <-errc; err != nil {
			t.Fatalf("Serve = %v; want nil", err)
		}
	})
	t.Run("fatal", func(t *testing.T) {
		var reason atomic.Pointer[string]
		p := lifecycle.New(lifecycle.Options{DrainDelay: time.Hour, ShutdownTimeout: 5 * time.Second,
			OnDrain: func(r string) { reason.Store(&r) }})
		ln, _ := net.Listen("tcp", "127.0.0.1:0")
		fatal := errors.New("attest: core answered HTTP 401")
		quiet := func(ctx context.Context) error { <-ctx.Done(); return nil }
		failing := func(context.Context) error { return fatal }
		errc := make(chan error, 1)
		go func() {
			errc <- p.Serve(context.Background(), []lifecycle.Listener{{Name: "api", Ln: ln, Server: p.NewServer("api", http.NotFoundHandler(), timeouts)}}, quiet, failing)
		}()
		select {
		case err := <-errc:
			if !errors.Is(err, fatal) {
				t.Fatalf("Serve = %v; want %v", err, fatal)
			}
		case <-time.After(20 * time.Second):
			t.Fatal("a fatal loop error did not end Serve (the one-hour delay was not skipped)")
		}
		if r := reason.Load(); r == nil || *r != "fatal: attest: core answered HTTP 401" {
			t.Fatalf("OnDrain reason = %v", r)
		}
	})
}

// TestNewServerTimeouts: every server gets its timeouts and the header
// bound; the header timeout is Read unless ReadHeader is set.
func TestNewServerTimeouts(t *testing.T) {
	tests := []struct {
		in             lifecycle.Timeouts
		wantReadHeader time.Duration
	}{
		{lifecycle.Timeouts{Read: 5 * time.Second, Write: 6 * time.Second, Idle: time.Minute}, 5 * time.Second},
		{lifecycle.Timeouts{Read: 30 * time.Second, ReadHeader: 10 * time.Second, Write: 6 * time.Second, Idle: time.Minute}, 10 * time.Second},
	}
	p := lifecycle.New(lifecycle.Options{})
	for _, tt := range tests {
		for _, srv := range []*http.Server{lifecycle.NewServer("x", http.NotFoundHandler(), tt.in, nil), p.NewServer("x", http.NotFoundHandler(), tt.in)} {
			if srv.ReadTimeout != tt.in.Read || srv.ReadHeaderTimeout != tt.wantReadHeader || srv.WriteTimeout != tt.in.Write ||
				srv.IdleTimeout != tt.in.Idle || srv.MaxHeaderBytes != lifecycle.MaxHeaderBytes || srv.ErrorLog == nil {
				t.Errorf("NewServer(%+v) = read %s, header %s, write %s, idle %s, max header %d, error log %v",
					tt.in, srv.ReadTimeout, srv.ReadHeaderTimeout, srv.WriteTimeout, srv.IdleTimeout, srv.MaxHeaderBytes, srv.ErrorLog)
			}
		}
	}
}
