// Package framing guards the API listener against request smuggling (RFC
// 9112 §6.1): a request that carried both Content-Length and
// Transfer-Encoding is answered 400 and its connection closed. net/http
// alone cannot tell, so the guard watches each connection's raw bytes.
package framing

import (
	"bytes"
	"context"
	"io"
	"net"
	"net/http"
	"sync/atomic"
)

// Request smuggling guard (RFC 9112 §6.1). net/http processes a request
// that carries both Content-Length and Transfer-Encoding by its
// Transfer-Encoding and deletes Content-Length before the handler runs, so
// only the raw bytes show that both were sent. A proxy in front that framed
// the same bytes by Content-Length would see a different request boundary.
// GuardListener watches each connection's bytes; Reject answers such
// a request 400 and closes the connection, as §6.1 requires.
//
// The watcher does not frame messages: it looks at every line start on the
// connection, and a block of lines ending at an empty line that holds both
// fields marks the connection. A real header block is always such a block,
// so a smuggling attempt cannot hide; body bytes that happen to look like
// one can only make the sender's own connection fail.

// GuardListener returns ln with each accepted connection watched for header
// blocks that carry both Content-Length and Transfer-Encoding. Use it with
// ConnContext on the http.Server whose handler calls Reject.
func GuardListener(ln net.Listener) net.Listener { return guardListener{ln} }

// ConnContext is the http.Server ConnContext hook that lets the Handler see
// what GuardListener observed on the request's connection (Reject).
// Connections wrapped around the guard's are unwrapped through a
// NetConn() net.Conn method (as crypto/tls.Conn has).
func ConnContext(ctx context.Context, c net.Conn) context.Context {
	for range 8 { // a few layers at most; never loop on a cycle
		if gc, ok := c.(*guardConn); ok {
			return context.WithValue(ctx, guardKey{}, gc)
		}
		u, ok := c.(interface{ NetConn() net.Conn })
		if !ok {
			break
		}
		c = u.NetConn()
	}
	return ctx
}

type guardKey struct{}

type guardListener struct{ net.Listener }

func (l guardListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	return &guardConn{Conn: c}, nil
}

// guardConn scans what is read from its connection.
//
// The scanner state has no lock: net/http's connReader is the only reader
// of a served connection, never calls Read concurrently (it panics on a
// concurrent Body.Read) and orders successive Reads, its background
// one-byte read included, under its own mutex. Only bad is read by other
// goroutines (Reject, in the handler). GuardListener is for http.Server
// listeners only.
type guardConn struct {
	net.Conn
	line [len("transfer-encoding:")]byte
	n    int  // length of the current line; its first len(line) bytes are in line
	cl   bool // the current block has a Content-Length line
	te   bool // the current block has a Transfer-Encoding line
	bad  atomic.Bool
}

func (c *guardConn) Read(p []byte) (int, error) {
	n, err := c.Conn.Read(p)
	if n > 0 {
		c.scan(p[:n])
	}
	return n, err
}

// scan feeds bytes to the line scanner. Only the first bytes of each line
// are looked at, so it runs at memchr speed over large bodies.
func (c *guardConn) scan(b []byte) {
	for len(b) > 0 {
		i := bytes.IndexByte(b, '\n')
		seg := b
		if i >= 0 {
			seg = b[:i]
		}
		if c.n < len(c.line) {
			k := copy(c.line[c.n:], seg)
			for j := c.n; j < c.n+k; j++ {
				c.line[j] = lower(c.line[j])
			}
		}
		c.n += len(seg)
		if i < 0 {
			return
		}
		c.endLine()
		b = b[i+1:]
	}
}

// endLine classifies the line just ended.
func (c *guardConn) endLine() {
	switch {
	case c.n == 0 || (c.n == 1 && c.line[0] == '\r'): // empty line: the end of a header block
		c.cl, c.te = false, false
	case hasField(c.line[:min(c.n, len(c.line))], "content-length"):
		c.cl = true
	case hasField(c.line[:min(c.n, len(c.line))], "transfer-encoding"):
		c.te = true
	}
	if c.cl && c.te {
		c.bad.Store(true)
	}
	c.n = 0
}

// hasField reports whether a lower-cased line prefix starts with name and
// a colon.
func hasField(line []byte, name string) bool {
	return len(line) > len(name) && string(line[:len(name)]) == name && line[len(name)] == ':'
}

func lower(c byte) byte {
	if 'A' <= c && c <= 'Z' {
		return c + 'a' - 'A'
	}
	return c
}

// msgSmuggling is the 400 body for a request with both framing headers.
const msgSmuggling = "Bad Request: Content-Length with Transfer-Encoding"

// Reject answers 400 and closes the connection when the request's
// connection carried a header block with both Content-Length and
// Transfer-Encoding; it reports whether it did.
func Reject(w http.ResponseWriter, r *http.Request) bool {
	gc, ok := r.Context().Value(guardKey{}).(*guardConn)
	if !ok || !gc.bad.Load() {
		return false
	}
	w.Header().Set("Connection", "close")
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.WriteHeader(http.StatusBadRequest)
	io.WriteString(w, msgSmuggling)
	return true
}
