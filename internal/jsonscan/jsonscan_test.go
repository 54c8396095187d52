package jsonscan_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	"github.com/uid2-private-operator/uid2-operator/internal/jsonscan"
)

type member struct {
	key  string
	kind jsonscan.Kind
	raw  string
}

func members(t testing.TB, b []byte) ([]member, error) {
	var out []member
	err := jsonscan.Members(b, func(key []byte, v jsonscan.Value) bool {
		out = append(out, member{string(key), v.Kind, string(v.Raw)})
		return true
	})
	return out, err
}

func TestMembers(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want []member
		ok   bool
	}{
		{`{}`, nil, true},
		{" \t\r\n{ }\n", nil, true},
		{`{"email":["a@b.com", "c"],"n":-1.5e+3,"t":true,"f":false,"z":null,"o":{"x":[{}]}}`, []member{
			{"email", jsonscan.Array, `["a@b.com", "c"]`},
			{"n", jsonscan.Number, `-1.5e+3`},
			{"t", jsonscan.Bool, `true`},
			{"f", jsonscan.Bool, `false`},
			{"z", jsonscan.Null, `null`},
			{"o", jsonscan.Object, `{"x":[{}]}`},
		}, true},
		{`{"em\u0061il":1,"a":2,"a":3}`, []member{{"email", jsonscan.Number, "1"}, {"a", jsonscan.Number, "2"}, {"a", jsonscan.Number, "3"}}, true},
		{`[]`, nil, false},
		{`{"a":1,}`, nil, false},
		{`{"a":01}`, nil, false},
		{`{"a":1.}`, nil, false},
		{`{"a":"\x"}`, nil, false},
		{"{\"a\":\"\x01\"}", nil, false},
		{`{"a":[1,]}`, nil, false},
		{`{"a":1} x`, nil, false},
		{`{"a":tru}`, nil, false},
		{`{"a" 1}`, nil, false},
		{``, nil, false},
		{`{"a":"\u12"}`, nil, false},
	} {
		got, err := members(t, []byte(tc.in))
		if (err == nil) != tc.ok {
			t.Errorf("Members(%q) err = %v; want ok=%v", tc.in, err, tc.ok)
			continue
		}
		if tc.ok && !equalMembers(got, tc.want) {
			t.Errorf("Members(%q) = %+v; want %+v", tc.in, got, tc.want)
		}
		if ok := json.Valid([]byte(tc.in)) && strings.HasPrefix(strings.TrimLeft(tc.in, " \t\r\n"), "{"); ok != (err == nil) {
			t.Errorf("Members(%q) ok=%v, encoding/json ok=%v", tc.in, err == nil, ok)
		}
	}
}

func equalMembers(a, b []member) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func TestElementsAndUnquote(t *testing.T) {
	in := `[ "plain", "esc\"\\\/\b\f\n\r\t", "\u00e9\ud83d\ude00", "\ud800x", "\udc00", "caf` + "\xc3\xa9" + `", "bad` + "\xff" + `", 12, null ]`
	var want []any
	if err := json.Unmarshal([]byte(in), &want); err != nil {
		t.Fatal(err)
	}
	it := jsonscan.Elements([]byte(in))
	var scratch []byte
	for i := 0; ; i++ {
		v, ok := it.Next()
		if !ok {
			if i != len(want) {
				t.Fatalf("got %d elements; want %d", i, len(want))
			}
			break
		}
		if v.Kind != jsonscan.String {
			continue
		}
		got := jsonscan.Unquote(scratch[:0], v.Raw)
		if string(got) != want[i].(string) {
			t.Errorf("Unquote(%s) = %q; want %q", v.Raw, got, want[i])
		}
	}
	if err := it.Err(); err != nil {
		t.Fatal(err)
	}
	if n := jsonscan.Len([]byte(in)); n != len(want) {
		t.Fatalf("Len = %d; want %d", n, len(want))
	}
	if n := jsonscan.Len([]byte(`[]`)); n != 0 {
		t.Fatalf("Len([]) = %d", n)
	}
}

