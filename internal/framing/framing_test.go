package framing_test

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"

	"github.com/uid2-private-operator/uid2-operator/internal/framing"
)

// TestGuardUnderServer serves through the guard with net/http on
// 127.0.0.1: pipelined keep-alive requests with bodies (which start the
// server's background read between requests) pass, and a smuggling
// attempt on the same connection is answered 400 and the connection
// closed. Run with -race: the guard's scanner has no lock of its own and
// relies on net/http never reading a connection concurrently.
func TestGuardUnderServer(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{
		ConnContext: framing.ConnContext,
		Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if framing.Reject(w, r) {
				return
			}
			b, _ := io.ReadAll(r.Body)
			fmt.Fprintf(w, "%d", len(b))
		}),
	}
	go srv.Serve(framing.GuardListener(ln))
	defer srv.Close()

	conn, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	rd := bufio.NewReader(conn)
	body := strings.Repeat("x", 3000)
	for i := range 50 {
		fmt.Fprintf(conn, "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: %d\r\n\r\n%s", len(body), body)
		resp, err := http.ReadResponse(rd, nil)
		if err != nil {
			t.Fatalf("request %d: %v", i, err)
		}
		got, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK || string(got) != "3000" {
			t.Fatalf("request %d: %d %q; want 200 \"3000\"", i, resp.StatusCode, got)
		}
	}
	fmt.Fprint(conn, "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n")
	resp, err := http.ReadResponse(rd, nil)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusBadRequest || !resp.Close {
		t.Fatalf("smuggling attempt: %d close=%v; want 400 and the connection closed", resp.StatusCode, resp.Close)
	}
}
