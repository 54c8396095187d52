package framing

import "testing"

// FuzzGuardScan: the smuggling scanner never panics, and how the bytes are
// split across reads does not change its verdict.
func FuzzGuardScan(f *testing.F) {
	f.Add([]byte("POST / HTTP/1.1\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n"), 20)
	f.Add([]byte("POST / HTTP/1.1\r\nContent-Length: 5\r\n\r\nTransfer-Encoding: chunked\r\n\r\n"), 3)
	f.Add([]byte("transfer-encoding:x\ncontent-length:1\n"), 0)
	f.Add([]byte("\r\n\r\n\n\n"), 1)
	f.Fuzz(func(t *testing.T, data []byte, split int) {
		var whole, parts guardConn
		whole.scan(data)
		if len(data) > 0 {
			split = (split%len(data) + len(data)) % len(data)
		} else {
			split = 0
		}
		parts.scan(data[:split])
		parts.scan(data[split:])
		if whole.bad.Load() != parts.bad.Load() {
			t.Fatalf("scan(%q) = %v but split at %d = %v", data, whole.bad.Load(), split, parts.bad.Load())
		}
	})
}

func TestGuardScan(t *testing.T) {
	for _, tt := range []struct {
		in   string
		want bool
	}{
		{"POST / HTTP/1.1\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n", true},
		{"POST / HTTP/1.1\r\ntransfer-encoding: chunked\r\nCONTENT-LENGTH: 5\r\n\r\n", true},
		{"POST / HTTP/1.1\nContent-Length: 5\nTransfer-Encoding: chunked\n\n", true},
		// Separate requests: one field each.
		{"POST / HTTP/1.1\r\nContent-Length: 5\r\n\r\nhelloPOST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n", false},
		// Names that only start like the fields.
		{"POST / HTTP/1.1\r\nContent-Length-X: 5\r\nTransfer-Encodings: chunked\r\n\r\n", false},
		{"POST / HTTP/1.1\r\nX-Content-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n", false},
	} {
		var c guardConn
		c.scan([]byte(tt.in))
		if got := c.bad.Load(); got != tt.want {
			t.Errorf("scan(%q) = %v; want %v", tt.in, got, tt.want)
		}
	}
}
