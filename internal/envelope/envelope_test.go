package envelope_test

import (
	"bytes"
	"encoding/base64"
	"errors"
	"strings"
	"testing"
	"testing/iotest"
	"time"

	"github.com/uid2-private-operator/uid2-operator/internal/envelope"
	"github.com/uid2-private-operator/uid2-operator/internal/identity"
)

var (
	testSecret = bytes.Repeat([]byte{0x5a}, 32)
	testNow    = time.UnixMilli(1_700_000_000_000).Add(250 * time.Microsecond)
	testNonce  = [8]byte{1, 2, 3, 4, 5, 6, 7, 8}
)

// seal builds a binary request envelope with the test secret, sent at ts
// (epoch ms).
func seal(t testing.TB, ts int64, payload string) []byte {
	t.Helper()
	env, err := envelope.SealRequest(nil, testSecret, []byte(payload), time.UnixMilli(ts), testNonce, nil)
	if err != nil {
		t.Fatal(err)
	}
	return env
}

func text(b []byte) string { return base64.StdEncoding.EncodeToString(b) }

func TestOpenBranches(t *testing.T) {
	now := testNow.UnixMilli()
	valid := seal(t, now, `{"email":"a@b.c"}`)
	tampered := bytes.Clone(valid)
	tampered[len(tampered)-1] ^= 0x80
	version0 := bytes.Clone(valid)
	version0[0] = 0
	versionFF := bytes.Clone(valid)
	versionFF[0] = 0xff
	short44 := append([]byte{1}, make([]byte, 43)...) // one short of 1+12+16+8+8
	min45 := append([]byte{1}, make([]byte, 44)...)
	longJSON := []byte(`{"email_hash":"tMmiiTI7IaAcPpQPFQ65uMVCWH8av9jw4cwf/F5HVRQ=","x":1}`)

	type want struct{ uid2, euid string }
	same := func(s string) want { return want{s, s} }
	hinted := func(s string) want { return want{s + hintUID2, s + hintEUID} }
	unenc := want{unencUID2, unencEUID}

	for _, tc := range []struct {
		name   string
		body   []byte
		mode   envelope.Mode
		secret []byte
		want   want
	}{
		// Step 1, text.
		{"text empty", nil, envelope.ModeText, testSecret, same(msgMissing)},
		{"text not base64", []byte("not base64!"), envelope.ModeText, testSecret, hinted(msgNotB64)},
		{"text raw JSON object", []byte(` {"a": [1, 2]} `), envelope.ModeText, testSecret, unenc},
		{"text raw JSON array is not an object", []byte(`[{"a":1}]`), envelope.ModeText, testSecret, hinted(msgNotB64)},
		{"text raw JSON with trailing garbage", []byte(`{"a":1}x`), envelope.ModeText, testSecret, hinted(msgNotB64)},
		{"text newline in base64", []byte(text(valid)[:20] + "\n" + text(valid)[20:]), envelope.ModeText, testSecret, hinted(msgNotB64)},
		{"text CRLF after base64", []byte(text(valid) + "\r\n"), envelope.ModeText, testSecret, hinted(msgNotB64)},
		{"text space in base64", []byte(text(valid)[:20] + " " + text(valid)[20:]), envelope.ModeText, testSecret, hinted(msgNotB64)},
		{"text url-safe alphabet", []byte("-_-_" + text(valid)[4:]), envelope.ModeText, testSecret, hinted(msgNotB64)},
		{"text form-encoded plus", []byte(strings.ReplaceAll(k2Envelope, "+", "%2B")), envelope.ModeText, testSecret, hinted(msgNotB64)},
		{"text half padding", []byte(strings.TrimSuffix(k2Envelope, "=")), envelope.ModeText, testSecret, hinted(msgNotB64)},
		{"text padding mid-stream", []byte("QQ==" + text(valid)), envelope.ModeText, testSecret, hinted(msgNotB64)},
		{"text dangling char", []byte(text(valid[:45]) + "Q"), envelope.ModeText, testSecret, hinted(msgNotB64)},
		// Step 2.
		{"binary empty", nil, envelope.ModeBinary, testSecret, same(msgMissing)},
		{"text empty non-nil", []byte(""), envelope.ModeText, testSecret, same(msgMissing)},
		// Step 3.
		{"text 1 byte", []byte("QQ=="), envelope.ModeText, testSecret, hinted(msgTooShort)},
		{"text 44 bytes", []byte(text(short44)), envelope.ModeText, testSecret, hinted(msgTooShort)},
		{"binary 44 bytes", short44, envelope.ModeBinary, testSecret, hinted(msgTooShort)},
		{"text short JSON", []byte(text([]byte(`{"v":2}`))), envelope.ModeText, testSecret, unenc},
		{"binary short raw JSON", []byte(`{"v":2}`), envelope.ModeBinary, testSecret, unenc},
		{"binary short non-base64", []byte("QQ="), envelope.ModeBinary, testSecret, hinted(msgTooShort)},
		// Step 4.
		{"text version 0", []byte(text(version0)), envelope.ModeText, testSecret,
			hinted("Invalid body: Invalid request envelope format version: received 0, must be 1.")},
		{"binary version 255 is unsigned", versionFF, envelope.ModeBinary, testSecret,
			hinted("Invalid body: Invalid request envelope format version: received 255, must be 1.")},
		{"text long JSON", []byte(text(longJSON)), envelope.ModeText, testSecret, unenc},
		{"binary long raw JSON", longJSON, envelope.ModeBinary, testSecret, unenc},
		// Step 5.
		{"text 45 bytes", []byte(text(min45)), envelope.ModeText, testSecret, hinted(msgSecret)},
		{"binary tampered tag", tampered, envelope.ModeBinary, testSecret, hinted(msgSecret)},
		{"text wrong secret", []byte(text(valid)), envelope.ModeText, bytes.Repeat([]byte{1}, 32), hinted(msgSecret)},
		{"binary bad secret length", valid, envelope.ModeBinary, []byte("short"), hinted(msgSecret)},
		{"binary nil secret", valid, envelope.ModeBinary, nil, hinted(msgSecret)},
		// Step 6.
		{"text stale", []byte(text(seal(t, now-120000, `{}`))), envelope.ModeText, testSecret, same(msgTimestamp)},
		{"binary future", seal(t, now+119001, `{}`), envelope.ModeBinary, testSecret, same(msgTimestamp)},
		// Step 7.
		{"payload array", []byte(text(seal(t, now, `[1,2]`))), envelope.ModeText, testSecret, same(msgPayload)},
		{"payload string", seal(t, now, `"x"`), envelope.ModeBinary, testSecret, same(msgPayload)},
		{"payload null", seal(t, now, `null`), envelope.ModeBinary, testSecret, same(msgPayload)},
		{"payload truncated", seal(t, now, `{"a":`), envelope.ModeBinary, testSecret, same(msgPayload)},
		{"payload two objects", seal(t, now, `{}{}`), envelope.ModeBinary, testSecret, same(msgPayload)},
		{"payload whitespace only", seal(t, now, " \n"), envelope.ModeBinary, testSecret, same(msgPayload)},
		{"payload vertical tab", seal(t, now, "\v{}"), envelope.ModeBinary, testSecret, same(msgPayload)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			for _, sc := range []struct {
				scope identity.Scope
				want  string
			}{{identity.ScopeUID2, tc.want.uid2}, {identity.ScopeEUID, tc.want.euid}} {
				body := bytes.Clone(tc.body)
				req, err := envelope.Open(body, tc.mode, tc.secret, testNow, sc.scope)
				if err == nil {
					t.Fatalf("Open(%v, %v) = %+v, nil; want %q", sc.scope, tc.mode, req, sc.want)
				}
				if got := wireText(t, err); got != sc.want {
					t.Errorf("Open(%v, %v) = %q\nwant %q", sc.scope, tc.mode, got, sc.want)
				}
				if !bytes.Equal(body, tc.body) {
					t.Errorf("Open(%v, %v) modified body", sc.scope, tc.mode)
				}
			}
		})
	}
}