func TestUnquoteAliases(t *testing.T) {
	raw := []byte(`"user@example.com"`)
	got := jsonscan.Unquote(nil, raw)
	if &got[0] != &raw[1] {
		t.Fatal("Unquote copied a string that needs no decoding")
	}
	if n := testing.AllocsPerRun(100, func() { jsonscan.Unquote(nil, raw) }); n != 0 {
		t.Fatalf("Unquote allocs = %v", n)
	}
}

func TestDepth(t *testing.T) {
	for _, depth := range []int{jsonscan.MaxDepth, jsonscan.MaxDepth + 1} {
		in := `{"a":` + strings.Repeat("[", depth-1) + strings.Repeat("]", depth-1) + `}`
		_, err := members(t, []byte(in))
		if (err == nil) != json.Valid([]byte(in)) {
			t.Errorf("depth %d: Members err = %v, json.Valid = %v", depth, err, json.Valid([]byte(in)))
		}
	}
}

// FuzzMembers checks that Members never panics and agrees with encoding/json:
// it accepts exactly the valid JSON objects, and string values decode to what
// json.Unmarshal gives.
func FuzzMembers(f *testing.F) {
	for _, s := range []string{
		`{}`, `{"email":["a@b.com","\u0041@b.com"]}`, `{"email_hash":[],"phone":["+12345678901"]}`,
		`{"a":{"b":[1,2,{"c":null}]},"d":-0.5E-7}`, `{"s":"\ud83d\ude00\ud800"}`, `{"x":"` + "\xff\xfe" + `"}`,
		`{"a":1,}`, `{"a":[1,]}`, `[1]`, `{"a":"\u00"}`, `{"a":1}{}`, ` {"a" : [ "b" , "c" ] } `,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		var strs []jsonscan.Value
		err := jsonscan.Members(b, func(key []byte, v jsonscan.Value) bool {
			if v.Kind == jsonscan.String {
				strs = append(strs, v)
			}
			if v.Kind == jsonscan.Array {
				it := jsonscan.Elements(v.Raw)
				for {
					e, ok := it.Next()
					if !ok {
						break
					}
					if e.Kind == jsonscan.String {
						strs = append(strs, e)
					}
				}
				if it.Err() != nil {
					t.Fatalf("Elements(%q) failed after Members validated it", v.Raw)
				}
			}
			return true
		})
		isObj := json.Valid(b) && bytes.HasPrefix(bytes.TrimLeft(b, " \t\r\n"), []byte("{"))
		if (err == nil) != isObj {
			t.Fatalf("Members(%q) err = %v; encoding/json says object=%v", b, err, isObj)
		}
		for _, v := range strs {
			var want string
			if err := json.Unmarshal(v.Raw, &want); err != nil {
				t.Fatalf("json.Unmarshal(%q): %v", v.Raw, err)
			}
			if got := jsonscan.Unquote(nil, v.Raw); string(got) != want {
				t.Fatalf("Unquote(%q) = %q; want %q", v.Raw, got, want)
			}
			if got := v.Content(nil); string(got) != want {
				t.Fatalf("Content(%q) (plain %v) = %q; want %q", v.Raw, v.Plain, got, want)
			}
			plain := !bytes.ContainsAny(v.Raw, "\\") && !bytes.ContainsFunc(v.Raw, func(r rune) bool { return r >= 0x80 })
			if v.Plain != plain {
				t.Fatalf("%q: Plain = %v; want %v", v.Raw, v.Plain, plain)
			}
		}
	})
}

// FuzzElements checks that Elements never panics on arbitrary bytes.
func FuzzElements(f *testing.F) {
	for _, s := range []string{`[]`, `["a",1,null]`, `[1,]`, `[`, `["\u`, `[[],{}]`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		it := jsonscan.Elements(b)
		for {
			if _, ok := it.Next(); !ok {
				break
			}
		}
		_ = it.Err()
	})
}

