package cstg_test

import (
	"errors"
	"testing"

	"github.com/uid2-private-operator/uid2-operator/internal/cstg"
	"github.com/uid2-private-operator/uid2-operator/internal/identity"
	"github.com/uid2-private-operator/uid2-operator/internal/store"
)

// rejection returns err's kind and message, or "" when err is nil.
func rejection(t *testing.T, err error) (cstg.Kind, string) {
	t.Helper()
	if err == nil {
		return 0, ""
	}
	var e *cstg.Error
	if !errors.As(err, &e) {
		t.Fatalf("err = %v; want a *cstg.Error", err)
	}
	return e.Kind, e.Message
}

func TestParseRequest(t *testing.T) {
	for _, tc := range []struct {
		body    string
		want    cstg.Request
		wantMsg string
	}{
		{"", cstg.Request{}, cstg.MsgEmpty},
		{" \n", cstg.Request{}, cstg.MsgEmpty},
		{"[]", cstg.Request{}, cstg.MsgNotJSON},
		{`{"payload":"p"`, cstg.Request{}, cstg.MsgNotJSON},
		{`{"payload":{"x":1}}`, cstg.Request{}, cstg.MsgNotJSON},
		{`{"app_name":["a"]}`, cstg.Request{}, cstg.MsgNotJSON},
		{`{"timestamp":1.5}`, cstg.Request{}, cstg.MsgNotJSON},
		{`{"payload":"p","iv":"i","public_key":"k","subscription_id":"s","timestamp":"17","unknown":[1]}`,
			cstg.Request{Payload: "p", IV: "i", PublicKey: "k", SubscriptionID: "s", HasCrypto: true, Timestamp: 17}, ""},
		{`{"payload":"p","iv":null,"public_key":"k","app_name":"App","timestamp":-5}`,
			cstg.Request{Payload: "p", PublicKey: "k", AppName: "App", HasApp: true, Timestamp: -5}, ""},
		{`{"payload":12,"iv":true,"public_key":"k"}`, cstg.Request{Payload: "12", IV: "true", PublicKey: "k", HasCrypto: true}, ""},
	} {
		got, err := cstg.ParseRequest([]byte(tc.body))
		kind, msg := rejection(t, err)
		if msg != tc.wantMsg || (msg != "" && kind != cstg.BadRequest) {
			t.Errorf("ParseRequest(%s) err = %v; want %q", tc.body, err, tc.wantMsg)
		}
		if err == nil && got != tc.want {
			t.Errorf("ParseRequest(%s) = %+v; want %+v", tc.body, got, tc.want)
		}
	}
}

func TestCheckSite(t *testing.T) {
	site := &store.Site{DomainNames: []string{"example.com", "localhost"}, AppNames: []string{"com.Example.App"}}
	for _, tc := range []struct {
		name   string
		site   *store.Site
		req    cstg.Request
		origin string
		want   cstg.Kind
		ok     bool
	}{
		{"origin's registrable domain", site, cstg.Request{}, "https://www.example.com:8443", 0, true},
		{"localhost", site, cstg.Request{}, "http://app.localhost:3000", 0, true},
		{"other domain", site, cstg.Request{}, "https://example.org", cstg.BadOrigin, false},
		{"no origin", site, cstg.Request{}, "", cstg.BadOrigin, false},
		{"unknown site", nil, cstg.Request{}, "https://example.com", cstg.BadOrigin, false},
		{"app name, any case", site, cstg.Request{AppName: "COM.EXAMPLE.APP", HasApp: true}, "", 0, true},
		{"app name wins over a good origin", site, cstg.Request{AppName: "other", HasApp: true}, "https://example.com", cstg.BadAppName, false},
		{"app name, unknown site", nil, cstg.Request{AppName: "com.Example.App", HasApp: true}, "", cstg.BadAppName, false},
	} {
		err := cstg.CheckSite(tc.site, &tc.req, tc.origin)
		kind, _ := rejection(t, err)
		if (err == nil) != tc.ok || kind != tc.want {
			t.Errorf("%s: CheckSite = %v; want ok=%v kind %d", tc.name, err, tc.ok, tc.want)
		}
	}
}

func TestInput(t *testing.T) {
	for _, tc := range []struct {
		plaintext string
		phone     bool
		kind      identity.InputKind
		value     string
		wantMsg   string
	}{
		{`{"email_hash":"h"}`, true, identity.KindEmailHash, "h", ""},
		{`{"phone_hash":"p","email_hash":null}`, true, identity.KindPhoneHash, "p", ""},
		{`{"email_hash":"h","phone_hash":"p"}`, true, 0, "", cstg.MsgExactlyOne},
		{`{"email":"a@example.com"}`, true, 0, "", cstg.MsgExactlyOne},
		{`{}`, false, 0, "", cstg.MsgExactlyOneNoPhone},
		{`{"phone_hash":"p"}`, false, 0, "", cstg.MsgPhoneDisabled},
		{`{"email_hash":`, true, 0, "", cstg.MsgInvalidJSON},
	} {
		kind, value, err := cstg.Input([]byte(tc.plaintext), tc.phone)
		_, msg := rejection(t, err)
		if kind != tc.kind || value != tc.value || msg != tc.wantMsg {
			t.Errorf("Input(%s, phone=%v) = %v, %q, %v; want %v, %q, %q", tc.plaintext, tc.phone, kind, value, err, tc.kind, tc.value, tc.wantMsg)
		}
	}
}