func TestOpenAccepts(t *testing.T) {
	now := testNow.UnixMilli()
	valid := seal(t, now, `{"email":"a@b.c"}`)
	for _, tc := range []struct {
		name     string
		body     []byte
		mode     envelope.Mode
		wantJSON string // "" means Payload must be nil
		wantMode envelope.Mode
	}{
		{"text", []byte(text(valid)), envelope.ModeText, `{"email":"a@b.c"}`, envelope.ModeText},
		{"binary", valid, envelope.ModeBinary, `{"email":"a@b.c"}`, envelope.ModeBinary},
		{"binary falls back to text", []byte(text(valid)), envelope.ModeBinary, `{"email":"a@b.c"}`, envelope.ModeText},
		{"text without padding", []byte(strings.TrimRight(k2EnvelopeLike(t, valid), "=")), envelope.ModeText, `{"email":"a@b.c"}`, envelope.ModeText},
		{"empty payload", seal(t, now, ""), envelope.ModeBinary, "", envelope.ModeBinary},
		{"empty payload text", []byte(text(seal(t, now, ""))), envelope.ModeText, "", envelope.ModeText},
		{"empty object", seal(t, now, "{}"), envelope.ModeBinary, "{}", envelope.ModeBinary},
		{"surrounding JSON whitespace", seal(t, now, " \t\r\n{\"a\":[1,{}]}\n"), envelope.ModeBinary, " \t\r\n{\"a\":[1,{}]}\n", envelope.ModeBinary},
		{"non-ASCII", seal(t, now, `{"n":"é✓"}`), envelope.ModeBinary, `{"n":"é✓"}`, envelope.ModeBinary},
		// The window edges (§1.4 step 6): −119000 ≤ now−ts ≤ 119999 ms.
		{"119999 ms old", seal(t, now-119999, "{}"), envelope.ModeBinary, "{}", envelope.ModeBinary},
		{"119000 ms ahead", seal(t, now+119000, "{}"), envelope.ModeBinary, "{}", envelope.ModeBinary},
	} {
		t.Run(tc.name, func(t *testing.T) {
			req, err := envelope.Open(tc.body, tc.mode, testSecret, testNow, identity.ScopeUID2)
			if err != nil {
				t.Fatalf("Open = %v", err)
			}
			if tc.wantJSON == "" && req.Payload != nil {
				t.Errorf("Payload = %q; want nil", req.Payload)
			}
			if string(req.Payload) != tc.wantJSON {
				t.Errorf("Payload = %q; want %q", req.Payload, tc.wantJSON)
			}
			if req.Mode != tc.wantMode {
				t.Errorf("Mode = %v; want %v", req.Mode, tc.wantMode)
			}
			if req.Nonce != testNonce {
				t.Errorf("Nonce = %x; want %x", req.Nonce, testNonce)
			}
		})
	}
}

