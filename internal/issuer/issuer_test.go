package issuer_test

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"testing"
	"time"

	"github.com/uid2-private-operator/uid2-operator/internal/bufpool"
	"github.com/uid2-private-operator/uid2-operator/internal/identity"
	"github.com/uid2-private-operator/uid2-operator/internal/issuer"
	"github.com/uid2-private-operator/uid2-operator/internal/localdata"
	"github.com/uid2-private-operator/uid2-operator/internal/mapping"
	"github.com/uid2-private-operator/uid2-operator/internal/optout"
	"github.com/uid2-private-operator/uid2-operator/internal/store"
	"github.com/uid2-private-operator/uid2-operator/internal/token"
)

func TestParseRequest(t *testing.T) {
	for _, tc := range []struct {
		payload string
		phone   bool
		kind    identity.InputKind
		err     error
	}{
		{`{"email":"User@Example.com"}`, true, identity.KindEmail, nil},
		{`{"email":null,"phone":"+12345678901"}`, true, identity.KindPhone, nil},
		{`{"email":"a@example.com","email":"b@example.com"}`, true, identity.KindEmail, nil}, // the last duplicate wins
		{`{"phone":"+12345678901"}`, false, 0, issuer.ErrInputCount},                         // phone keys unread without phone support
		{`{"email":"a@example.com","phone":"+12345678901"}`, false, identity.KindEmail, nil},
		{`{"email":"a@example.com","email_hash":"x"}`, true, 0, issuer.ErrInputCount},
		{`{}`, true, 0, issuer.ErrInputCount},
		{`{"email":"not an email"}`, true, 0, issuer.ErrBadIdentifier},
		{`{"email":`, true, 0, issuer.ErrPayloadJSON},
		{`[]`, true, 0, issuer.ErrPayloadJSON},
	} {
		r, err := issuer.ParseRequest([]byte(tc.payload), tc.phone)
		if !errors.Is(err, tc.err) || (err == nil && r.Kind != tc.kind) {
			t.Errorf("ParseRequest(%s, phone=%v) = %v, %v; want %v, %v", tc.payload, tc.phone, r.Kind, err, tc.kind, tc.err)
		}
	}
	r, err := issuer.ParseRequest([]byte(`{"email":"a@example.com","tcf_consent_string":null,"token":"t","clientIp":"10.0.0.1"}`), true)
	if err != nil {
		t.Fatal(err)
	}
	if v, has := r.TCFConsent(); !has || v != "null" {
		t.Errorf("TCFConsent = %q, %v; want the null member as given", v, has)
	}
	if v, ok := r.Token(); !ok || v != "t" {
		t.Errorf("Token = %q, %v", v, ok)
	}
	if e, p, ip := r.Audit(); e != "a@example.com" || p != "" || ip != "10.0.0.1" {
		t.Errorf("Audit = %q, %q, %q", e, p, ip)
	}
}

type fixture struct {
	snap  *store.Snapshot
	cfg   *issuer.Config
	site  int32
	nowMs int64
}

func newFixture(t *testing.T) *fixture {
	t.Helper()
	now := time.Now()
	fsys, err := localdata.Open(now)
	if err != nil {
		t.Fatal(err)
	}
	st := store.New(nil)
	if err := (&store.Loader{Src: store.FSSource{FS: fsys}, Store: st, Paths: store.DatasetPaths()}).LoadAll(context.Background()); err != nil {
		t.Fatal(err)
	}
	creds, err := localdata.ReadCredentials()
	if err != nil {
		t.Fatal(err)
	}
	policy := optout.NewPolicy(nil)
	m := &mapping.Config{Scope: identity.ScopeUID2, OptOuts: policy}
	return &fixture{snap: st.Load(), site: creds.Generator.SiteID, nowMs: now.UnixMilli(),
		cfg: &issuer.Config{Scope: identity.ScopeUID2, Mapping: m, OptOuts: policy, Rand: rand.Reader, Bufs: new(bufpool.Pool)}}
}

func (f *fixture) issue(t *testing.T, email string) (body struct {
	Advertising string `json:"advertising_token"`
	Refresh     string `json:"refresh_token"`
	RefreshFrom int64  `json:"refresh_from"`
	Key         []byte `json:"refresh_response_key"`
}, flh [32]byte, facts issuer.Facts) {
	t.Helper()
	h, _ := identity.EmailHash(email)
	flh = identity.FirstLevelHash(h, f.snap.Salts.FirstLevel())
	b, err := f.cfg.AppendIssue(nil, f.snap, &issuer.Params{Type: identity.TypeEmail, FLH: flh, SiteID: f.site,
		PrivacyBits: issuer.ServerGenerated, Established: f.nowMs, NowMs: f.nowMs}, &facts)
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, &body); err != nil {
		t.Fatalf("Issue = %s: %v", b, err)
	}
	return body, flh, facts
}

