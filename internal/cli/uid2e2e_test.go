package cli_test

import (
	"bytes"
	"context"
	"crypto/aes"
	"crypto/cipher"
	"crypto/ecdh"
	"crypto/ecdsa"
	"crypto/rand"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"reflect"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/uid2-private-operator/uid2-operator/internal/aesgcm"
	"github.com/uid2-private-operator/uid2-operator/internal/client"
	"github.com/uid2-private-operator/uid2-operator/internal/identity"
	"github.com/uid2-private-operator/uid2-operator/internal/token"
)

// This file replays, with our own client, what IABTechLab/uid2-e2e's
// operator classes send and assert (src/test/java/suite/operator/
// {OperatorTest,OperatorLocalOnlyTest,OperatorPublicOnlyTest,TestData}.java,
// suite/optout/{OptoutTest,TestData}.java, suite/basic/BasicTest.java, as of
// commit 9f76cfd), against `serve` in local mode on the embedded dataset with
// the variables `local credentials --e2e-env` prints. The operator plays both
// of the suite's roles: the private operator (E2E_ENV=local-private) and the
// public one (local-public), so the public-only and sharing tests apply too.
// Only OptoutTest.triggerDeltaProduction is left out: it drives the real
// Opt-Out service (POST http://optout:8081/optout/deltaproduce), which an
// operator cannot provide.

// e2eSuite is the operator under test and the suite's variables.
type e2eSuite struct {
	t    *testing.T
	base string
	env  map[string]string
}

func newE2ESuite(t *testing.T) *e2eSuite {
	t.Helper()
	code, out, errs := run(t, "", "local", "credentials", "--e2e-env")
	if code != 0 {
		t.Fatalf("local credentials --e2e-env: exit %d: %s", code, errs)
	}
	env := map[string]string{}
	for _, line := range strings.Split(strings.TrimSpace(out), "\n") {
		k, v, ok := strings.Cut(line, "=")
		if !ok || v == "" {
			t.Fatalf("--e2e-env line %q is not NAME=value", line)
		}
		env[k] = v
	}
	// Every variable Operator.java and OperatorTest.java read in local mode
	// (EnvUtil.getEnv(…, isLocal()) is required there), plus App.java's.
	for _, k := range []string{"E2E_IDENTITY_SCOPE", "E2E_PHONE_SUPPORT", "UID2_OPERATOR_E2E_CLIENT_SITE_ID",
		"UID2_OPERATOR_E2E_CLIENT_API_KEY", "UID2_OPERATOR_E2E_CLIENT_API_SECRET",
		"UID2_OPERATOR_E2E_CLIENT_API_KEY_SHARING_RECIPIENT", "UID2_OPERATOR_E2E_CLIENT_API_SECRET_SHARING_RECIPIENT",
		"UID2_OPERATOR_E2E_CLIENT_API_KEY_NON_SHARING_RECIPIENT", "UID2_OPERATOR_E2E_CLIENT_API_SECRET_NON_SHARING_RECIPIENT",
		"UID2_OPERATOR_E2E_CSTG_SUBSCRIPTION_ID", "UID2_OPERATOR_E2E_CSTG_SERVER_PUBLIC_KEY",
		"UID2_OPERATOR_E2E_CSTG_ORIGIN", "UID2_OPERATOR_E2E_CSTG_INVALID_ORIGIN"} {
		if env[k] == "" {
			t.Fatalf("--e2e-env lacks %s", k)
		}
	}
	addr := freeAddr(t)
	stop, _ := background(t, nil, "serve", "--http-addr", addr, "--metrics-addr", "", "--print-credentials=false", "--drain-delay", "0")
	t.Cleanup(func() {
		if code, errs := stop(); code != 0 {
			t.Errorf("serve exit %d: %s", code, errs)
		}
	})
	checkHealthy(t, "http://"+addr)
	return &e2eSuite{t: t, base: "http://" + addr, env: env}
}

// e2eClient is one of the suite's API clients: CLIENT, SHARING RECIPIENT or
// NON-SHARING RECIPIENT.
func (s *e2eSuite) client(role string) *client.Client {
	suffix := map[string]string{"client": "", "sharing": "_SHARING_RECIPIENT", "non-sharing": "_NON_SHARING_RECIPIENT"}[role]
	return &client.Client{BaseURL: s.base, APIKey: s.env["UID2_OPERATOR_E2E_CLIENT_API_KEY"+suffix],
		Secret: s.env["UID2_OPERATOR_E2E_CLIENT_API_SECRET"+suffix]}
}

