package jsonw_test

import (
	"encoding/json"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/uid2-private-operator/uid2-operator/internal/jsonw"
)

func TestAppendString(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"", `""`},
		{"user@example.com", `"user@example.com"`},
		{"a/b<c>&d", `"a/b<c>&d"`}, // no HTML escaping, '/' as is
		{`q"b\s`, `"q\"b\\s"`},
		{"\n\r\t\b\f", `"\n\r\t\b\f"`},
		{"\x00\x1f", `"\u0000\u001F"`}, // upper-case hex, as Jackson
		{"é€😀", `"é€😀"`},               // non-ASCII as is
		{"a\xffb", "\"a\ufffdb\""},     // invalid UTF-8 becomes U+FFFD
		{"\x7f", "\"\x7f\""},
	} {
		if got := string(jsonw.AppendString([]byte("x"), tc.in)); got != "x"+tc.want {
			t.Errorf("AppendString(%q) = %s; want x%s", tc.in, got, tc.want)
		}
	}
}

func TestAppendStatus(t *testing.T) {
	for _, tc := range []struct{ status, msg, want string }{
		{"optout", "", `{"status":"optout"}`},
		{"client_error", "Invalid Identifier", `{"message":"Invalid Identifier","status":"client_error"}`},
	} {
		if got := string(jsonw.AppendStatus(nil, tc.status, tc.msg)); got != tc.want {
			t.Errorf("AppendStatus(%q, %q) = %s; want %s", tc.status, tc.msg, got, tc.want)
		}
	}
}

func TestAppendInt(t *testing.T) {
	if got := string(jsonw.AppendInt([]byte("["), -1<<63)); got != "[-9223372036854775808" {
		t.Errorf("AppendInt = %s", got)
	}
}

// FuzzAppendString: the output is valid JSON that decodes back to the input
// (with invalid UTF-8 replaced), and has no '\u' escape for '<', '>' or '&'.
func FuzzAppendString(f *testing.F) {
	for _, s := range []string{"", "a", "\x00", "\"\\", "a\xffb", "<&>", "😀", strings.Repeat("\x01", 40)} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		b := jsonw.AppendString(nil, s)
		var got string
		if err := json.Unmarshal(b, &got); err != nil {
			t.Fatalf("AppendString(%q) = %s: not JSON: %v", s, b, err)
		}
		if want := strings.ToValidUTF8(s, "\ufffd"); got != want && utf8.ValidString(s) {
			t.Fatalf("round trip of %q = %q", s, got)
		}
		if strings.Contains(string(b), `\u003C`) || strings.Contains(string(b), `\u0026`) {
			t.Fatalf("AppendString(%q) = %s escapes HTML", s, b)
		}
	})
}
