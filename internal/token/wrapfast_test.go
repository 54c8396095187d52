package token_test

import (
	"bytes"
	"encoding/base64"
	"encoding/binary"
	"testing"

	"github.com/uid2-private-operator/uid2-operator/internal/aesgcm"
	"github.com/uid2-private-operator/uid2-operator/internal/token"
)

// TestUnwrapRefreshAnyJSONLayout checks that the fast path for our own layout
// and the general JSON path agree: spacing, key order and escapes in the
// wrapper JSON must not matter, nor whether the wrapper is opened in place.
func TestUnwrapRefreshAnyJSONLayout(t *testing.T) {
	secret := bytes.Repeat([]byte{7}, 32)
	key, err := token.NewKey(77, secret)
	if err != nil {
		t.Fatal(err)
	}
	keys := func(id int32) (token.Key, bool) { return key, id == 77 }
	rrk := base64.StdEncoding.EncodeToString(bytes.Repeat([]byte{9}, 32))
	rrk16 := base64.StdEncoding.EncodeToString(bytes.Repeat([]byte{5}, 16)) // general path only
	inner := "AAAA+/=="                                                     // opaque to UnwrapRefresh
	for _, c := range []struct{ j, rrk string }{
		{`{"refresh_response_key":"` + rrk + `","refresh_token":"` + inner + `"}`, rrk},
		{`{ "refresh_token" : "` + inner + `", "refresh_response_key" : "` + rrk + `" }`, rrk},
		{`{"refresh_response_key":"` + rrk + `","refresh_token":"AAAA\u002b\/=="}`, rrk},
		{`{"refresh_response_key":"` + rrk16 + `","refresh_token":"` + inner + `"}`, rrk16},
	} {
		j := c.j
		sealed, err := aesgcm.Seal(nil, secret, []byte(j), nil)
		if err != nil {
			t.Fatal(err)
		}
		b := make([]byte, 5, 5+len(sealed))
		binary.BigEndian.PutUint32(b[1:], 77)
		b = append(b, sealed...)
		text := base64.StdEncoding.EncodeToString(b)
		gotInner, gotKey, err := token.UnwrapRefresh(text, keys)
		if err != nil || gotInner != inner || base64.StdEncoding.EncodeToString(gotKey) != c.rrk {
			t.Errorf("UnwrapRefresh(%s) = %q, %x, %v", j, gotInner, gotKey, err)
		}
		placeInner, placeKey, err := token.UnwrapRefreshInPlace([]byte(text), keys)
		if err != nil || string(placeInner) != inner || base64.StdEncoding.EncodeToString(placeKey) != c.rrk {
			t.Errorf("UnwrapRefreshInPlace(%s) = %q, %x, %v", j, placeInner, placeKey, err)
		}
	}
}