// call sends a v2 request as CLIENT and returns the decrypted document.
func (s *e2eSuite) call(path, payload string) map[string]any {
	s.t.Helper()
	return s.callAs(s.client("client"), path, payload)
}

func (s *e2eSuite) callAs(c *client.Client, path, payload string) map[string]any {
	s.t.Helper()
	b, err := c.Do(context.Background(), path, []byte(payload))
	if err != nil {
		s.t.Fatalf("%s %s: %v", path, payload, err)
	}
	return decodeJSON(s.t, b)
}

func decodeJSON(t *testing.T, b []byte) map[string]any {
	t.Helper()
	var m map[string]any
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	if err := dec.Decode(&m); err != nil {
		t.Fatalf("response %q: %v", b, err)
	}
	return m
}

// at walks a decoded document by keys and array indexes.
func at(v any, path ...any) any {
	for _, p := range path {
		switch k := p.(type) {
		case string:
			m, _ := v.(map[string]any)
			v = m[k]
		case int:
			a, _ := v.([]any)
			if k >= len(a) {
				return nil
			}
			v = a[k]
		}
	}
	return v
}

func str(v any) string { s, _ := v.(string); return s }

// generate is Operator.v2TokenGenerate: the SDK's TokenGenerateInput with
// doNotGenerateTokensForOptedOut, i.e. "optout_check":1.
func (s *e2eSuite) generate(typ, id string) map[string]any {
	s.t.Helper()
	return s.call("/v2/token/generate", fmt.Sprintf(`{%q:%q,"optout_check":1}`, typ, id))
}

// refresh is the SDK's refreshToken / Operator.v2TokenRefresh(refreshToken, key).
func (s *e2eSuite) refresh(identity any) map[string]any {
	s.t.Helper()
	b, err := s.client("client").Refresh(context.Background(), str(at(identity, "refresh_token")), str(at(identity, "refresh_response_key")))
	if err != nil {
		s.t.Fatalf("refresh: %v", err)
	}
	return decodeJSON(s.t, b)
}

// sdkKeys is what UID2Client.refresh keeps from /v2/key/sharing.
type sdkKeys struct {
	caller, master, def int64
	keys                map[int32]token.Key
	keyset              map[int32]int64
}

func (s *e2eSuite) sharingKeys(c *client.Client) sdkKeys {
	s.t.Helper()
	body := at(s.callAs(c, "/v2/key/sharing", ""), "body")
	num := func(v any) int64 { n, _ := v.(json.Number).Int64(); return n }
	k := sdkKeys{caller: num(at(body, "caller_site_id")), master: num(at(body, "master_keyset_id")),
		def: num(at(body, "default_keyset_id")), keys: map[int32]token.Key{}, keyset: map[int32]int64{}}
	for _, e := range at(body, "keys").([]any) {
		secret, err := base64.StdEncoding.DecodeString(str(at(e, "secret")))
		if err != nil {
			s.t.Fatal(err)
		}
		id := int32(num(at(e, "id")))
		k.keys[id] = token.Key{ID: id, Secret: secret}
		if ks, ok := at(e, "keyset_id").(json.Number); ok {
			n, _ := ks.Int64()
			k.keyset[id] = n
		}
	}
	return k
}

// decryptStatus is the SDK's DecryptionStatus of decrypting tok with keys.
func decryptStatus(tok string, k sdkKeys) (string, []byte) {
	adv, err := token.DecodeAdvertising(tok, func(id int32) (token.Key, bool) { key, ok := k.keys[id]; return key, ok })
	var uk *token.UnknownKeyError
	switch {
	case errors.As(err, &uk) && k.keyset[uk.ID] == 0 && len(k.keys) > 0 && isMasterID(tok, uk.ID):
		return "NOT_AUTHORIZED_FOR_MASTER_KEY", nil
	case errors.As(err, &uk):
		return "NOT_AUTHORIZED_FOR_KEY", nil
	case err != nil:
		return err.Error(), nil
	}
	return "SUCCESS", adv.RawUID
}