// k2EnvelopeLike returns the padded base64 of env, checking that it really
// has padding to strip.
func k2EnvelopeLike(t *testing.T, env []byte) string {
	t.Helper()
	s := text(env)
	if !strings.HasSuffix(s, "=") {
		t.Fatalf("test envelope of %d bytes has no padding", len(env))
	}
	return s
}

func TestOpenTimestampWindow(t *testing.T) {
	now := testNow.UnixMilli()
	for _, tc := range []struct {
		age int64 // now − ts, ms
		ok  bool
	}{
		{-120000, false},
		{-119001, false},
		{-119000, true},
		{-1, true},
		{0, true},
		{60000, true},
		{119999, true},
		{120000, false},
		{now + 1, false}, // ts = −1
	} {
		_, err := envelope.Open(seal(t, now-tc.age, "{}"), envelope.ModeBinary, testSecret, testNow, identity.ScopeUID2)
		if got := err == nil; got != tc.ok {
			t.Errorf("Open(now−ts = %d ms) = %v; want ok = %v", tc.age, err, tc.ok)
		}
		if err != nil && wireText(t, err) != msgTimestamp {
			t.Errorf("Open(now−ts = %d ms) = %q; want %q", tc.age, wireText(t, err), msgTimestamp)
		}
	}

	// Extreme timestamps must not overflow into the window.
	for _, ts := range []int64{-1 << 63, 1<<63 - 1} {
		env := seal(t, ts, "{}") // time.UnixMilli covers every int64
		if _, err := envelope.Open(env, envelope.ModeBinary, testSecret, testNow, identity.ScopeUID2); wireText(t, err) != msgTimestamp {
			t.Errorf("Open(ts = %d) = %v; want %q", ts, err, msgTimestamp)
		}
	}
}

