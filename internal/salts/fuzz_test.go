package salts_test

import (
	"bytes"
	"encoding/json"
	"reflect"
	"strings"
	"testing"

	"github.com/uid2-private-operator/uid2-operator/internal/salts"
)

func FuzzParseFile(f *testing.F) {
	valid := string(genFile(f, 3))
	seeds := []string{
		valid,
		strings.ReplaceAll(valid, "\n", "\r\n"),
		strings.TrimSuffix(valid, "\n"),
		valid + "\n",
		valid[:len(valid)/2],
		"1,100,s,1000,,,,,,,\n1,100,s,1000,,,,,,,\n1,100,s,1000,,,,,,,",
		"1,100,,1000,,0," + curKey + ",cs,1," + prevKey + ",ps\n,,,,,,,,,,\n2147483648,1,s,1,,,,,,,\n",
		"1,100,s,1000,,,,,,\n1,100,s,1000,,,,,,,,,\n-1,-9223372036854775808,s,+1,,,,,,,\n",
		"",
		"\n\n\n",
	}
	for _, s := range seeds {
		f.Add([]byte(s), uint8(3))
	}
	// One-bit flips of a valid file.
	for i := 0; i < len(valid); i += 37 {
		b := []byte(valid)
		b[i] ^= 0x04
		f.Add(b, uint8(3))
	}
	f.Fuzz(func(t *testing.T, data []byte, size uint8) {
		n := int(size%8) + 1
		tb, err := salts.ParseFileBytes(data, n)
		tr, errR := salts.ParseFile(bytes.NewReader(data), n)
		if (err == nil) != (errR == nil) {
			t.Fatalf("ParseFileBytes error %v, ParseFile error %v", err, errR)
		}
		if err != nil {
			return
		}
		entries := make([]salts.Entry, tb.Len())
		crlf := false
		for i := range entries {
			entries[i] = tb.Entry(i)
			if entries[i] != tr.Entry(i) {
				t.Fatalf("bucket %d differs between ParseFileBytes and ParseFile", i)
			}
			crlf = crlf || hasCR(entries[i])
		}
		var buf bytes.Buffer
		if err := salts.WriteFile(&buf, entries); err != nil {
			if crlf {
				return // WriteFile refuses a '\r' inside a value
			}
			t.Fatalf("WriteFile of a parsed table: %v", err)
		}
		back, err := salts.ParseFileBytes(buf.Bytes(), n)
		if err != nil {
			t.Fatalf("ParseFileBytes(WriteFile) = %v", err)
		}
		for i := range entries {
			if back.Entry(i) != entries[i] {
				t.Fatalf("round trip bucket %d: got %#v; want %#v", i, back.Entry(i), entries[i])
			}
		}
	})
}

func hasCR(e salts.Entry) bool {
	for _, s := range []string{e.CurrentSalt, e.PreviousSalt, e.CurrentKey.Key, e.CurrentKey.Salt, e.PreviousKey.Key, e.PreviousKey.Salt} {
		if strings.ContainsRune(s, '\r') {
			return true
		}
	}
	return false
}

func FuzzParseMetadata(f *testing.F) {
	f.Add([]byte(fullMetadata))
	f.Add([]byte(`{"version":1,"first_level":"f","id_prefix":"","id_secret":"","salts":[{"effective":-1,"expires":0,"location":"l","size":2097152}]}`))
	f.Add([]byte(`{"version":1,"first_level":"f","id_prefix":"a","id_secret":"s","salts":[{"effective":1,"location":"l","size":0}]}`))
	f.Add([]byte(`{"version":null,"salts":null}`))
	f.Add([]byte(`{"Version":1}`))
	f.Add([]byte(fullMetadata[:len(fullMetadata)/2]))
	f.Add([]byte(`[]`))
	f.Fuzz(func(t *testing.T, data []byte) {
		md, err := salts.ParseMetadata(data)
		if err != nil {
			return
		}
		b, err := json.Marshal(md)
		if err != nil {
			t.Fatalf("Marshal: %v", err)
		}
		back, err := salts.ParseMetadata(b)
		if err != nil {
			t.Fatalf("ParseMetadata(Marshal(md)) = %v", err)
		}
		if !reflect.DeepEqual(back, md) {
			t.Fatalf("round trip: got %#v; want %#v", back, md)
		}
	})
}