// TestPlainLongStrings crosses the 8-byte fast path with every stop byte at
// every offset.
func TestPlainLongStrings(t *testing.T) {
	for n := 0; n < 40; n++ {
		for _, stop := range []string{`\"`, `\\`, `\u00e9`, "\u00e9", "é"} {
			for at := 0; at <= n; at++ {
				s := strings.Repeat("a", at) + stop + strings.Repeat("b", n-at)
				in := []byte(`{"k":["` + s + `"]}`)
				var want map[string][]string
				if err := json.Unmarshal(in, &want); err != nil {
					t.Fatal(err)
				}
				var got []byte
				var plain bool
				err := jsonscan.Members(in, func(_ []byte, v jsonscan.Value) bool {
					it := jsonscan.Elements(v.Raw)
					e, _ := it.Next()
					got, plain = e.Content(nil), e.Plain
					return true
				})
				if err != nil || string(got) != want["k"][0] || plain {
					t.Fatalf("%q: got %q plain=%v err=%v; want %q not plain", in, got, plain, err, want["k"][0])
				}
			}
		}
		in := []byte(`{"k":["` + strings.Repeat("x", n) + `"]}`)
		err := jsonscan.Members(in, func(_ []byte, v jsonscan.Value) bool {
			it := jsonscan.Elements(v.Raw)
			if e, _ := it.Next(); !e.Plain || len(e.Content(nil)) != n {
				t.Fatalf("%q: not plain", in)
			}
			return true
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	// A control character is rejected wherever it falls.
	for at := 0; at < 20; at++ {
		in := []byte(`{"k":"` + strings.Repeat("a", at) + "\x1f" + strings.Repeat("a", 20-at) + `"}`)
		if err := jsonscan.Members(in, func([]byte, jsonscan.Value) bool { return true }); err == nil {
			t.Fatalf("%q accepted", in)
		}
	}
}

func BenchmarkScan(b *testing.B) {
	var sb strings.Builder
	sb.WriteString(`{"email":[`)
	for i := range 5000 {
		if i > 0 {
			sb.WriteByte(',')
		}
		fmt.Fprintf(&sb, `"User.%d+tag@Example%d.com"`, i, i%97)
	}
	sb.WriteString(`]}`)
	in := []byte(sb.String())
	b.Run("jsonscan", func(b *testing.B) {
		b.SetBytes(int64(len(in)))
		b.ReportAllocs()
		scratch := make([]byte, 0, 256)
		for b.Loop() {
			n := 0
			jsonscan.Members(in, func(_ []byte, v jsonscan.Value) bool {
				for it := jsonscan.Elements(v.Raw); ; {
					e, ok := it.Next()
					if !ok {
						break
					}
					n += len(e.Content(scratch[:0]))
				}
				return true
			})
		}
	})
	b.Run("encoding-json", func(b *testing.B) {
		b.SetBytes(int64(len(in)))
		b.ReportAllocs()
		for b.Loop() {
			var req struct {
				Email []string `json:"email"`
			}
			if err := json.Unmarshal(in, &req); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("json.Valid", func(b *testing.B) {
		b.SetBytes(int64(len(in)))
		for b.Loop() {
			json.Valid(in)
		}
	})
}

func FuzzValidObject(f *testing.F) {
	for _, s := range []string{`{}`, ` {"a":[1,{"b":null}]} `, `{"a":}`, `[]`, `{"a":"\ud800"}`, `{"a":1}x`, ``} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		want := json.Valid(b) && bytes.HasPrefix(bytes.TrimLeft(b, " \t\r\n"), []byte("{"))
		if got := jsonscan.ValidObject(b); got != want {
			t.Fatalf("ValidObject(%q) = %v; want %v", b, got, want)
		}
	})
}
