package envelope_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/uid2-private-operator/uid2-operator/internal/envelope"
	"github.com/uid2-private-operator/uid2-operator/internal/identity"
)

// FuzzOpen checks that Open never panics, never modifies body, reports every
// failure as *Error, returns only JSON objects, and that whatever it accepts
// can be answered and the answer opened by a client.
func FuzzOpen(f *testing.F) {
	secret := b64(f, k2Secret)
	now := clock(f, k2Clock)
	nonce := nonce8(f, k2Nonce)

	own, err := envelope.SealRequest(nil, secret, []byte(`{"email":"test@example.com"}`), now, nonce, nil)
	if err != nil {
		f.Fatal(err)
	}
	empty, err := envelope.SealRequest(nil, secret, nil, now, nonce, nil)
	if err != nil {
		f.Fatal(err)
	}
	k2 := b64(f, k2Envelope)
	aead, err := envelope.NewCipher(secret)
	if err != nil {
		f.Fatal(err)
	}

	add := func(b []byte) {
		f.Add(bytes.Clone(b), false)
		f.Add(bytes.Clone(b), true)
		f.Add([]byte(text(b)), false)
		f.Add([]byte(text(b)), true)
	}
	for _, valid := range [][]byte{k2, own, empty} {
		add(valid)
		// One-bit flips: version, IV, timestamp/nonce region, tag.
		for _, i := range []int{0, 1, 13, 20, 29, len(valid) - 1} {
			flipped := bytes.Clone(valid)
			flipped[i] ^= 1
			add(flipped)
		}
		// Truncations.
		for _, n := range []int{0, 1, 13, 44, 45, 46, len(valid) - 1} {
			if n <= len(valid) {
				add(valid[:n])
			}
		}
	}
	// Boundary lengths around the 45-byte minimum, with the right version.
	for _, n := range []int{44, 45, 46} {
		b := make([]byte, n)
		b[0] = 1
		add(b)
	}
	f.Add([]byte(k2PlainJSON), false)
	f.Add([]byte(k2PlainJSON), true)
	f.Add([]byte(k2Envelope+"\n"), false)
	f.Add([]byte("QQ="), false)
	// Not base64, but reads as a JSON object once its valid prefix is
	// decoded over itself.
	f.Add([]byte(text([]byte(`{"`+strings.Repeat("a", 43)))+`":1}`), false)

	f.Fuzz(func(t *testing.T, body []byte, binary bool) {
		mode := envelope.ModeText
		if binary {
			mode = envelope.ModeBinary
		}
		orig := bytes.Clone(body)
		req, err := envelope.Open(body, mode, secret, now, identity.ScopeUID2)
		if !bytes.Equal(body, orig) {
			t.Fatalf("Open modified body")
		}
		// The server opens in place: same answer, whatever the decode
		// leaves in the buffer.
		inReq, inErr := envelope.OpenInPlace(bytes.Clone(body), mode, aead, now, identity.ScopeUID2)
		if (err == nil) != (inErr == nil) || (err != nil && err.Error() != inErr.Error()) {
			t.Fatalf("OpenInPlace error %v; Open %v", inErr, err)
		}
		if !bytes.Equal(inReq.Payload, req.Payload) || inReq.Nonce != req.Nonce || inReq.Mode != req.Mode {
			t.Fatalf("OpenInPlace = %+v; Open %+v", inReq, req)
		}
		if err != nil {
			var e *envelope.Error
			if !errors.As(err, &e) || e.Message == "" {
				t.Fatalf("Open error %v (%T) is not a non-empty *envelope.Error", err, err)
			}
			return
		}
		if req.Payload != nil {
			var obj map[string]any
			if err := json.Unmarshal(req.Payload, &obj); err != nil || obj == nil {
				t.Fatalf("accepted payload %q is not a JSON object: %v", req.Payload, err)
			}
		}
		if !binary && req.Mode != envelope.ModeText {
			t.Fatalf("text request answered in %v", req.Mode)
		}

		later := now.Add(time.Second)
		resp, err := envelope.AppendSeal(nil, secret, req.Nonce, req.Payload, later, nil)
		if err != nil {
			t.Fatal(err)
		}
		js, ts, err := envelope.OpenResponse(envelope.AppendBody(nil, req.Mode, resp), req.Mode, secret, req.Nonce)
		if err != nil || !bytes.Equal(js, req.Payload) || ts != later.UnixMilli() {
			t.Fatalf("response round trip = %q, %d, %v; want %q, %d", js, ts, err, req.Payload, later.UnixMilli())
		}
	})
}

// FuzzOpenPlaintext reaches the checks after decryption (§1.4 steps 6 and
// 7), which random ciphertext never does: it seals arbitrary plaintext and
// checks that Open accepts exactly the in-window JSON objects.
func FuzzOpenPlaintext(f *testing.F) {
	for _, s := range []string{"", "{}", `{"a":1}`, " {}\n", "[]", "null", `{"a":`, "{}{}", "\v{}", `{"a":"\xff"}`} {
		f.Add(int64(0), []byte(s))
	}
	f.Add(int64(-119000), []byte("{}"))
	f.Add(int64(-119001), []byte("{}"))
	f.Add(int64(119999), []byte("{}"))
	f.Add(int64(120000), []byte("{}"))

	f.Fuzz(func(t *testing.T, age int64, payload []byte) {
		ts := testNow.UnixMilli() - age
		env, err := envelope.SealRequest(nil, testSecret, payload, time.UnixMilli(ts), testNonce, nil)
		if err != nil {
			t.Fatal(err)
		}
		req, err := envelope.Open(env, envelope.ModeBinary, testSecret, testNow, identity.ScopeUID2)

		inWindow := ts >= testNow.UnixMilli()-119999 && ts <= testNow.UnixMilli()+119000
		var obj map[string]any
		isObject := json.Unmarshal(payload, &obj) == nil && obj != nil
		switch {
		case !inWindow:
			if wireText(t, err) != msgTimestamp {
				t.Fatalf("Open(ts %d) = %v; want %q", ts, err, msgTimestamp)
			}
		case len(payload) == 0:
			if err != nil || req.Payload != nil {
				t.Fatalf("Open(empty) = %q, %v; want nil, nil", req.Payload, err)
			}
		case !isObject:
			if wireText(t, err) != msgPayload {
				t.Fatalf("Open(%q) = %v; want %q", payload, err, msgPayload)
			}
		default:
			if err != nil || !bytes.Equal(req.Payload, payload) || req.Timestamp != ts || req.Nonce != testNonce {
				t.Fatalf("Open(%q) = %+v, %v", payload, req, err)
			}
		}
	})
}
