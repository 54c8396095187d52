package cli

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/http/pprof"
	"time"

	"github.com/uid2-private-operator/uid2-operator/internal/lifecycle"
)

// pprofWriteTimeout bounds one /debug/pprof answer; it must exceed the
// longest CPU profile asked for (?seconds=N), which pprof checks.
const pprofWriteTimeout = 10 * time.Minute

// startPprof serves net/http/pprof on addr, on its own mux, until ctx ends.
// It is a debugging aid for profiling under load (`load --profile-dir`); an
// empty addr disables it. It exposes the process's internals (command line,
// heap, goroutine stacks), so addr must be a loopback address: a wildcard or
// pod IP would publish it next to the API.
func startPprof(ctx context.Context, addr string, log *slog.Logger) error {
	if addr == "" {
		return nil
	}
	if !isLoopbackAddr(addr) {
		return usageError{fmt.Errorf("--pprof-addr %q: must be a loopback address (127.0.0.1:PORT, [::1]:PORT or localhost:PORT); pprof must never be reachable from outside the host", addr)}
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return fmt.Errorf("--pprof-addr: %w", err)
	}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /debug/pprof/", pprof.Index)
	mux.HandleFunc("GET /debug/pprof/cmdline", pprof.Cmdline)
	mux.HandleFunc("GET /debug/pprof/profile", pprof.Profile)
	mux.HandleFunc("GET /debug/pprof/symbol", pprof.Symbol)
	mux.HandleFunc("GET /debug/pprof/trace", pprof.Trace)
	srv := lifecycle.NewServer("pprof", mux, lifecycle.Timeouts{
		Read: 10 * time.Second, Write: pprofWriteTimeout, Idle: 2 * time.Minute}, log)
	log.Warn("pprof debug endpoint enabled; do not expose it", "pprof_addr", ln.Addr().String())
	go srv.Serve(ln)
	go func() {
		<-ctx.Done()
		srv.Close()
	}()
	return nil
}

// isLoopbackAddr reports whether addr is HOST:PORT with a loopback HOST.
func isLoopbackAddr(addr string) bool {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return false
	}
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}