// isMasterID reports whether id is the master key id in a V3/V4 token's
// header (bytes 2..5).
func isMasterID(tok string, id int32) bool {
	b, err := base64.RawURLEncoding.DecodeString(strings.TrimRight(tok, "="))
	return err == nil && len(b) > 6 && int32(b[2])<<24|int32(b[3])<<16|int32(b[4])<<8|int32(b[5]) == id
}

// encrypt is UID2Client.encrypt: a V4 token of rawUID under the master key
// and the caller's default-keyset key.
func (s *e2eSuite) encrypt(k sdkKeys, rawUID []byte) string {
	s.t.Helper()
	var master, site *token.Key
	for id, key := range k.keys {
		switch k.keyset[id] {
		case k.master:
			master = &key
		case k.def:
			site = &key
		}
	}
	if master == nil || site == nil {
		s.t.Fatalf("no master or default-keyset key to encrypt with: %+v", k.keyset)
	}
	now := time.Now()
	adv := token.Advertising{Scope: identity.ScopeUID2, Type: identity.TypeEmail, Version: token.VersionV4,
		Expires: now.Add(time.Hour).UnixMilli(), Created: now.UnixMilli(), MasterKeyID: master.ID, SiteKeyID: site.ID,
		SiteID: int32(k.caller), Established: now.UnixMilli(), Refreshed: now.UnixMilli(), RawUID: rawUID}
	b, err := token.AppendAdvertisingV4(nil, &adv, *master, *site, nil)
	if err != nil {
		s.t.Fatal(err)
	}
	return string(b)
}

