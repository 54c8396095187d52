package jsonscan_test

import (
	"testing"

	"github.com/uid2-private-operator/uid2-operator/internal/jsonscan"
)

func TestVertxObject(t *testing.T) {
	fields, ok := jsonscan.DecodeObject([]byte(`{"a":"x\u0041","b":12,"c":null,"d":true,"a2":" s ","a":"last","e":{"k":1}}`))
	if !ok {
		t.Fatal("DecodeObject: not an object")
	}
	for _, tc := range []struct {
		key     string
		present bool
		want    string
	}{
		{"a", true, "last"}, // the last duplicate wins
		{"b", true, "12"},   // scalars as their JSON text
		{"c", false, "null"},
		{"d", true, "true"},
		{"a2", true, " s "},
		{"e", true, `{"k":1}`},
		{"A", false, ""}, // keys are case-sensitive
	} {
		raw := fields[tc.key]
		if got := jsonscan.Present(raw); got != tc.present {
			t.Errorf("Present(%s) = %v; want %v", tc.key, got, tc.present)
		}
		if got := jsonscan.StringValue(raw); got != tc.want {
			t.Errorf("StringValue(%s) = %q; want %q", tc.key, got, tc.want)
		}
	}
	for _, bad := range []string{`[]`, `"s"`, `{`, `{"a":}`} {
		if _, ok := jsonscan.DecodeObject([]byte(bad)); ok {
			t.Errorf("DecodeObject(%s) ok", bad)
		}
	}
	if f, ok := jsonscan.DecodeObject(nil); !ok || f != nil {
		t.Errorf("DecodeObject(nil) = %v, %v; want nil, true", f, ok)
	}
}
