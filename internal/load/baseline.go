package load

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"time"

	"github.com/uid2-private-operator/uid2-operator/internal/config"
	"github.com/uid2-private-operator/uid2-operator/internal/lifecycle"
)

// BaselineBodySize is the size of the baseline's answer: about what the
// operator sends back for a token generate in a text envelope.
const BaselineBodySize = 600

// Baseline server limits: the operator's defaults (README "Server limits")
// through the operator's server constructor, so the floor pays for the same
// server configuration.
const (
	baselineMaxBody      = config.DefaultMaxRequestBody
	baselineReadTimeout  = config.DefaultReadTimeout
	baselineWriteTimeout = config.DefaultWriteTimeout
	baselineIdleTimeout  = config.DefaultIdleTimeout
)

var baselineBody = bytes.Repeat([]byte("x"), BaselineBodySize)

// BaselineHandler is the hello-world floor: it reads the request body
// (bounded like the operator's) and answers 200 with BaselineBodySize bytes
// of text/plain, whatever the method and path.
func BaselineHandler() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if _, err := io.Copy(io.Discard, http.MaxBytesReader(w, r.Body, baselineMaxBody)); err != nil {
			http.Error(w, "request body too large", http.StatusRequestEntityTooLarge)
			return
		}
		w.Header().Set("Content-Type", "text/plain")
		w.Write(baselineBody)
	})
}

// ServeBaseline serves BaselineHandler on ln until ctx ends.
func ServeBaseline(ctx context.Context, ln net.Listener) error {
	srv := lifecycle.NewServer("baseline", BaselineHandler(), lifecycle.Timeouts{
		Read: baselineReadTimeout, Write: baselineWriteTimeout, Idle: baselineIdleTimeout}, nil)
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	shutdownCtx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := srv.Shutdown(shutdownCtx); err != nil && !errors.Is(err, context.DeadlineExceeded) {
		return err
	}
	return nil
}
