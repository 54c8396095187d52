package envelope_test

import (
	"bytes"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/uid2-private-operator/uid2-operator/internal/envelope"
	"github.com/uid2-private-operator/uid2-operator/internal/identity"
)

// Known-answer material from operator-api.md §6. Values are typed from the
// reference tests named beside them; see the spec for line numbers.

// K-2: OPT V2RequestUtilTest.java.
const (
	k2Secret = "YGdzZw9oM2RzBgB8THMyAEe408lvdfsTsGteaLAGayY="
	k2Clock  = "2024-03-20T04:02:46.130Z"
	// VALID_REQUEST_ENVELOPE_BASE64.
	k2Envelope  = "ATDX9gBKxgQaLwUi9ZDbSqo1b66u55jEN322XSR+aCvOy/c3ZiaVOh8VG22pDUSSNaUqfUwwxxYT0pS9zjW7oVPCeluHU5GCc+6A+LUTIQ8vOR+1CN7ds/61Bp82RzKf5wPABMNtqr1XkoN6d5FU/R0vpxf2hfo1cYYmW0ziCy15pPh17GN2vNTn6YK6g+MAi/dDC7mG+Mxnh9ZaEz+3IetgDPWfp5zHh/T3LWhDAA+2drlDn8KwcQE/TYKh5raR4BDHmhgBUCU6+nymoWruNYxzcII63xMTLMTGzpinNnTL3iBPII9lKRJJ2ZrGjjgMMXi066iaDDpBHH3xY+bAwriU+6GEsE8bveRMwRqT83gmkYp6mn+75Yrpdw=="
	k2IV        = "30d7f6004ac6041a2f0522f5"
	k2Timestamp = 1710907366130
	k2Nonce     = "30e8280192351c0c"
	k2JSON      = `{"token": "AdvertisingTokenmZ4dZgeuXXl6DhoXqbRXQbHlHhA96leN94U1uavZVspwKXlfWETZ3b%2FbesPFFvJxNLLySg4QEYHUAiyUrNncgnm7ppu0mi6wU2CW6hssiuEkKfstbo9XWgRUbWNTM%2BewMzXXM8G9j8Q%3D", "email_hash": "LdhtUlMQ58ZZy5YUqGPRQw5xUMS5dXG5ocJHYJHbAKI="}` + "\n" // sent with a trailing newline

	// testParseRequestWithWrongClientSecret.
	k2WrongSecret = "gXQbQ460HNwOHOauI2R+g2gHG3GV6pQXHwTWHVewwlU="

	// testParseRequestWithMalformedJson: a payload with a bare word in it.
	k2MalformedClock    = "2024-03-20T06:33:15.627Z"
	k2MalformedEnvelope = "AWDCc1W2zSIJUFbCF1Ti7FxS9Vq4xywgUxHWm60+aaNIbk9k1c3GLjcezo6ZGx3J9TUEKdCXLVi+t2d4T17acgSZYRhfTUC6OfxEHxzSkhDLviQ6BXqrx0Ute5PWT55FYG5dR8YM8CAUfLuWSxCq4yB+aJ/Sojpl2nmDO7sn7D6K+dAsdCtyciM+8ihxzOb7obhlOhjS5159XqkQTcAQvbfLXi/QJRtFPoDBpwQQZ3TvBFPUvh8uiT0Zb708Xt7zt9NHziqkwAcJWIvnTgLkxBdACpbGGl3mNcwJhHwBM0m9zlSy050yyx/b+U1mJxjj5yqBwaNSzTKiGHs+M1+vhmVD8w7J13Ec+jAUa8rUeN7c61GD/Rh7GndeEBo4WVLvfw=="

	// Unencrypted JSON bodies used by the reference tests.
	k2PlainJSON        = `{"email_hash": "tMmiiTI7IaAcPpQPFQ65uMVCWH8av9jw4cwf/F5HVRQ="}`
	k2PlainJSONVersion = `{"email_hash": "tMmiiTI7IaAcPpQPFQ65uMVCWH8av9jw4cwf/F5HVRQ=", "version": 2}`
	k2ShortJSON        = `{"version": 2}`
)

