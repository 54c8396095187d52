// Package jsonw writes JSON text the way the reference operator's Jackson
// does, for answers that clients compare byte for byte (operator-api.md
// §1.5): strings with '/' and non-ASCII left as is, no HTML escaping,
// control characters escaped with upper-case hex, invalid UTF-8 replaced by
// U+FFFD. Every function appends to a caller's buffer and allocates only
// when it grows; none keeps a reference to its arguments.
//
// It is a package of its own because the request path (api), the
// identity-map engine (mapping) and CSTG (cstg, the AAD the client sealed
// with) must all write strings exactly alike; encoding/json escapes '<', '>'
// and '&' and would differ.
package jsonw

import (
	"strconv"
	"unicode/utf8"
)

// AppendString appends s as a JSON string, escaped as Jackson escapes it.
func AppendString(dst []byte, s string) []byte {
	dst = append(dst, '"')
	start := 0
	for i := 0; i < len(s); {
		c := s[i]
		if c >= 0x20 && c != '"' && c != '\\' && c < utf8.RuneSelf {
			i++
			continue
		}
		if c >= utf8.RuneSelf {
			r, size := utf8.DecodeRuneInString(s[i:])
			if r == utf8.RuneError && size == 1 {
				dst = append(dst, s[start:i]...)
				dst = append(dst, "\ufffd"...)
				i += size
				start = i
				continue
			}
			i += size
			continue
		}
		dst = append(dst, s[start:i]...)
		switch c {
		case '"':
			dst = append(dst, '\\', '"')
		case '\\':
			dst = append(dst, '\\', '\\')
		case '\n':
			dst = append(dst, '\\', 'n')
		case '\r':
			dst = append(dst, '\\', 'r')
		case '\t':
			dst = append(dst, '\\', 't')
		case '\b':
			dst = append(dst, '\\', 'b')
		case '\f':
			dst = append(dst, '\\', 'f')
		default:
			dst = append(dst, '\\', 'u', '0', '0', hexDigit[c>>4], hexDigit[c&0xF])
		}
		i++
		start = i
	}
	dst = append(dst, s[start:]...)
	return append(dst, '"')
}

const hexDigit = "0123456789ABCDEF"

// AppendInt appends the decimal text of v.
func AppendInt(dst []byte, v int64) []byte { return strconv.AppendInt(dst, v, 10) }

// AppendStatus appends {"message":"…","status":"…"} (message first, as the
// reference's HashMap orders it), or {"status":"…"} when message is empty.
func AppendStatus(dst []byte, status, message string) []byte {
	if message == "" {
		dst = append(dst, `{"status":`...)
		dst = AppendString(dst, status)
		return append(dst, '}')
	}
	dst = append(dst, `{"message":`...)
	dst = AppendString(dst, message)
	dst = append(dst, `,"status":`...)
	dst = AppendString(dst, status)
	return append(dst, '}')
}