func TestUID2E2EOperatorClassesLocalMode(t *testing.T) {
	s := newE2ESuite(t)
	clientKeys := s.sharingKeys(s.client("client"))
	rawUIDLen := func(tok string) int {
		t.Helper()
		st, uid := decryptStatus(tok, clientKeys)
		if st != "SUCCESS" {
			t.Fatalf("decrypt as CLIENT: %s", st)
		}
		return len(base64.StdEncoding.EncodeToString(uid))
	}

	t.Run("BasicTest healthcheck", func(t *testing.T) {
		resp, err := http.Get(s.base + "/ops/healthcheck")
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if string(b) != "OK" {
			t.Fatalf("healthcheck body %q", b)
		}
	})

	t.Run("OperatorTest", func(t *testing.T) {
		for _, in := range [][2]string{{"email", "test.user2@thetradedesk.com"}, {"phone", "+10000000001"}} {
			gen := s.generate(in[0], in[1])
			id := at(gen, "body")
			if n := rawUIDLen(str(at(id, "advertising_token"))); n != 44 {
				t.Errorf("generate %s: raw UID length %d; want 44", in[0], n)
			}
			ref := s.refresh(id)
			if n := rawUIDLen(str(at(ref, "body", "advertising_token"))); n != 44 {
				t.Errorf("refresh %s: raw UID length %d; want 44", in[0], n)
			}
		}
		for _, in := range [][2]string{{"email", "optout@example.com"}, {"phone", "+00000000000"}} {
			if st := at(s.generate(in[0], in[1]), "status"); st != "optout" {
				t.Errorf("generate special opt-out %s: status %v; want optout", in[0], st)
			}
		}
		for _, in := range [][2]string{{"email", "refresh-optout@example.com"}, {"phone", "+00000000002"}} {
			if st := at(s.refresh(at(s.generate(in[0], in[1]), "body")), "status"); st != "optout" {
				t.Errorf("refresh special opt-out %s: status %v; want optout", in[0], st)
			}
		}
		for _, in := range [][2]string{{"email", "validate@example.com"}, {"phone", "+12345678901"}} {
			tok := str(at(s.generate(in[0], in[1]), "body", "advertising_token"))
			got := s.call("/v2/token/validate", fmt.Sprintf(`{%q:%q,"token":%q}`, in[0], in[1], tok))
			if !reflect.DeepEqual(got, map[string]any{"body": true, "status": "success"}) {
				t.Errorf("validate %s = %v", in[0], got)
			}
			m := s.call("/v2/identity/map", fmt.Sprintf(`{%q: [%q], "optout_check":1}`, in[0], in[1]))
			if str(at(m, "body", "mapped", 0, "advertising_id")) == "" {
				t.Errorf("identity map of the validate %s: %v", in[0], m)
			}
		}
		for _, p := range []string{
			`{"email":["abc","user2@example.com"], "policy":1}`,
			`{"email_hash":["rYsn2sTT1lRlZerX+4DXZMQ+DfcejOXoMVczcF2jCLM=","abc"], "policy":1}`,
			`{"email":["abc","user2@example.com"], "optout_check":1}`,
			`{"phone":["+1111111111","abc"], "policy":1}`,
			`{"phone_hash":["abc","tMmiiTI7IaAcPpQPFQ65uMVCWH8av9jw4cwf/F5HVRQ="], "optout_check":1}`,
		} {
			m := s.call("/v2/identity/map", p)
			if at(m, "status") != "success" || at(m, "body", "unmapped", 0, "reason") != "invalid identifier" {
				t.Errorf("identity map %s = %v", p, m)
			}
		}
		for _, p := range []string{
			`{"email":["user@example.com","user2@example.com"], "policy":1}`,
			`{"email_hash":[], "optout_check":1}`,
			`{"phone":["+1111111111","+2222222222"], "optout_check":1}`,
		} {
			if m := s.call("/v2/identity/map", p); at(m, "status") != "success" {
				t.Errorf("identity map %s = %v", p, m)
			}
		}
		for _, in := range [][2]string{{"email", `{"email":["abc"], "email_hash":[], "phone":[], "phone_hash":[]}`},
			{"email_hash", `{"email":[], "email_hash":["abc"], "phone":[], "phone_hash":[]}`},
			{"phone", `{"email":[], "email_hash":[], "phone":["abc"], "phone_hash":[]}`},
			{"phone_hash", `{"email":[], "email_hash":[], "phone":[], "phone_hash":["abc"]}`}} {
			m := s.call("/v3/identity/map", in[1])
			if at(m, "status") != "success" || at(m, "body", in[0], 0, "e") != "invalid identifier" {
				t.Errorf("v3 identity map %s = %v", in[1], m)
			}
		}
		if m := s.call("/v2/identity/buckets", `{"since_timestamp":"2021-01-01T00:00:00"}`); at(m, "status") != "success" {
			t.Errorf("buckets = %v", m)
		}
		if got := fmt.Sprint(clientKeys.caller); got != s.env["UID2_OPERATOR_E2E_CLIENT_SITE_ID"] {
			t.Errorf("key sharing caller_site_id %s; want %s", got, s.env["UID2_OPERATOR_E2E_CLIENT_SITE_ID"])
		}
	})

	t.Run("OperatorTest 10k identity map v2 and v3", func(t *testing.T) {
		emails := make([]string, 10_000)
		for i := range emails {
			emails[i] = fmt.Sprintf("email_%d@example.com", i*7919+12345)
		}
		list, _ := json.Marshal(emails)
		m := s.call("/v2/identity/map", `{"email":`+string(list)+`,"optout_check":1}`)
		mapped, _ := at(m, "body", "mapped").([]any)
		// The reference omits "unmapped" when it is empty; the SDK then
		// reports no unmapped identities.
		if unmapped, _ := at(m, "body", "unmapped").([]any); len(mapped) != 10_000 || len(unmapped) != 0 {
			t.Fatalf("v2: %d mapped; want 10000 and none unmapped", len(mapped))
		}
		for _, e := range mapped {
			if len(str(at(e, "advertising_id"))) != 44 || str(at(e, "bucket_id")) == "" {
				t.Fatalf("v2 mapped entry %v", e)
			}
		}
		m = s.call("/v3/identity/map", `{"email":`+string(list)+`}`)
		got, _ := at(m, "body", "email").([]any)
		if len(got) != 10_000 {
			t.Fatalf("v3: %d entries; want 10000", len(got))
		}
		hourAgo := time.Now().Add(-time.Hour).Unix()
		for _, e := range got {
			r, _ := at(e, "r").(json.Number).Int64()
			p := at(e, "p")
			if len(str(at(e, "u"))) != 44 || (p != nil && len(str(p)) != 44) || r <= hourAgo {
				t.Fatalf("v3 entry %v", e)
			}
		}
	})

	t.Run("OperatorLocalOnlyTest mock opt-out", func(t *testing.T) {
		m := s.generate("email", "local-mock-optout@example.com")
		if at(m, "status") != "optout" || at(m, "body") != nil {
			t.Fatalf("generate local-mock-optout@example.com = %v; want status optout and no identity", m)
		}
	})

	// The suite's sharing matrix with this operator as both the private and
	// the public operator.
	t.Run("OperatorLocalOnlyTest sharing", func(t *testing.T) {
		for _, tc := range []struct{ sender, recipient, want string }{
			{"client", "client", "SUCCESS"},
			{"client", "sharing", "SUCCESS"},
			{"client", "non-sharing", "NOT_AUTHORIZED_FOR_KEY"},
			{"sharing", "client", "SUCCESS"},
			{"non-sharing", "client", "NOT_AUTHORIZED_FOR_KEY"},
		} {
			raw := make([]byte, 33)
			rand.Read(raw)
			raw[0] = 0
			tok := s.encrypt(s.sharingKeys(s.client(tc.sender)), raw)
			st, got := decryptStatus(tok, s.sharingKeys(s.client(tc.recipient)))
			if st != tc.want || (st == "SUCCESS" && !bytes.Equal(got, raw)) {
				t.Errorf("%s shares with %s: %s; want %s", tc.sender, tc.recipient, st, tc.want)
			}
		}
	})

	t.Run("OperatorPublicOnlyTest", func(t *testing.T) {
		for _, in := range [][2]string{{"email", "optout@example.com"}, {"phone", "+00000000000"}} {
			for _, extra := range []string{`, "optout_check":1`, `, "optout_check":0`, ``} {
				m := s.call("/v2/identity/map", fmt.Sprintf(`{%q: [%q]%s}`, in[0], in[1], extra))
				if at(m, "body", "unmapped", 0, "reason") != "optout" {
					t.Errorf("v2 map special opt-out %s%s = %v", in[0], extra, m)
				}
			}
			if m := s.call("/v3/identity/map", fmt.Sprintf(`{%q: [%q]}`, in[0], in[1])); at(m, "body", in[0], 0, "e") != "optout" {
				t.Errorf("v3 map special opt-out %s = %v", in[0], m)
			}
		}
		for _, payload := range []string{`{"email_hash":"eVvLS/Vg+YZ6+z3i0NOpSXYyQAfEXqCZ7BTpAjFUBUc="}`,
			`{"phone_hash":"eVvLS/Vg+YZ6+z3i0NOpSXYyQAfEXqCZ7BTpAjFUBUc="}`} {
			code, doc := s.cstg(payload, s.env["UID2_OPERATOR_E2E_CSTG_ORIGIN"])
			if code != 200 || at(doc, "status") != "success" {
				t.Errorf("CSTG %s: %d %v", payload, code, doc)
			}
			code, doc = s.cstg(payload, s.env["UID2_OPERATOR_E2E_CSTG_INVALID_ORIGIN"])
			if code != 403 || at(doc, "status") != "invalid_http_origin" || at(doc, "message") != "unexpected http origin" {
				t.Errorf("CSTG invalid origin: %d %v", code, doc)
			}
		}
	})

	t.Run("OptoutTest without delta production", func(t *testing.T) {
		loggedOut := map[string]any{"body": map[string]any{"optout": "OK"}, "status": "success"}
		for _, in := range [][2]string{{"email", "test.email31337@abc.xyz"}, {"phone", "+01234567890"}} {
			id := at(s.generate(in[0], in[1]), "body")
			if got := s.call("/v2/token/logout", fmt.Sprintf(`{%q:%q}`, in[0], in[1])); !reflect.DeepEqual(got, loggedOut) {
				t.Fatalf("logout %s = %v", in[0], got)
			}
			if got := s.refresh(id); !reflect.DeepEqual(got, map[string]any{"status": "optout"}) {
				t.Errorf("refresh after logout %s = %v; want exactly {\"status\":\"optout\"}", in[0], got)
			}
		}
		for i, in := range [][2]string{{"email", "test.email4242@def.uvw"}, {"email", "test.email4343@def.uvw"},
			{"phone", "+09876543210"}, {"phone", "+05555555555"}} {
			toOptOut := i%2 == 0
			m := s.call("/v2/identity/map", fmt.Sprintf(`{%q:[%q]}`, in[0], in[1]))
			rawUID := str(at(m, "body", "mapped", 0, "advertising_id"))
			before := time.Now().UnixMilli()
			if toOptOut {
				time.Sleep(time.Second) // the suite's OPTOUT_DELAY_MS, so opted_out_since > before
				if got := s.call("/v2/token/logout", fmt.Sprintf(`{%q:%q}`, in[0], in[1])); !reflect.DeepEqual(got, loggedOut) {
					t.Fatalf("logout %s = %v", in[1], got)
				}
			}
			st := s.call("/v2/optout/status", `{"advertising_ids":["`+rawUID+`"]}`)
			out, _ := at(st, "body", "opted_out").([]any)
			if !toOptOut {
				if at(st, "status") != "success" || out == nil || len(out) != 0 {
					t.Errorf("status of an identity not opted out = %v", st)
				}
				continue
			}
			since, _ := strconv.ParseInt(fmt.Sprint(at(out, 0, "opted_out_since")), 10, 64)
			if len(out) != 1 || str(at(out, 0, "advertising_id")) != rawUID || since < before {
				t.Errorf("status after logout = %v; want the raw UID opted out since ≥ %d", st, before)
			}
		}
	})
}