// Exact wire text (§1.4). Spelled out in full here so that a change to a
// constant in the package fails a test.
const (
	hintUID2  = " See https://unifiedid.com/docs/getting-started/gs-encryption-decryption for details on the request envelope format."
	hintEUID  = " See https://euid.eu/docs/getting-started/gs-encryption-decryption for details on the request envelope format."
	unencUID2 = "Invalid body: The request body is unencrypted JSON. It must be an encrypted request envelope. See https://unifiedid.com/docs/getting-started/gs-encryption-decryption#encryption-and-decryption-code-examples for encryption and decryption code examples."
	unencEUID = "Invalid body: The request body is unencrypted JSON. It must be an encrypted request envelope. See https://euid.eu/docs/getting-started/gs-encryption-decryption#encryption-and-decryption-code-examples for encryption and decryption code examples."

	msgMissing   = "Invalid body: Body is missing."
	msgNotB64    = "Invalid body: Body is not valid base64."
	msgTooShort  = "Invalid body: Body too short. Check encryption method."
	msgVersion2  = "Invalid body: Invalid request envelope format version: received 2, must be 1."
	msgSecret    = "Invalid body: Check encryption key (ClientSecret)."
	msgTimestamp = "Invalid timestamp: Request too old or client time drift."
	msgPayload   = "Invalid payload in body: Data is not valid json string."
)

// K-3 and K-4: JST PublisherTests.java.
const (
	k3Secret    = "ioG3wKxAokmp+rERx6A4kM/13qhyolUXIu14WN16Spo="
	k3Nonce     = "312fe5aa08b2a049"
	k3IV        = "cc3ccaca9889eab3800e787e"
	k3Timestamp = 1667885597644

	k4Response  = "RUlLWcXlSdRhpf82J8iDqeVFbZQx2MCcVaTjhf1gVPpSS3SfOMzfCB8tW8VHzY15b5ZN6FKlZ/3FjHi54H7uyyVp2BS7puWgzGiv5jxhp0hpP2fL1KdmRs8UpX2XgmdEkfeYjTzFHFhq8SfocV2MIK8Gu4QtCtQdMg1Vk9fyeIOwgRUODkHnFZN8rcZIPDdqkZRS6Rftgdizss1FSkInYNpT2Cq07iIHVREmuJdZIinK0qDjIXcXUI3oE8WzdEtd/e4/8xEEZ4HRYuhNF640hX/O+ivBgygW/nqctAr6r9zYu65zs45UYClSUNaWsvE34IWq4q61T99z8etf81lS8E/PWrskOnH968azv0/FVFlLiKks0a1W1iDqq0/pps8LBq/Eo8ByadXQITDFwT6LN9qQE1lW4bGQrY3ZgALZQHsW1eAdaedaYwGOhp81xLlrq9aRaKXdiLuil/lgUNQX51yW8U8izYIq8cue0cUMg/TDV+5YtcC5eZiQskTjMFkInjfDI8k5F5KGnVRfsj8w+mcXv0O9E7djTy6Mmt4OQ1MxDFYuzptf3GnC7GK8VHpxHc84rOZADzBcgVOfYz4x8jA3fPVMkE08fMMpzH8OpH0riQHjk95rAF3KcOss5IvmPsUy+ZgCwOloWH+dwgYy8CDTR3RYPA+zOmEk4bGwvy6hQ5JJwah43ba73IrWZpiANfyCFMr7PY1HFvp7fC+i8w8zLTxMcLgH0m8zXMJXo6IVJDhuQKM/ViSkS/ONatlQvbtFehZfMwzPeD/mDmy1JAcvAAqmiAl13ULdNrIET9zyqmJVEaDEawVckomeIJoznbBS7WEFelcueYcXBi+Tl7qTlPL8UI4AjrzYp/sfMCvCoBtQnFYQAmChmE5OCpnE0X/uCa9oUK7HrVEqgBLft25w4d1mYtMV02gZ0SB/T2MA3BeSEp6RUKrYO63+/8eYUF4pEuQEjDcdRX6rxs9lpPPLKglnn9VteJ61BjsLphwYxqwgdlHZhS6xSvqYveHwwe94QyOYeyiJiEqJ+QooUciWSyRXBfJdcE4inuzO4T/wZauocgw8ZiKJMAfPzXjSLdVNM/sosd0vIhgXvlMpj+a+B4lbsfcVjRGrwU1VPZvHlubVCxJGieW7hQ8ugzpSYibMxxvhFBCyzjKHYodllp/umuq2KmoMdbB2lOsVFtZ3ufYs7cqSTcZIgPFUXlEJs/hUFvTnUCfZ1vC+YNF4d7ngVvCdMYsOCLQNAZeMaVoSG8m/cvY2FT0MGAgLhuu+IGWMcGVYPUrjP6Hy9gpq/wEkRnnfDAo+ENmMQsYcdzg+VNREZ4p4"
	k4Timestamp = 1668056199629
	// Compact JSON, body before status (§1.2), fields as the expected
	// IdentityTokens of decryptGenerateResponse.
	k4JSON = `{"body":{` +
		`"advertising_token":"AgAAAAN6QZRCFTau+sfOlMMUY2ftElFMq2TCrcu1EAaD9WmEfoT2BWm2ZKz1tumbT00tWLffRDQ/9POXfA0O/Ljszn7FLtG5EzTBM3HYs4f5irkqeEvu38DhVCxUEpI+gZZZkynRap1oYx6AmC/ip3rk+7pmqa3r3saDs1mPRSSTm+Nh6A==",` +
		`"user_token":"AgAAAAL6aleYI4BubI5ZXMBshqmMEfCkbCJF4fLeg1sdI0BTLzj9sXsSISjkG0lMC743diC2NVy3ElkbO1lLysd+Lm6alkqevPrcuWDisQ1939YdoH6LqpwBH3FNSE4/xa3Q+94=",` +
		`"refresh_token":"AAAAAARomrP3NjjH+8mt5djfTHbmRZXjOMnAN8WpjJoe30AhUCvYksO/xoDSj77GzWv4M99DhnPl2cVco8CZFTcE10nauXI4Barr890ILnH0IIacOei5Zjwh6DycFkoXkAAuHY1zjmxb7niGLfSP2RctWkZdRVGWQv/UW/grw6+paU9bnKEWPzVvLwwdW2NgjDKu+szE6A+b5hkY+I3voKoaz8/kLDmX8ddJGLy/YOh/LIveBspSAvEg+v89OuUCwAqm8L3Rt8PxDzDnt0U4Na+AUawvvfsIhmsn/zMpRRks6GHhIAB/EQUHID8TedU8Hv1WFRsiraG9Dfn1Kc5/uYnDJhEagWc+7RgTGT+U5GqI6+afrAl5091eBLbmvXnXn9ts",` +
		`"identity_expires":1668059799628,"refresh_expires":1668142599628,"refresh_from":1668056202628,` +
		`"refresh_response_key":"P941vVeuyjaDRVnFQ8DPd0AZnW4bPeiJPXER2K9QXcU="` +
		`},"status":"success"}`
)

