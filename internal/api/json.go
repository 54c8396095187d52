package api

import (
	"encoding/base64"
	"strconv"
	"unicode/utf8"
)

// appendJSONString appends s as a JSON string the way Jackson writes it:
// '/' and non-ASCII left as is, no HTML escaping, control characters
// escaped. Invalid UTF-8 becomes U+FFFD.
func appendJSONString(dst []byte, s string) []byte {
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

func appendInt(dst []byte, v int64) []byte { return strconv.AppendInt(dst, v, 10) }

// appendErrorBody renders {"message":"...","status":"..."} (message first,
// as the reference's HashMap orders it), or {"status":"..."} without a message.
func appendErrorBody(dst []byte, status, message string) []byte {
	if message == "" {
		dst = append(dst, `{"status":`...)
		dst = appendJSONString(dst, status)
		return append(dst, '}')
	}
	dst = append(dst, `{"message":`...)
	dst = appendJSONString(dst, message)
	dst = append(dst, `,"status":`...)
	dst = appendJSONString(dst, status)
	return append(dst, '}')
}

// appendBase64 appends the standard base64 (padded) text of b.
func appendBase64(dst []byte, b []byte) []byte {
	return base64.StdEncoding.AppendEncode(dst, b)
}