func TestModeFor(t *testing.T) {
	for _, tc := range []struct {
		ct   string
		want envelope.Mode
	}{
		{"application/octet-stream", envelope.ModeBinary},
		{"Application/Octet-Stream", envelope.ModeBinary},
		{"APPLICATION/OCTET-STREAM", envelope.ModeBinary},
		{"", envelope.ModeText},
		{"text/plain", envelope.ModeText},
		{"application/x-www-form-urlencoded; charset=utf-8", envelope.ModeText},
		{"application/octet-stream; charset=binary", envelope.ModeText},
		{" application/octet-stream", envelope.ModeText},
		{"application/octet-streaM\u017f", envelope.ModeText},
	} {
		if got := envelope.ModeFor(tc.ct); got != tc.want {
			t.Errorf("ModeFor(%q) = %v; want %v", tc.ct, got, tc.want)
		}
	}
	if got := envelope.ModeBinary.ContentType(); got != "application/octet-stream" {
		t.Errorf("ModeBinary.ContentType() = %q", got)
	}
	if got := envelope.ModeText.ContentType(); got != "text/plain" {
		t.Errorf("ModeText.ContentType() = %q", got)
	}
}

// TestRoundTrip runs a whole exchange: client seals, operator opens and
// answers, client opens the answer.
func TestRoundTrip(t *testing.T) {
	for _, mode := range []envelope.Mode{envelope.ModeText, envelope.ModeBinary} {
		for _, payload := range []string{"", `{"email":"test@example.com"}`, `{"a":"` + strings.Repeat("x", 5000) + `"}`} {
			t.Run(mode.String(), func(t *testing.T) {
				nonce := [8]byte{9, 8, 7, 6, 5, 4, 3, 2}
				sealed, err := envelope.SealRequest([]byte("prefix"), testSecret, []byte(payload), testNow, nonce, nil)
				if err != nil {
					t.Fatal(err)
				}
				if !bytes.HasPrefix(sealed, []byte("prefix")) {
					t.Fatalf("SealRequest did not append to dst")
				}
				body := envelope.AppendBody(nil, mode, sealed[len("prefix"):])

				req, err := envelope.Open(body, mode, testSecret, testNow, identity.ScopeUID2)
				if err != nil {
					t.Fatalf("Open = %v", err)
				}
				if string(req.Payload) != payload || req.Nonce != nonce || req.Mode != mode || req.Timestamp != testNow.UnixMilli() {
					t.Fatalf("Open = %q %x %v %d", req.Payload, req.Nonce, req.Mode, req.Timestamp)
				}

				respJSON := []byte(`{"body":{"x":1},"status":"success"}`)
				later := testNow.Add(3 * time.Second)
				resp, err := envelope.AppendSeal(nil, testSecret, req.Nonce, respJSON, later, nil)
				if err != nil {
					t.Fatal(err)
				}
				wire := envelope.AppendBody(nil, req.Mode, resp)

				js, ts, err := envelope.OpenResponse(wire, envelope.ModeFor(req.Mode.ContentType()), testSecret, nonce)
				if err != nil {
					t.Fatalf("OpenResponse = %v", err)
				}
				if !bytes.Equal(js, respJSON) || ts != later.UnixMilli() {
					t.Errorf("OpenResponse = %s, %d; want %s, %d", js, ts, respJSON, later.UnixMilli())
				}

				other := nonce
				other[0]++
				if _, _, err := envelope.OpenResponse(wire, req.Mode, testSecret, other); !errors.Is(err, envelope.ErrNonceMismatch) {
					t.Errorf("OpenResponse(other nonce) = %v; want %v", err, envelope.ErrNonceMismatch)
				}
			})
		}
	}
}

