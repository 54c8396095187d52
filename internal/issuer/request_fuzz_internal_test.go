package issuer

import (
	"testing"

	"github.com/uid2-private-operator/uid2-operator/internal/jsonscan"
)

// FuzzDecodeRequest checks the scanning request decoder against
// encoding/json decoding into a map (jsonscan.DecodeObject), which it replaced on the
// token routes: the same payloads are objects, and every field the handlers
// read is present, set and read as a string the same way.
func FuzzDecodeRequest(f *testing.F) {
	for _, s := range []string{
		`{"email":"a@b.com"}`, `{"phone":"+12345678901","tcf_consent_string":null}`,
		`{"email_hash":"abc=","token":"A4AAAA"}`, `{"email":["x"]}`, `{"email":{"a": 1}}`, `{"email": 12.5e3 }`,
		`{"email":"a@b.com","email":"c@d.com"}`, `{"email":"a@b.com","email":null}`, `{}`, ` {} `, `null`, `[]`, `""`,
		`{"email":"\ud800@x.com"}`, `{"em\u0061il":"x\u00e9@y.com"}`, `{"Email":"a@b.com"}`, "{\"email\":\"\xff@x\"}",
		`{"clientIp":"1.2.3.4","phone_hash":true}`, `{"email":"a"} x`, `{"email":"a",}`, `{"token":"\/\n"}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, payload []byte) {
		got, gotOK := decodeFields(payload)
		want, wantOK := jsonscan.DecodeObject(payload)
		if payload != nil && wantOK && want == nil {
			// JSON null decodes into a nil map; the token routes never see it
			// (the envelope and the plain-JSON path both require an object).
			if gotOK {
				t.Fatalf("%q: null accepted as an object", payload)
			}
			return
		}
		if gotOK != wantOK {
			t.Fatalf("%q: ok = %v; encoding/json says %v", payload, gotOK, wantOK)
		}
		if !gotOK {
			return
		}
		for key, v := range map[string]jsonscan.Value{
			"email": got.email, "email_hash": got.emailHash, "phone": got.phone, "phone_hash": got.phoneHash,
			"tcf_consent_string": got.tcfConsent, "token": got.token, "clientIp": got.clientIP,
		} {
			raw, has := want[key]
			if given(v) != has || set(v) != jsonscan.Present(raw) {
				t.Fatalf("%q %s: given %v set %v; encoding/json: has %v present %v", payload, key, given(v), set(v), has, jsonscan.Present(raw))
			}
			if has && valueString(v) != jsonscan.StringValue(raw) {
				t.Fatalf("%q %s: %q; encoding/json: %q", payload, key, valueString(v), jsonscan.StringValue(raw))
			}
		}
	})
}