func TestIssueRefreshValidate(t *testing.T) {
	f := newFixture(t)
	body, flh, facts := f.issue(t, "someone@example.com")
	if facts.Keyset != issuer.KeysetOwn || !facts.UIDDerived || !facts.Served {
		t.Errorf("Facts = %+v", facts)
	}
	if body.RefreshFrom != f.nowMs+f.snap.Runtime.RefreshIdentityTokenAfterSeconds*1000 || len(body.Key) != 32 {
		t.Errorf("refresh_from %d, response key %d bytes", body.RefreshFrom, len(body.Key))
	}
	raw, version, err := f.cfg.Mapping.RawUID(f.snap, &flh, identity.TypeEmail, f.nowMs)
	if err != nil || version != facts.UIDVersion {
		t.Fatalf("RawUID = %v, %d; issue derived version %d", err, version, facts.UIDVersion)
	}

	// Validate: the issuing site matches; another raw UID does not; another
	// site may not ask; garbage does not decode.
	other := raw
	other.Bytes()[0] ^= 1
	for _, tc := range []struct {
		text string
		site int32
		raw  *identity.RawUID
		want issuer.Validation
	}{
		{body.Advertising, f.site, &raw, issuer.Match},
		{body.Advertising, f.site, &other, issuer.Mismatch},
		{body.Advertising, f.site + 1, &raw, issuer.Unauthorized},
		{"AAAA" + body.Advertising[4:10], f.site, &raw, issuer.InvalidToken},
	} {
		if got, _ := issuer.Validate(f.snap, tc.text, tc.site, tc.raw); got != tc.want {
			t.Errorf("Validate(site %d) = %d; want %d", tc.site, got, tc.want)
		}
	}

	// Refresh: the wrapped token opens with the snapshot's keys and refreshes.
	inner, _, err := token.UnwrapRefresh(body.Refresh, f.snap.Keyring.TokenKey)
	if err != nil {
		t.Fatal(err)
	}
	out := f.cfg.Refresh(f.snap, []byte(inner), f.nowMs+1000)
	if out.Result != issuer.Refreshed || !out.Decoded {
		t.Fatalf("Refresh = %+v", out.Result)
	}
	var rf issuer.Facts
	if b, err := f.cfg.AppendIssue(nil, f.snap, out.Params(f.nowMs+1000), &rf); err != nil || len(b) == 0 || !rf.Served {
		t.Fatalf("AppendIssue after Refresh = %d bytes, %v, facts %+v", len(b), err, rf)
	}
	if out.Token.SiteID != f.site || out.Token.PrivacyBits != issuer.ServerGenerated || out.Token.FirstLevelHash != flh {
		t.Errorf("refreshed token = site %d bits %d", out.Token.SiteID, out.Token.PrivacyBits)
	}
	for _, tc := range []struct {
		name  string
		inner string
		nowMs int64
		want  issuer.RefreshResult
	}{
		{"garbage", "not a token", f.nowMs, issuer.RefreshInvalid},
		{"expired", inner, f.nowMs + f.snap.Runtime.RefreshTokenExpiresAfterSeconds*1000 + 1, issuer.RefreshExpired},
	} {
		if out := f.cfg.Refresh(f.snap, []byte(tc.inner), tc.nowMs); out.Result != tc.want {
			t.Errorf("Refresh(%s) = %d; want %d", tc.name, out.Result, tc.want)
		}
	}

	// A test identity opted out on refresh only issues, then refreshes to optout.
	body, _, _ = f.issue(t, "refresh-optout@example.com")
	inner, _, _ = token.UnwrapRefresh(body.Refresh, f.snap.Keyring.TokenKey)
	if out := f.cfg.Refresh(f.snap, []byte(inner), f.nowMs); out.Result != issuer.RefreshOptout {
		t.Errorf("Refresh(refresh-optout) = %d; want optout", out.Result)
	}
}

func TestIssueNoSiteKey(t *testing.T) {
	f := newFixture(t)
	var facts issuer.Facts
	_, err := f.cfg.AppendIssue(nil, f.snap, &issuer.Params{Type: identity.TypeEmail, SiteID: 424242, NowMs: f.nowMs}, &facts)
	if !errors.Is(err, issuer.ErrNoActiveKey) && facts.Keyset != issuer.KeysetFallback {
		t.Errorf("Issue for an unknown site = %v, keyset %d; want a fallback key or ErrNoActiveKey", err, facts.Keyset)
	}
	_, err = f.cfg.AppendIssue(nil, f.snap, &issuer.Params{Type: identity.TypeEmail, SiteID: f.site, NowMs: 1}, &facts)
	if !errors.Is(err, issuer.ErrNoActiveKey) {
		t.Errorf("Issue in 1970 = %v; want ErrNoActiveKey", err)
	}
}
