package api_test

import (
	"bufio"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/uid2-private-operator/uid2-operator/internal/api"
	"github.com/uid2-private-operator/uid2-operator/internal/framing"
)

// TestContentLengthWithChunked is issue 10's smuggling finding, at the raw
// TCP level because net/http deletes Content-Length from a chunked
// request before any handler sees it: a request with both Content-Length
// and Transfer-Encoding was answered 200; it must get 400 and a closed
// connection (RFC 9112 §6.1). Requests with one of the two still work, on
// the same keep-alive connection too.
func TestContentLengthWithChunked(t *testing.T) {
	f := newFixture(t, api.Options{})
	srv := httptest.NewUnstartedServer(api.New(api.Options{Store: f.store}).Handler())
	srv.Listener = framing.GuardListener(srv.Listener)
	srv.Config.ConnContext = framing.ConnContext
	srv.Start()
	t.Cleanup(srv.Close)

	body := sealRequest(t, f.creds.Generator.Secret, `{"email":"user@example.com"}`, time.Now())
	chunked := strconv.FormatInt(int64(len(body)), 16) + "\r\n" + body + "\r\n0\r\n\r\n"
	head := "POST /v2/token/generate HTTP/1.1\r\nHost: operator\r\nAuthorization: Bearer " + f.creds.Generator.APIKey + "\r\n"

	tests := []struct {
		name     string
		requests []string // sent on one connection, in order
		want     []int
		closed   bool // the server closes the connection after the last answer
	}{
		{"content-length", []string{head + "Content-Length: " + strconv.Itoa(len(body)) + "\r\n\r\n" + body}, []int{200}, false},
		{"chunked", []string{head + "Transfer-Encoding: chunked\r\n\r\n" + chunked}, []int{200}, false},
		{"both", []string{head + "Content-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n" + chunked}, []int{400}, true},
		{"both, chunked first, odd case", []string{head + "TRANSFER-ENCODING: chunked\r\ncontent-length: 5\r\n\r\n" + chunked}, []int{400}, true},
		{"good then both on one connection", []string{
			head + "Content-Length: " + strconv.Itoa(len(body)) + "\r\n\r\n" + body,
			head + "Content-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n" + chunked,
		}, []int{200, 400}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			conn, err := net.Dial("tcp", srv.Listener.Addr().String())
			if err != nil {
				t.Fatal(err)
			}
			defer conn.Close()
			conn.SetDeadline(time.Now().Add(10 * time.Second))
			br := bufio.NewReader(conn)
			for i, req := range tt.requests {
				if _, err := io.WriteString(conn, req); err != nil {
					t.Fatal(err)
				}
				resp, err := http.ReadResponse(br, nil)
				if err != nil {
					t.Fatalf("request %d: %v", i, err)
				}
				b, _ := io.ReadAll(resp.Body)
				resp.Body.Close()
				if resp.StatusCode != tt.want[i] {
					t.Fatalf("request %d = %d %s; want %d", i, resp.StatusCode, b, tt.want[i])
				}
				if resp.StatusCode == 400 && (string(b) != "Bad Request: Content-Length with Transfer-Encoding" || !resp.Close) {
					t.Fatalf("400 body %q, Connection: close %v; want the smuggling message and a close", b, resp.Close)
				}
			}
			if tt.closed {
				if n, err := br.ReadByte(); err != io.EOF {
					t.Fatalf("after the 400 the connection gave %v, %v; want EOF", n, err)
				}
			}
		})
	}
}

// TestGuardSplitReads feeds a smuggling header block to the guard one byte
// per read (net.Pipe delivers each write as its own read), so every field
// name and line end straddles reads.
func TestGuardSplitReads(t *testing.T) {
	f := newFixture(t, api.Options{})
	client, server := net.Pipe()
	ln := &pipeListener{conns: make(chan net.Conn, 1), done: make(chan struct{})}
	ln.conns <- server
	hs := &http.Server{Handler: api.New(api.Options{Store: f.store}).Handler(), ConnContext: framing.ConnContext}
	go hs.Serve(framing.GuardListener(ln))
	t.Cleanup(func() { hs.Close() })
	defer client.Close()
	client.SetDeadline(time.Now().Add(10 * time.Second))

	req := "GET /ops/healthcheck HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n"
	go func() {
		for i := range len(req) {
			if _, err := client.Write([]byte{req[i]}); err != nil {
				return
			}
		}
	}()
	resp, err := http.ReadResponse(bufio.NewReader(client), nil)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusBadRequest {
		t.Fatalf("smuggling request read one byte at a time = %d; want 400", resp.StatusCode)
	}
}

// pipeListener hands out the conns sent on its channel.
type pipeListener struct {
	conns chan net.Conn
	done  chan struct{}
	once  sync.Once
}

func (l *pipeListener) Accept() (net.Conn, error) {
	select {
	case c := <-l.conns:
		return c, nil
	case <-l.done:
		return nil, net.ErrClosed
	}
}

func (l *pipeListener) Close() error { l.once.Do(func() { close(l.done) }); return nil }

func (l *pipeListener) Addr() net.Addr { return &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1)} }