func TestAppendSealLayout(t *testing.T) {
	iv := []byte("0123456789ab")
	js := []byte(`{"status":"success"}`)
	dst := []byte("hdr")
	out, err := envelope.AppendSeal(dst, testSecret, testNonce, js, testNow, bytes.NewReader(iv))
	if err != nil {
		t.Fatal(err)
	}
	// IV(12) || ct(8+8+len) || tag(16); no version byte.
	if want := len("hdr") + 12 + 16 + len(js) + 16; len(out) != want {
		t.Fatalf("len = %d; want %d", len(out), want)
	}
	if !bytes.HasPrefix(out, []byte("hdr0123456789ab")) {
		t.Errorf("out = %x; want prefix hdr || IV", out[:15])
	}
	// A request envelope is the same thing behind a version byte.
	req, err := envelope.SealRequest(nil, testSecret, js, testNow, testNonce, bytes.NewReader(iv))
	if err != nil {
		t.Fatal(err)
	}
	if req[0] != 1 || !bytes.Equal(req[1:], out[3:]) {
		t.Errorf("SealRequest = %x; want 01 || %x", req, out[3:])
	}
}

func TestSealFailures(t *testing.T) {
	errRand := errors.New("no entropy")
	dst := []byte("keep")
	out, err := envelope.AppendSeal(dst, testSecret, testNonce, []byte("{}"), testNow, iotest.ErrReader(errRand))
	if !errors.Is(err, errRand) || string(out) != "keep" {
		t.Errorf("AppendSeal(failing rand) = %q, %v; want %q, %v", out, err, "keep", errRand)
	}
	out, err = envelope.SealRequest(dst, testSecret, []byte("{}"), testNow, testNonce, iotest.ErrReader(errRand))
	if !errors.Is(err, errRand) || string(out) != "keep" {
		t.Errorf("SealRequest(failing rand) = %q, %v; want %q, %v", out, err, "keep", errRand)
	}
	if _, err := envelope.AppendSeal(nil, []byte("bad key"), testNonce, nil, testNow, nil); err == nil {
		t.Errorf("AppendSeal(7-byte secret) = nil error")
	}
	if _, err := envelope.SealRequest(nil, nil, nil, testNow, testNonce, nil); err == nil {
		t.Errorf("SealRequest(nil secret) = nil error")
	}
}

func TestOpenResponseFailures(t *testing.T) {
	resp, err := envelope.AppendSeal(nil, testSecret, testNonce, nil, testNow, nil)
	if err != nil {
		t.Fatal(err)
	}
	flipped := bytes.Clone(resp)
	flipped[20] ^= 1
	for _, tc := range []struct {
		name string
		body []byte
		mode envelope.Mode
		key  []byte
		want error
	}{
		{"ok empty JSON", resp, envelope.ModeBinary, testSecret, nil},
		{"binary too short", resp[:43], envelope.ModeBinary, testSecret, envelope.ErrResponseFormat},
		{"text too short", []byte(text(resp[:43])), envelope.ModeText, testSecret, envelope.ErrResponseFormat},
		{"text not base64", []byte("{\"status\":\"unauthorized\"}"), envelope.ModeText, testSecret, envelope.ErrResponseFormat},
		{"binary sent as text", resp, envelope.ModeText, testSecret, envelope.ErrResponseFormat},
		{"flipped bit", flipped, envelope.ModeBinary, testSecret, envelope.ErrResponseOpen},
		{"wrong secret", []byte(text(resp)), envelope.ModeText, bytes.Repeat([]byte{7}, 32), envelope.ErrResponseOpen},
		{"request envelope is not a response", seal(t, 0, "{}"), envelope.ModeBinary, testSecret, envelope.ErrResponseOpen},
	} {
		t.Run(tc.name, func(t *testing.T) {
			body := bytes.Clone(tc.body)
			js, _, err := envelope.OpenResponse(body, tc.mode, tc.key, testNonce)
			if !errors.Is(err, tc.want) {
				t.Errorf("OpenResponse = %v; want %v", err, tc.want)
			}
			if err == nil && len(js) != 0 {
				t.Errorf("OpenResponse JSON = %q; want empty", js)
			}
			if !bytes.Equal(body, tc.body) {
				t.Errorf("OpenResponse modified body")
			}
		})
	}
}