// cstg is Operator.v2ClientSideTokenGenerate: an ECDH (P-256) envelope to
// the server public key, AES-GCM with the timestamp array as AAD, posted with
// the given Origin. It returns the status and the decrypted (200) or plain
// (error) document.
func (s *e2eSuite) cstg(payload, origin string) (int, map[string]any) {
	t := s.t
	t.Helper()
	der, err := base64.StdEncoding.DecodeString(strings.TrimPrefix(s.env["UID2_OPERATOR_E2E_CSTG_SERVER_PUBLIC_KEY"], "UID2-X-L-"))
	if err != nil {
		t.Fatal(err)
	}
	pub, err := x509.ParsePKIXPublicKey(der)
	if err != nil {
		t.Fatal(err)
	}
	serverKey, err := pub.(*ecdsa.PublicKey).ECDH()
	if err != nil {
		t.Fatal(err)
	}
	priv, _ := ecdh.P256().GenerateKey(rand.Reader)
	shared, err := priv.ECDH(serverKey)
	if err != nil {
		t.Fatal(err)
	}
	clientDER, _ := x509.MarshalPKIXPublicKey(priv.PublicKey())
	now := time.Now().UnixMilli()
	sealed, err := aesgcmSealAAD(shared, []byte(payload), []byte("["+strconv.FormatInt(now, 10)+"]"))
	if err != nil {
		t.Fatal(err)
	}
	body, _ := json.Marshal(map[string]any{
		"payload": base64.StdEncoding.EncodeToString(sealed[12:]), "iv": base64.StdEncoding.EncodeToString(sealed[:12]),
		"public_key": base64.StdEncoding.EncodeToString(clientDER), "timestamp": now,
		"subscription_id": s.env["UID2_OPERATOR_E2E_CSTG_SUBSCRIPTION_ID"],
	})
	req, _ := http.NewRequest(http.MethodPost, s.base+"/v2/token/client-generate", bytes.NewReader(body))
	req.Header.Set("Origin", origin)
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != 200 {
		return resp.StatusCode, decodeJSON(t, b)
	}
	enc, err := base64.StdEncoding.DecodeString(string(b))
	if err != nil {
		t.Fatalf("CSTG response not base64: %q", b)
	}
	plain, err := aesgcm.Open(shared, enc)
	if err != nil {
		t.Fatalf("CSTG response: %v", err)
	}
	return resp.StatusCode, decodeJSON(t, plain)
}

// aesgcmSealAAD returns iv || ciphertext || tag of plaintext under key with
// a random 12-byte IV and the additional data aad (javax.crypto GCM).
func aesgcmSealAAD(key, plaintext, aad []byte) ([]byte, error) {
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, err
	}
	gcm, err := cipher.NewGCM(block)
	if err != nil {
		return nil, err
	}
	iv := make([]byte, gcm.NonceSize())
	rand.Read(iv)
	return gcm.Seal(iv, iv, plaintext, aad), nil
}
