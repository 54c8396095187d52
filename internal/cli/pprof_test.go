package cli

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"
)

// TestPprofLoopbackOnly checks that --pprof-addr refuses any address that
// could be reached from outside the host, with a usage error naming the
// flag, and serves /debug/pprof/ on a loopback one.
func TestPprofLoopbackOnly(t *testing.T) {
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	for _, addr := range []string{":6060", "0.0.0.0:6060", "[::]:6060", "10.0.0.5:6060", "example.com:6060", "6060", "127.0.0.1"} {
		err := startPprof(context.Background(), addr, log)
		var ue usageError
		if !errors.As(err, &ue) || !strings.Contains(err.Error(), "--pprof-addr") {
			t.Errorf("--pprof-addr %q: %v; want a usage error naming --pprof-addr", addr, err)
		}
	}
	if err := startPprof(context.Background(), "", log); err != nil {
		t.Errorf("empty --pprof-addr (off): %v", err)
	}

	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	if err := startPprof(ctx, addr, log); err != nil {
		t.Fatalf("--pprof-addr %s: %v", addr, err)
	}
	c := &http.Client{Timeout: 5 * time.Second}
	resp, err := c.Get("http://" + addr + "/debug/pprof/")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Errorf("GET /debug/pprof/ on %s: %d; want 200", addr, resp.StatusCode)
	}
}
