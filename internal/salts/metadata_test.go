package salts_test

import (
	"encoding/json"
	"errors"
	"reflect"
	"strings"
	"testing"

	"github.com/uid2-private-operator/uid2-operator/internal/salts"
)

const fullMetadata = `{"version": 7, "generated": 1717548362,
 "first_level": "fOGY/aRE44peL23i+cE9MkJrzmEeNZZziNZBfq7qqk8=", "id_prefix": "b",
 "id_secret": "HF6Qz42HBbVHINxhh191dB09BCuTWyBkNtrNicO4ZCw=", "unknown": {"x": [1]},
 "salts": [
  {"effective": 1745907348982, "expires": 253402329599000, "location": "salts/salts.txt.1745907348982", "size": 5, "extra": true},
  {"effective": 1745907348983, "location": "salts/next.txt", "size": 1048576}
 ]}`

func TestParseMetadata(t *testing.T) {
	got, err := salts.ParseMetadata([]byte(fullMetadata))
	if err != nil {
		t.Fatal(err)
	}
	want := salts.Metadata{
		Version: 7, Generated: 1717548362,
		FirstLevel: "fOGY/aRE44peL23i+cE9MkJrzmEeNZZziNZBfq7qqk8=", IDPrefix: "b",
		IDSecret: "HF6Qz42HBbVHINxhh191dB09BCuTWyBkNtrNicO4ZCw=",
		Files: []salts.File{
			{Effective: 1745907348982, Expires: 253402329599000, Location: "salts/salts.txt.1745907348982", Size: 5},
			{Effective: 1745907348983, Location: "salts/next.txt", Size: 1048576},
		},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("ParseMetadata =\n  %#v\nwant\n  %#v", got, want)
	}
}

func TestParseMetadataErrors(t *testing.T) {
	// base is valid; each case replaces one substring of it.
	const base = `{"version":1,"generated":2,"first_level":"f","id_prefix":"a","id_secret":"s",` +
		`"salts":[{"effective":1,"expires":2,"location":"l","size":5}]}`
	tests := []struct {
		name, old, new string
		wantField      string
	}{
		{"missing version", `"version":1,`, ``, "version"},
		{"null version", `"version":1`, `"version":null`, "version"},
		{"string version", `"version":1`, `"version":"1"`, "version"},
		{"fractional version", `"version":1`, `"version":1.5`, "version"},
		{"bad generated", `"generated":2`, `"generated":"x"`, "generated"},
		{"missing first_level", `"first_level":"f",`, ``, "first_level"},
		{"empty first_level", `"first_level":"f"`, `"first_level":""`, "first_level"},
		{"numeric first_level", `"first_level":"f"`, `"first_level":5`, "first_level"},
		{"missing id_prefix", `"id_prefix":"a",`, ``, "id_prefix"},
		{"missing id_secret", `"id_secret":"s",`, ``, "id_secret"},
		{"missing salts", `,"salts":[{"effective":1,"expires":2,"location":"l","size":5}]`, ``, "salts"},
		{"salts not array", `"salts":[{"effective":1,"expires":2,"location":"l","size":5}]`, `"salts":{}`, "salts"},
		{"empty salts", `"salts":[{"effective":1,"expires":2,"location":"l","size":5}]`, `"salts":[]`, "salts"},
		{"salt entry not object", `[{"effective":1,"expires":2,"location":"l","size":5}]`, `[{"effective":1,"location":"l","size":5},3]`, "salts[1]"},
		{"missing effective", `"effective":1,`, ``, "salts[0].effective"},
		{"bad expires", `"expires":2`, `"expires":"2"`, "salts[0].expires"},
		{"missing location", `"location":"l",`, ``, "salts[0].location"},
		{"empty location", `"location":"l"`, `"location":""`, "salts[0].location"},
		{"missing size", `,"size":5`, ``, "salts[0].size"},
		{"zero size", `"size":5`, `"size":0`, "salts[0].size"},
		{"negative size", `"size":5`, `"size":-1`, "salts[0].size"},
		{"huge size", `"size":5`, `"size":2097153`, "salts[0].size"},
		{"size overflow", `"size":5`, `"size":99999999999999999999`, "salts[0].size"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if !strings.Contains(base, tt.old) {
				t.Fatalf("bad test: %q not in base", tt.old)
			}
			in := strings.Replace(base, tt.old, tt.new, 1)
			_, err := salts.ParseMetadata([]byte(in))
			var fe *salts.FieldError
			if !errors.As(err, &fe) || fe.Field != tt.wantField {
				t.Errorf("ParseMetadata(%s) = %v; want FieldError for %s", in, err, tt.wantField)
			}
			if err != nil && strings.Contains(err.Error(), `"s"`) {
				t.Errorf("error %q echoes the id secret", err)
			}
		})
	}
	if _, err := salts.ParseMetadata([]byte(base)); err != nil {
		t.Errorf("ParseMetadata(base) = %v", err)
	}
}

func TestParseMetadataNotJSON(t *testing.T) {
	for _, in := range []string{"", "null", "[]", "{", `"x"`} {
		if _, err := salts.ParseMetadata([]byte(in)); err == nil {
			t.Errorf("ParseMetadata(%q) succeeded; want error", in)
		}
	}
}

func TestParseMetadataTooManyFiles(t *testing.T) {
	entries := strings.Repeat(`{"effective":1,"location":"l","size":1},`, salts.MaxFiles+1)
	in := `{"version":1,"first_level":"f","id_prefix":"a","id_secret":"s","salts":[` + strings.TrimSuffix(entries, ",") + `]}`
	var fe *salts.FieldError
	if _, err := salts.ParseMetadata([]byte(in)); !errors.As(err, &fe) || fe.Field != "salts" {
		t.Errorf("ParseMetadata(%d files) = %v; want FieldError for salts", salts.MaxFiles+1, err)
	}
}

func TestParseMetadataNullExpires(t *testing.T) {
	in := `{"version":1,"first_level":"f","id_prefix":"a","id_secret":"s","salts":[{"effective":1,"expires":null,"location":"l","size":1}]}`
	md, err := salts.ParseMetadata([]byte(in))
	if err != nil || md.Files[0].Expires != 0 || md.Generated != 0 {
		t.Errorf("ParseMetadata = %+v, %v; want Expires 0 and Generated 0", md, err)
	}
}

func TestMetadataMarshalJSON(t *testing.T) {
	md := salts.Metadata{Version: 3, Generated: 4, FirstLevel: "f", IDPrefix: "a", IDSecret: "s",
		Files: []salts.File{{Effective: 10, Expires: 20, Location: "x", Size: 2}, {Effective: 30, Location: "y", Size: 1}}}
	got, err := json.Marshal(md)
	if err != nil {
		t.Fatal(err)
	}
	want := `{"version":3,"generated":4,"first_level":"f","id_prefix":"a","id_secret":"s",` +
		`"salts":[{"effective":10,"expires":20,"location":"x","size":2},{"effective":30,"location":"y","size":1}]}`
	if string(got) != want {
		t.Errorf("json.Marshal = %s; want %s", got, want)
	}
	back, err := salts.ParseMetadata(got)
	if err != nil || !reflect.DeepEqual(back, md) {
		t.Errorf("ParseMetadata(Marshal) = %#v, %v; want %#v", back, err, md)
	}
}