func b64(t testing.TB, s string) []byte {
	t.Helper()
	b, err := base64.StdEncoding.DecodeString(s)
	if err != nil {
		t.Fatalf("base64 %q: %v", s, err)
	}
	return b
}

func unhex(t testing.TB, s string) []byte {
	t.Helper()
	b, err := hex.DecodeString(s)
	if err != nil {
		t.Fatalf("hex %q: %v", s, err)
	}
	return b
}

func nonce8(t testing.TB, s string) [8]byte {
	t.Helper()
	return [8]byte(unhex(t, s))
}

func clock(t testing.TB, s string) time.Time {
	t.Helper()
	tm, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		t.Fatal(err)
	}
	return tm
}

// wireText returns the *envelope.Error message of err, failing the test if
// err is of any other type.
func wireText(t testing.TB, err error) string {
	t.Helper()
	if err == nil {
		return ""
	}
	var e *envelope.Error
	if !errors.As(err, &e) {
		t.Fatalf("error %v (%T) is not *envelope.Error", err, err)
	}
	return e.Message
}

func TestK2OpenReferenceEnvelope(t *testing.T) {
	secret := b64(t, k2Secret)
	now := clock(t, k2Clock)

	raw := b64(t, k2Envelope)
	if len(raw) != 283 || raw[0] != 1 || !bytes.Equal(raw[1:13], unhex(t, k2IV)) {
		t.Fatalf("envelope: len %d, version %d, IV %x; want 283, 1, %s", len(raw), raw[0], raw[1:13], k2IV)
	}

	for _, tc := range []struct {
		name string
		body []byte
		mode envelope.Mode
		want envelope.Mode
	}{
		{"text", []byte(k2Envelope), envelope.ModeText, envelope.ModeText},
		{"text without padding", []byte(strings.TrimSuffix(k2Envelope, "==")), envelope.ModeText, envelope.ModeText},
		{"binary", raw, envelope.ModeBinary, envelope.ModeBinary},
		// testParseRequestOctetStreamWithValidBase64Envelope: answered as text.
		{"base64 sent as octet-stream", []byte(k2Envelope), envelope.ModeBinary, envelope.ModeText},
	} {
		t.Run(tc.name, func(t *testing.T) {
			req, err := envelope.Open(tc.body, tc.mode, secret, now, identity.ScopeUID2)
			if err != nil {
				t.Fatalf("Open = %v", err)
			}
			if req.Timestamp != k2Timestamp {
				t.Errorf("Timestamp = %d; want %d", req.Timestamp, int64(k2Timestamp))
			}
			if req.Nonce != nonce8(t, k2Nonce) {
				t.Errorf("Nonce = %x; want %s", req.Nonce, k2Nonce)
			}
			if string(req.Payload) != k2JSON {
				t.Errorf("Payload = %s; want %s", req.Payload, k2JSON)
			}
			if req.Mode != tc.want {
				t.Errorf("Mode = %v; want %v", req.Mode, tc.want)
			}
		})
	}
}

