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
// wrapper JSON must not matter.
func TestUnwrapRefreshAnyJSONLayout(t *testing.T) {
	secret := bytes.Repeat([]byte{7}, 32)
	key, err := token.NewKey(77, secret)
	if err != nil {
		t.Fatal(err)
	}
	keys := func(id int32) (token.Key, bool) { return key, id == 77 }
	rrk := base64.StdEncoding.EncodeToString(bytes.Repeat([]byte{9}, 32))
	inner := "AAAA+/==" // opaque to UnwrapRefresh
	for _, j := range []string{
		`{"refresh_response_key":"` + rrk + `","refresh_token":"` + inner + `"}`,
		`{ "refresh_token" : "` + inner + `", "refresh_response_key" : "` + rrk + `" }`,
		`{"refresh_response_key":"` + rrk + `","refresh_token":"AAAA\u002b\/=="}`,
	} {
		sealed, err := aesgcm.Seal(nil, secret, []byte(j), nil)
		if err != nil {
			t.Fatal(err)
		}
		b := make([]byte, 5, 5+len(sealed))
		binary.BigEndian.PutUint32(b[1:], 77)
		b = append(b, sealed...)
		gotInner, gotKey, err := token.UnwrapRefresh(base64.StdEncoding.EncodeToString(b), keys)
		if err != nil || gotInner != inner || base64.StdEncoding.EncodeToString(gotKey) != rrk {
			t.Errorf("UnwrapRefresh(%s) = %q, %x, %v", j, gotInner, gotKey, err)
		}
	}
}
