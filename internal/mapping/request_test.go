package mapping_test

import (
	"errors"
	"testing"

	"github.com/uid2-private-operator/uid2-operator/internal/identity"
	"github.com/uid2-private-operator/uid2-operator/internal/mapping"
)

func TestParseV2(t *testing.T) {
	for _, tc := range []struct {
		payload string
		phone   bool
		kind    identity.InputKind
		arr     string
		err     error
		notArr  string
	}{
		{`{"email":["a@example.com"]}`, true, identity.KindEmail, `["a@example.com"]`, nil, ""},
		{`{"email":[],"phone_hash":["x"]}`, true, identity.KindPhoneHash, `["x"]`, nil, ""},
		{`{"email":[],"email_hash":null}`, true, 0, "", nil, ""}, // given but empty: nothing to map
		{`{"email":["a"],"email":["b"]}`, true, identity.KindEmail, `["b"]`, nil, ""},
		{`{"phone":["+12345678901"]}`, false, 0, "", mapping.ErrInputCount, ""}, // phone unread
		{`{"email":["a"],"phone":"x"}`, false, identity.KindEmail, `["a"]`, nil, ""},
		{`{"email":["a"],"email_hash":["b"]}`, true, 0, "", mapping.ErrInputCount, ""},
		{`{"link_id":"x"}`, true, 0, "", mapping.ErrInputCount, ""},
		{`{"email":"a","email_hash":["b"]}`, true, 0, "", nil, "email"}, // first problem in key order
		{`{"email":["a",null]}`, true, 0, "", mapping.ErrNullElement, ""},
		{`{"email":["a"]`, true, 0, "", mapping.ErrNotJSON, ""},
	} {
		kind, arr, err := mapping.ParseV2([]byte(tc.payload), tc.phone)
		var na *mapping.NotArrayError
		switch {
		case tc.notArr != "":
			if !errors.As(err, &na) || na.Key != tc.notArr {
				t.Errorf("ParseV2(%s) err = %v; want %s not an array", tc.payload, err, tc.notArr)
			}
		case !errors.Is(err, tc.err) || kind != tc.kind || string(arr) != tc.arr:
			t.Errorf("ParseV2(%s, phone=%v) = %v, %s, %v; want %v, %s, %v", tc.payload, tc.phone, kind, arr, err, tc.kind, tc.arr, tc.err)
		}
	}
}

func TestParseV3(t *testing.T) {
	for _, tc := range []struct {
		payload string
		err     error
		valid   error
	}{
		{`{"email":["a"],"phone":null}`, nil, nil},
		{`{"email":["a",1,true]}`, nil, nil},
		{`{"email":[["a"]]}`, nil, mapping.ErrIncorrectFormat},
		{`{"email":[null]}`, nil, mapping.ErrIncorrectFormat},
		{`{}`, mapping.ErrInputCount, nil},
		{`{"link_id":"x","email":["a"]}`, mapping.ErrIncorrectFormat, nil},
		{`{"email":"a"}`, mapping.ErrIncorrectFormat, nil},
		{`{"link_id":"x","email":[}`, mapping.ErrNotJSON, nil}, // a syntax error anywhere wins
	} {
		arrays, err := mapping.ParseV3([]byte(tc.payload))
		if !errors.Is(err, tc.err) {
			t.Errorf("ParseV3(%s) err = %v; want %v", tc.payload, err, tc.err)
			continue
		}
		if err == nil {
			if got := mapping.ValidV3(&arrays); !errors.Is(got, tc.valid) {
				t.Errorf("ValidV3(%s) = %v; want %v", tc.payload, got, tc.valid)
			}
		}
	}
}