// TestK2ReferenceErrors mirrors every message expectation of the reference's
// V2RequestUtilTest, byte for byte.
func TestK2ReferenceErrors(t *testing.T) {
	secret := b64(t, k2Secret)
	now := clock(t, k2Clock)
	twos := bytes.Repeat([]byte{2}, 64)
	enc := base64.StdEncoding.EncodeToString

	for _, tc := range []struct {
		name   string
		body   string
		mode   envelope.Mode
		secret []byte
		now    time.Time
		scope  identity.Scope
		want   string
	}{
		{"null body", "", envelope.ModeText, nil, now, identity.ScopeUID2, msgMissing},
		{"non-base64", "test string", envelope.ModeText, nil, now, identity.ScopeUID2, msgNotB64 + hintUID2},
		{"too short", "dGVzdA==", envelope.ModeText, nil, now, identity.ScopeUID2, msgTooShort + hintUID2},
		{"version mismatch", enc(twos), envelope.ModeText, nil, now, identity.ScopeUID2, msgVersion2 + hintUID2},
		{"base64 unencrypted JSON", enc([]byte(k2PlainJSONVersion)), envelope.ModeText, nil, now, identity.ScopeUID2, unencUID2},
		{"base64 short unencrypted JSON", enc([]byte(k2ShortJSON)), envelope.ModeText, nil, now, identity.ScopeUID2, unencUID2},
		{"raw unencrypted JSON", k2PlainJSON, envelope.ModeText, nil, now, identity.ScopeUID2, unencUID2},
		{"wrong client secret", k2Envelope, envelope.ModeText, b64(t, k2WrongSecret), now, identity.ScopeUID2, msgSecret + hintUID2},
		{"octet-stream base64 unencrypted JSON", enc([]byte(k2PlainJSON)), envelope.ModeBinary, nil, now, identity.ScopeUID2, unencUID2},
		{"octet-stream corrupted binary", string(twos), envelope.ModeBinary, nil, now, identity.ScopeUID2, msgVersion2 + hintUID2},
		// The fallback's diagnosis (received 2) wins over the binary one
		// (received 65, 'A').
		{"octet-stream base64 corrupt envelope", enc(twos), envelope.ModeBinary, nil, now, identity.ScopeUID2, msgVersion2 + hintUID2},
		{"EUID unencrypted JSON", k2PlainJSON, envelope.ModeText, nil, now, identity.ScopeEUID, unencEUID},
		{"EUID octet-stream unencrypted JSON", enc([]byte(k2PlainJSON)), envelope.ModeBinary, nil, now, identity.ScopeEUID, unencEUID},
		{"malformed JSON payload", k2MalformedEnvelope, envelope.ModeText, secret, clock(t, k2MalformedClock), identity.ScopeUID2, msgPayload},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := envelope.Open([]byte(tc.body), tc.mode, tc.secret, tc.now, tc.scope)
			if got := wireText(t, err); got != tc.want {
				t.Errorf("Open = %q\nwant   %q", got, tc.want)
			}
		})
	}
}

