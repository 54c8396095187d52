package core_test

import (
	"bytes"
	"context"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/uid2-private-operator/uid2-operator/internal/core"
)

// TestDownloadFailureE12 checks the runtime error line of the UID2 docs'
// private-operator table (issue 10): a failed Core, Opt-Out or storage
// download writes "E12: Data Download Failure" with the HTTP status or the
// kind of failure, and never the presigned query or the operator key.
func TestDownloadFailureE12(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/forbidden":
			w.WriteHeader(http.StatusForbidden)
		case "/truncated":
			w.Header().Set("Content-Length", "100")
			w.Write([]byte("short"))
		default:
			w.Write([]byte("ok"))
		}
	}))
	defer srv.Close()
	closed := closedURL(t)

	var logs syncBuffer
	c := &core.Client{OperatorKey: "operator-key-secret", Log: slog.New(slog.NewTextHandler(&logs, nil))}
	const query = "?X-Amz-Signature=presigned-secret"
	for _, tt := range []struct {
		url, want string
	}{
		{srv.URL + "/forbidden" + query, "E12: Data Download Failure - HTTP response code 403"},
		{srv.URL + "/truncated" + query, "E12: Data Download Failure - exception: read"},
		{closed + "/file" + query, "E12: Data Download Failure - exception: connection"},
	} {
		logs.Reset()
		if _, err := c.Download(context.Background(), tt.url); err == nil {
			t.Fatalf("Download(%s) = nil error", tt.url)
		}
		got := logs.String()
		if !strings.Contains(got, tt.want) || !strings.Contains(got, "level=ERROR") {
			t.Errorf("log for %s = %q; want an ERROR with %q", tt.url, got, tt.want)
		}
		if strings.Contains(got, "presigned-secret") || strings.Contains(got, "operator-key-secret") {
			t.Errorf("E12 line leaks a secret: %s", got)
		}
	}
	logs.Reset()
	if _, err := c.Download(context.Background(), srv.URL+"/ok"); err != nil || logs.String() != "" {
		t.Fatalf("successful download: err %v, log %q; want no E12", err, logs.String())
	}
}

// closedURL returns the base URL of a port nothing listens on.
func closedURL(t *testing.T) string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	return "http://" + addr
}

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

func (s *syncBuffer) Reset() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.b.Reset()
}