// TestK3SealRequestJavaSDK reproduces the Java SDK's deterministic envelopes.
// The payloads are the SDK's compact Gson output.
func TestK3SealRequestJavaSDK(t *testing.T) {
	secret := b64(t, k3Secret)
	now := time.UnixMilli(k3Timestamp)
	for _, tc := range []struct {
		name    string
		payload string
		want    string
	}{
		{"unhashedEmail", `{"email":"test@example.com"}`,
			"Acw8ysqYieqzgA54fifdV1TB6V+da8p/AFc8Ju/IYrD77pL7JYMJj8YqD9EsrG3d2d2j0H7kZjH41YsNLpFVCH+oce28z9L9ug=="},
		{"unhashedPhone", `{"phone":"+12345678901"}`,
			"Acw8ysqYieqzgA54fifdV1TB6V+da8p/AFc8Ju/IYqX+4JXyJYMJ0JJrSKV84juIkIH33GCmx+7RM2pSX9P4nAN0pn2g"},
		{"hashedEmail", `{"email_hash":"tMmiiTI7IaAcPpQPFQ65uMVCWH8av9jw4cwf/F5HVRQ="}`,
			"Acw8ysqYieqzgA54fifdV1TB6V+da8p/AFc8Ju/IYrD77pL7WNFKiMt7QbM9mWHZwOWPyVTqSnDVNzhXRdcmIkV0ODOdll2inDo9iIZQ5oV2NvSUSWG5j6ACiXKH0JxiTPzs716eIH7P1Q=="},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rand := bytes.NewReader(unhex(t, k3IV))
			sealed, err := envelope.SealRequest(nil, secret, []byte(tc.payload), now, nonce8(t, k3Nonce), rand)
			if err != nil {
				t.Fatal(err)
			}
			if got := string(envelope.AppendBody(nil, envelope.ModeText, sealed)); got != tc.want {
				t.Errorf("SealRequest(%s) =\n%s\nwant\n%s", tc.payload, got, tc.want)
			}

			// The operator side must accept what the SDK sends.
			req, err := envelope.Open([]byte(tc.want), envelope.ModeText, secret, now, identity.ScopeUID2)
			if err != nil {
				t.Fatalf("Open = %v", err)
			}
			if string(req.Payload) != tc.payload || req.Timestamp != k3Timestamp || req.Nonce != nonce8(t, k3Nonce) {
				t.Errorf("Open = %s %d %x; want %s %d %s", req.Payload, req.Timestamp, req.Nonce, tc.payload, int64(k3Timestamp), k3Nonce)
			}
		})
	}
}

// TestK4OpenResponseRealOperator decrypts a response a real operator sent.
func TestK4OpenResponseRealOperator(t *testing.T) {
	secret := b64(t, k3Secret)
	nonce := nonce8(t, k3Nonce)

	for _, tc := range []struct {
		name string
		body []byte
		mode envelope.Mode
	}{
		{"text", []byte(k4Response), envelope.ModeText},
		{"binary", b64(t, k4Response), envelope.ModeBinary},
	} {
		t.Run(tc.name, func(t *testing.T) {
			js, ts, err := envelope.OpenResponse(tc.body, tc.mode, secret, nonce)
			if err != nil {
				t.Fatalf("OpenResponse = %v", err)
			}
			if ts != k4Timestamp {
				t.Errorf("timestamp = %d; want %d", ts, int64(k4Timestamp))
			}
			if string(js) != k4JSON {
				t.Errorf("json =\n%s\nwant\n%s", js, k4JSON)
			}
		})
	}

	wrong := nonce
	wrong[7] ^= 1
	if _, _, err := envelope.OpenResponse([]byte(k4Response), envelope.ModeText, secret, wrong); !errors.Is(err, envelope.ErrNonceMismatch) {
		t.Errorf("OpenResponse with wrong nonce = %v; want %v", err, envelope.ErrNonceMismatch)
	}
}
