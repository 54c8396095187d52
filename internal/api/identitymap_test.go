package api_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/uid2-private-operator/uid2-operator/internal/api"
	"github.com/uid2-private-operator/uid2-operator/internal/client"
	"github.com/uid2-private-operator/uid2-operator/internal/identity"
	"github.com/uid2-private-operator/uid2-operator/internal/localdata"
	"github.com/uid2-private-operator/uid2-operator/internal/optout"
	"github.com/uid2-private-operator/uid2-operator/internal/salts"
	"github.com/uid2-private-operator/uid2-operator/internal/store"
	"github.com/uid2-private-operator/uid2-operator/internal/token"
)

// call sends payload to path as cred and returns the decrypted body.
func call(t *testing.T, f *fixture, cred localdata.Credential, path, payload string) client.Response {
	t.Helper()
	out, err := f.client(cred).Do(context.Background(), path, []byte(payload))
	if err != nil {
		t.Fatalf("%s %s: %v", path, payload, err)
	}
	return mustResponse(t, out)
}

// callErr sends payload and checks the exact non-200 answer.
func callErr(t *testing.T, f *fixture, cred localdata.Credential, path, payload string, code int, want string) {
	t.Helper()
	_, err := f.client(cred).Do(context.Background(), path, []byte(payload))
	wantStatus(t, err, code, want)
}

// expected is what the operator must answer for one identity, derived here
// from the snapshot with the identity package and the rules of §3.3–§3.5.
type expected struct {
	flh      [32]byte
	entry    salts.Entry
	current  string
	previous string // "" when p is null
	refresh  int64  // seconds
	bucketID string
}

func expect(t *testing.T, snap *store.Snapshot, kind identity.InputKind, in string, now time.Time) expected {
	t.Helper()
	h, ok := identity.Parse(kind, in)
	if !ok {
		t.Fatalf("test input %q is invalid", in)
	}
	nowMs := now.UnixMilli()
	flh := identity.FirstLevelHash(h, snap.Salts.FirstLevel())
	table := snap.Salts.At(nowMs).Table
	e := table.Entry(identity.BucketIndex(&flh, table.Len()))
	env, _ := identity.ParseEnvironment(snap.Runtime.IdentityEnvironment)
	uid := func(salt string, km salts.KeyMaterial) string {
		if salt != "" {
			u := identity.RawUIDv2(&flh, salt)
			return base64.StdEncoding.EncodeToString(u.Bytes())
		}
		u, err := identity.RawUIDv4(&flh, km.ID, km.Key, km.Salt, identity.ScopeUID2, kind.Type(), env)
		if err != nil {
			t.Fatal(err)
		}
		return base64.StdEncoding.EncodeToString(u.Bytes())
	}
	x := expected{flh: flh, entry: e, current: uid(e.CurrentSalt, e.CurrentKey), bucketID: snap.Salts.BucketID(e.ID)}
	// p: bucket updated less than 90 whole days ago, with a previous salt or key.
	if age := (nowMs - e.LastUpdated) / (24 * 3600 * 1000); age < 90 && (e.PreviousSalt != "" || e.PreviousKey.Valid) {
		x.previous = uid(e.PreviousSalt, e.PreviousKey)
	}
	// r: the bucket's refreshFrom unless past, else the next UTC midnight.
	if e.RefreshFrom >= nowMs {
		x.refresh = e.RefreshFrom / 1000
	} else {
		x.refresh = now.UTC().Truncate(24*time.Hour).Add(24*time.Hour).UnixMilli() / 1000
	}
	return x
}

func TestIdentityMapV2(t *testing.T) {
	f := newFixture(t, api.Options{})
	snap := f.store.Load()
	resp := call(t, f, f.creds.Mapper, "/v2/identity/map",
		`{"email":["User@Example.com","not-an-email","optout@example.com","a\u0040b.com",123],"link_id":"ignored"}`)
	x1 := expect(t, snap, identity.KindEmail, "User@Example.com", f.now)
	x2 := expect(t, snap, identity.KindEmail, "a@b.com", f.now)
	want := `{"mapped":[` +
		`{"identifier":"User@Example.com","advertising_id":"` + x1.current + `","bucket_id":"` + x1.bucketID + `"},` +
		`{"identifier":"a@b.com","advertising_id":"` + x2.current + `","bucket_id":"` + x2.bucketID + `"}],` +
		`"unmapped":[{"identifier":"not-an-email","reason":"invalid identifier"},` +
		`{"identifier":"optout@example.com","reason":"optout"},{"identifier":"123","reason":"invalid identifier"}]}`
	if resp.Status != "success" || string(resp.Body) != want {
		t.Fatalf("map = %s %s\nwant %s", resp.Status, resp.Body, want)
	}

	// unmapped is omitted when empty; other kinds map too.
	phone := "+12345678901"
	hash := sha256b64("user@example.com")
	for _, tc := range []struct {
		payload string
		kind    identity.InputKind
		in      string
	}{
		{`{"phone":["` + phone + `"]}`, identity.KindPhone, phone},
		{`{"email_hash":["` + hash + `"],"phone":[]}`, identity.KindEmailHash, hash},
		{`{"phone_hash":["` + sha256b64(phone) + `"],"email":null}`, identity.KindPhoneHash, sha256b64(phone)},
	} {
		x := expect(t, snap, tc.kind, tc.in, f.now)
		want := `{"mapped":[{"identifier":"` + tc.in + `","advertising_id":"` + x.current + `","bucket_id":"` + x.bucketID + `"}]}`
		if r := call(t, f, f.creds.All, "/v2/identity/map", tc.payload); string(r.Body) != want {
			t.Errorf("map %s = %s; want %s", tc.payload, r.Body, want)
		}
	}
	// All present arrays empty: success with nothing mapped.
	if r := call(t, f, f.creds.Mapper, "/v2/identity/map", `{"email":[],"phone_hash":[]}`); string(r.Body) != `{"mapped":[]}` {
		t.Errorf("empty arrays = %s", r.Body)
	}
	// The identifier is echoed as provided, re-encoded like Jackson does.
	r := call(t, f, f.creds.Mapper, "/v2/identity/map", `{"email":["a\"b\u00e9\n</x>"]}`)
	if want := `{"mapped":[],"unmapped":[{"identifier":"a\"bé\n</x>","reason":"invalid identifier"}]}`; string(r.Body) != want {
		t.Errorf("echo = %s; want %s", r.Body, want)
	}
}

// TestIdentityMapV2MatchesToken is the known-answer check that the map
// returns the raw UID that a token generated for the same identity carries.
func TestIdentityMapV2MatchesToken(t *testing.T) {
	f := newFixture(t, api.Options{})
	snap := f.store.Load()
	for _, email := range []string{"user@example.com", "someone.else@example.org", "v4-bucket-check@example.net"} {
		id := decodeIdentity(t, generate(t, f.client(f.creds.Generator), `{"email":"`+email+`"}`).Body)
		adv, err := token.DecodeAdvertising(id.AdvertisingToken, snap.Keyring.TokenKey)
		if err != nil {
			t.Fatal(err)
		}
		var body struct {
			Mapped []struct {
				AdvertisingID string `json:"advertising_id"`
			} `json:"mapped"`
		}
		r := call(t, f, f.creds.Mapper, "/v2/identity/map", `{"email":["`+email+`"]}`)
		if err := json.Unmarshal(r.Body, &body); err != nil || len(body.Mapped) != 1 {
			t.Fatalf("map %s: %s", email, r.Body)
		}
		if want := base64.StdEncoding.EncodeToString(adv.RawUID); body.Mapped[0].AdvertisingID != want {
			t.Errorf("%s: map advertising_id %s; token carries %s", email, body.Mapped[0].AdvertisingID, want)
		}
	}
	// Cover both raw UID kinds: find emails in a v4 (key) bucket and a salt bucket.
	var v4, v2 bool
	for i := 0; i < 200 && !(v4 && v2); i++ {
		email := fmt.Sprintf("kat%d@example.com", i)
		x := expect(t, snap, identity.KindEmail, email, f.now)
		isV4 := x.entry.CurrentSalt == ""
		if (isV4 && v4) || (!isV4 && v2) {
			continue
		}
		v4, v2 = v4 || isV4, v2 || !isV4
		id := decodeIdentity(t, generate(t, f.client(f.creds.Generator), `{"email":"`+email+`"}`).Body)
		adv, err := token.DecodeAdvertising(id.AdvertisingToken, snap.Keyring.TokenKey)
		if err != nil {
			t.Fatal(err)
		}
		if got := base64.StdEncoding.EncodeToString(adv.RawUID); got != x.current {
			t.Errorf("%s (v4 bucket %v): token raw UID %s; map derivation %s", email, isV4, got, x.current)
		}
		r := call(t, f, f.creds.Mapper, "/v2/identity/map", `{"email":["`+email+`"]}`)
		if !bytes.Contains(r.Body, []byte(`"advertising_id":"`+x.current+`"`)) {
			t.Errorf("%s: map = %s; want advertising_id %s", email, r.Body, x.current)
		}
	}
	if !v4 || !v2 {
		t.Fatalf("did not cover both bucket kinds: v4=%v v2=%v", v4, v2)
	}
}

func TestIdentityMapV2Errors(t *testing.T) {
	f := newFixture(t, api.Options{})
	const path = "/v2/identity/map"
	const missing = `{"message":"Required Parameter Missing: exactly one of [email, email_hash, phone, phone_hash] must be specified","status":"client_error"}`
	const unknown = `{"message":"Unknown error while mapping identity v2","status":"unknown"}`
	for _, tc := range []struct {
		payload string
		code    int
		want    string
	}{
		{`{}`, 400, missing},
		{`{"email":null,"phone":null}`, 400, missing},
		{`{"EMAIL":["a@b.com"]}`, 400, missing},
		{`{"email":["a@b.com"],"phone":["+12345678901"]}`, 400, missing},
		{`{"email":"a@b.com"}`, 400, `{"message":"email must be an array","status":"client_error"}`},
		{`{"email":[],"email_hash":{}}`, 400, `{"message":"email_hash must be an array","status":"client_error"}`},
		{`{"phone_hash":1}`, 400, `{"message":"phone_hash must be an array","status":"client_error"}`},
		// The first problem in key order wins.
		{`{"phone":"x","email":5}`, 400, `{"message":"email must be an array","status":"client_error"}`},
		{`{"email":["a"],"email_hash":["b"],"phone":5}`, 400, missing},
		// Reference artefacts kept byte for byte (§2.5).
		{``, 500, unknown},
		{`{"email":["a@b.com",null]}`, 500, unknown},
		{`[1]`, 400, `{"message":"Invalid payload in body: Data is not valid json string.","status":"client_error"}`},
	} {
		t.Run(tc.payload, func(t *testing.T) { callErr(t, f, f.creds.Mapper, path, tc.payload, tc.code, tc.want) })
	}
	callErr(t, f, f.creds.Generator, path, `{"email":["a@b.com"]}`, 401, `{"status":"unauthorized"}`)

	noPhone := newFixture(t, api.Options{DisablePhone: true})
	callErr(t, noPhone, noPhone.creds.Mapper, path, `{"phone":["+12345678901"]}`, 400,
		`{"message":"Required Parameter Missing: exactly one of email or email_hash must be specified","status":"client_error"}`)
	// Without phone support phone keys are not read at all.
	if r := call(t, noPhone, noPhone.creds.Mapper, path, `{"email":["a@b.com"],"phone":5}`); !bytes.HasPrefix(r.Body, []byte(`{"mapped":[{"identifier":"a@b.com"`)) {
		t.Errorf("no-phone map = %s", r.Body)
	}
}

func TestIdentityMapServiceLink(t *testing.T) {
	f := newFixture(t, api.Options{})
	f.store.Load().Clients.ByKey(f.creds.Mapper.APIKey).ServiceID = 42
	const invalidLink = `{"message":"Invalid link_id","status":"unauthorized"}`
	callErr(t, f, f.creds.Mapper, "/v2/identity/map", `{"email":["a@b.com"]}`, 401, invalidLink)
	callErr(t, f, f.creds.Mapper, "/v2/identity/map", `{"email":["a@b.com"],"link_id":"x"}`, 401, invalidLink)
	callErr(t, f, f.creds.Mapper, "/v3/identity/map", `{"email":["a@b.com"]}`, 401, invalidLink)
	// Empty input passes parsing, so the link check still answers.
	callErr(t, f, f.creds.Mapper, "/v2/identity/map", `{"email":[]}`, 401, invalidLink)
	callErr(t, f, f.creds.Mapper, "/v3/identity/map", `{"email":null}`, 401, invalidLink)
	// Input errors come first.
	callErr(t, f, f.creds.Mapper, "/v2/identity/map", `{"email":"a"}`, 400, `{"message":"email must be an array","status":"client_error"}`)
	callErr(t, f, f.creds.Mapper, "/v3/identity/map", `{"email":["a"],"link_id":"x"}`, 400, `{"message":"Incorrect request format","status":"client_error"}`)
	callErr(t, f, f.creds.Mapper, "/v3/identity/map", `{"email":[null]}`, 400, `{"message":"Incorrect request format","status":"client_error"}`)
	// Clients without a service id are not affected.
	call(t, f, f.creds.All, "/v2/identity/map", `{"email":["a@b.com"],"link_id":"x"}`)
}

func TestIdentityMapV3(t *testing.T) {
	f := newFixture(t, api.Options{})
	snap := f.store.Load()
	email, phone := "User@Example.com", "+12345678901"
	xe := expect(t, snap, identity.KindEmail, email, f.now)
	xp := expect(t, snap, identity.KindPhone, phone, f.now)
	xh := expect(t, snap, identity.KindEmailHash, sha256b64("x@y.com"), f.now)
	r := call(t, f, f.creds.Mapper, "/v3/identity/map",
		`{"email":["`+email+`","bad","optout@example.com"],"phone":["`+phone+`",12345678901],"email_hash":["`+sha256b64("x@y.com")+`"],"phone_hash":null}`)
	want := `{"email_hash":[` + v3Item(xh) + `],"phone":[` + v3Item(xp) + `,{"e":"invalid identifier"}],"phone_hash":[],` +
		`"email":[` + v3Item(xe) + `,{"e":"invalid identifier"},{"e":"optout"}]}`
	if r.Status != "success" || string(r.Body) != want {
		t.Fatalf("v3 = %s\nwant %s", r.Body, want)
	}
	// Phone arrays are processed even without phone support (§2.6).
	noPhone := newFixture(t, api.Options{DisablePhone: true})
	r = call(t, noPhone, noPhone.creds.Mapper, "/v3/identity/map", `{"phone":["`+phone+`"]}`)
	if !bytes.Contains(r.Body, []byte(`"phone":[{"u":"`)) {
		t.Fatalf("no-phone v3 = %s", r.Body)
	}
	callErr(t, noPhone, noPhone.creds.Mapper, "/v3/identity/map", `{}`, 400,
		`{"message":"Required Parameter Missing: one or more of [email, email_hash] must be specified","status":"client_error"}`)
}

func v3Item(x expected) string {
	p := "null"
	if x.previous != "" {
		p = `"` + x.previous + `"`
	}
	return fmt.Sprintf(`{"u":"%s","p":%s,"r":%d}`, x.current, p, x.refresh)
}

// TestIdentityMapV3PreviousAndRefresh checks the p and r rules of §3.5 with
// an injected clock: buckets rotated less than 90 days ago carry p, older
// ones p:null; r is the bucket's refreshFrom, or the next UTC midnight once
// that has passed.
func TestIdentityMapV3PreviousAndRefresh(t *testing.T) {
	var clock time.Time
	f := newFixture(t, api.Options{Now: func() time.Time { return clock }})
	clock = f.now
	snap := f.store.Load()
	c := f.client(f.creds.Mapper)
	c.Now = func() time.Time { return clock }

	const dayMs = 24 * 3600 * 1000
	found := map[string]string{}
	for i := 0; i < 3000 && len(found) < 4; i++ {
		email := fmt.Sprintf("p%d@example.com", i)
		x := expect(t, snap, identity.KindEmail, email, clock)
		age := (clock.UnixMilli() - x.entry.LastUpdated) / dayMs
		switch {
		case age < 90 && x.entry.PreviousSalt != "":
			found["recent salt"] = email
		case age >= 90 && x.entry.PreviousSalt != "":
			found["old salt"] = email
		case age < 90 && x.entry.PreviousKey.Valid:
			found["recent key"] = email
		case age >= 90 && x.entry.PreviousKey.Valid:
			found["old key"] = email
		}
	}
	if len(found) != 4 {
		t.Fatalf("fixture lacks bucket kinds: %v", found)
	}
	for name, email := range found {
		for _, shift := range []time.Duration{0, 45 * 24 * time.Hour} {
			clock = f.now.Add(shift)
			x := expect(t, snap, identity.KindEmail, email, clock)
			age := (clock.UnixMilli() - x.entry.LastUpdated) / dayMs
			if (x.previous != "") != (age < 90) {
				t.Fatalf("%s: expectation inconsistent", name)
			}
			out, err := c.Do(context.Background(), "/v3/identity/map", []byte(`{"email":["`+email+`"]}`))
			if err != nil {
				t.Fatal(err)
			}
			want := `{"email_hash":[],"phone":[],"phone_hash":[],"email":[` + v3Item(x) + `]}`
			if got := mustResponse(t, out).Body; string(got) != want {
				t.Errorf("%s, +%v (age %d days): %s\nwant %s", name, shift, age, got, want)
			}
			if shift > 0 && x.entry.RefreshFrom < clock.UnixMilli() && x.refresh%86400 != 0 {
				t.Errorf("%s: r=%d is not a UTC midnight after refreshFrom passed", name, x.refresh)
			}
		}
	}
}

func TestIdentityMapV3Errors(t *testing.T) {
	f := newFixture(t, api.Options{})
	const path = "/v3/identity/map"
	const missing = `{"message":"Required Parameter Missing: one or more of [email, email_hash, phone, phone_hash] must be specified","status":"client_error"}`
	const format = `{"message":"Incorrect request format","status":"client_error"}`
	for _, tc := range []struct {
		payload string
		code    int
		want    string
	}{
		{``, 400, missing},
		{`{}`, 400, missing},
		{`{"email":["a@b.com"],"link_id":"x"}`, 400, format},
		{`{"Email":["a@b.com"]}`, 400, format},
		{`{"email":"a@b.com"}`, 400, format},
		{`{"email":{}}`, 400, format},
		{`{"email":[null]}`, 400, format},
		{`{"email":[["a@b.com"]]}`, 400, format},
		{`{"email":["a@b.com",{}]}`, 400, format},
		{`{"phone":[1,true]}`, 200, ""},
		{`{"email":null}`, 200, ""},
	} {
		t.Run(tc.payload, func(t *testing.T) {
			if tc.code == 200 {
				call(t, f, f.creds.Mapper, path, tc.payload)
				return
			}
			callErr(t, f, f.creds.Mapper, path, tc.payload, tc.code, tc.want)
		})
	}
	callErr(t, f, f.creds.IDReader, path, `{"email":["a@b.com"]}`, 401, `{"status":"unauthorized"}`)
	// Duplicate keys: the last one wins, as in the reference's JsonObject.
	r := call(t, f, f.creds.Mapper, path, `{"email":["bad"],"email":["also bad","x"]}`)
	if !bytes.HasSuffix(r.Body, []byte(`"email":[{"e":"invalid identifier"},{"e":"invalid identifier"}]}`)) {
		t.Errorf("duplicate keys: %s", r.Body)
	}
}

func TestBuckets(t *testing.T) {
	f := newFixture(t, api.Options{})
	snap := f.store.Load()
	table := snap.Salts.At(f.now.UnixMilli()).Table
	// Pick a since that selects some buckets: the newest lastUpdated.
	var newest int64
	for i := range table.Len() {
		newest = max(newest, table.LastUpdated(i))
	}
	since := time.UnixMilli(newest).UTC()
	var want strings.Builder
	want.WriteString("[")
	table.ModifiedSince(newest-newest%1000, func(_ int, e salts.Entry) {
		if want.Len() > 1 {
			want.WriteString(",")
		}
		fmt.Fprintf(&want, `{"bucket_id":"%s","last_updated":"%s"}`, snap.Salts.BucketID(e.ID), time.UnixMilli(e.LastUpdated).UTC().Format("2006-01-02T15:04:05.000"))
	})
	want.WriteString("]")
	r := call(t, f, f.creds.Mapper, "/v2/identity/buckets", `{"since_timestamp":"`+since.Format("2006-01-02T15:04:05")+`"}`)
	if string(r.Body) != want.String() || want.Len() < 3 {
		t.Fatalf("buckets = %s; want %s", r.Body, want.String())
	}
	// Everything since the epoch; nothing from the future.
	var all []struct{ BucketID, LastUpdated string }
	r = call(t, f, f.creds.Mapper, "/v2/identity/buckets", `{"since_timestamp":"1970-01-01t00:00"}`)
	if err := json.Unmarshal(r.Body, &all); err != nil || len(all) != table.Len() {
		t.Fatalf("buckets since 1970: %d of %d (%v)", len(all), table.Len(), err)
	}
	if r := call(t, f, f.creds.Mapper, "/v2/identity/buckets", `{"since_timestamp":"+10000-01-01T00:00:00.123456789"}`); string(r.Body) != "[]" {
		t.Fatalf("future buckets = %s", r.Body)
	}

	const path = "/v2/identity/buckets"
	const invalid = `{"message":"invalid date, must conform to ISO 8601","status":"client_error"}`
	const missing = `{"message":"missing parameter since_timestamp","status":"client_error"}`
	for _, tc := range []struct {
		payload string
		code    int
		want    string
	}{
		{`{}`, 400, missing},
		{`{"since_timestamp":null}`, 400, missing},
		{`{"since_timestamp":"2024-01-01T00:00:00Z"}`, 400, invalid},
		{`{"since_timestamp":1700000000}`, 400, invalid},
		{`{"since_timestamp":"2024-01-01"}`, 400, invalid},
		{`{"since_timestamp":"2024-02-30T00:00"}`, 400, invalid},
		{`{"since_timestamp":"2024-01-01T24:00"}`, 400, invalid},
		{`{"since_timestamp":"2024-01-01T00:00:00.1234567891"}`, 400, invalid},
		{``, 500, "Internal Server Error"},
	} {
		t.Run(tc.payload, func(t *testing.T) { callErr(t, f, f.creds.Mapper, path, tc.payload, tc.code, tc.want) })
	}
	callErr(t, f, f.creds.Sharer, path, `{"since_timestamp":"2024-01-01T00:00"}`, 401, `{"status":"unauthorized"}`)
}

func TestOptoutStatus(t *testing.T) {
	opts := optout.NewStore()
	var out1, out2 [33]byte
	out1[0], out2[0] = 1, 2
	opts.Add(optout.Record{FLH: [32]byte{9}, AdvertisingID: out1, AdIDLen: 32, Timestamp: 1700000000},
		optout.Record{FLH: [32]byte{8}, AdvertisingID: out2, AdIDLen: 33, Timestamp: 1700000123})
	f := newFixture(t, api.Options{OptOuts: opts, OptoutStatusMaxRequestSize: 3})
	id1 := base64.StdEncoding.EncodeToString(out1[:32])
	id2 := base64.StdEncoding.EncodeToString(out2[:33])
	other := base64.StdEncoding.EncodeToString(make([]byte, 32))
	const path = "/v2/optout/status"
	for _, cred := range []localdata.Credential{f.creds.Mapper, f.creds.Sharer, f.creds.IDReader} {
		r := call(t, f, cred, path, `{"advertising_ids":["`+id2+`","`+other+`","`+id1+`"]}`)
		want := `{"opted_out":[{"advertising_id":"` + id2 + `","opted_out_since":1700000123000},{"advertising_id":"` + id1 + `","opted_out_since":1700000000000}]}`
		if string(r.Body) != want {
			t.Fatalf("status = %s; want %s", r.Body, want)
		}
	}
	if r := call(t, f, f.creds.Mapper, path, `{"advertising_ids":[]}`); string(r.Body) != `{"opted_out":[]}` {
		t.Fatalf("empty = %s", r.Body)
	}
	// No normalization: an unpadded spelling does not match.
	if r := call(t, f, f.creds.Mapper, path, `{"advertising_ids":["`+strings.TrimRight(id1, "=")+`",null,5]}`); string(r.Body) != `{"opted_out":[]}` {
		t.Fatalf("unpadded = %s", r.Body)
	}
	for _, tc := range []struct {
		payload string
		code    int
		want    string
	}{
		{``, 400, `{"message":"Invalid request body","status":"client_error"}`},
		{`{}`, 400, `{"message":"Required Parameter Missing: advertising_ids","status":"client_error"}`},
		{`{"advertising_ids":null}`, 400, `{"message":"Required Parameter Missing: advertising_ids","status":"client_error"}`},
		{`{"advertising_ids":["a","b","c","d"]}`, 400, `{"message":"Request payload is too large","status":"client_error"}`},
		{`{"advertising_ids":"a"}`, 500, `{"message":"Unknown error while getting optout status","status":"unknown"}`},
	} {
		t.Run(tc.payload, func(t *testing.T) { callErr(t, f, f.creds.Mapper, path, tc.payload, tc.code, tc.want) })
	}
	callErr(t, f, f.creds.Generator, path, `{"advertising_ids":[]}`, 401, `{"status":"unauthorized"}`)

	off := newFixture(t, api.Options{DisableOptoutStatus: true})
	_, err := off.client(off.creds.Mapper).Do(context.Background(), path, []byte(`{"advertising_ids":[]}`))
	var se *client.StatusError
	if !errors.As(err, &se) || se.Code != 404 {
		t.Fatalf("disabled optout status: %v; want 404", err)
	}
}

// TestIdentityMapV3LongArrays maps arrays of up to 40 inputs, mixing mapped,
// invalid and opted-out inputs (and escaped strings), and checks every
// answer stays at its index.
func TestIdentityMapV3LongArrays(t *testing.T) {
	f := newFixture(t, api.Options{})
	snap := f.store.Load()
	for _, n := range []int{15, 16, 17, 40} {
		var in, want strings.Builder
		in.WriteString(`{"email":[`)
		want.WriteString(`{"email_hash":[],"phone":[],"phone_hash":[],"email":[`)
		for i := range n {
			if i > 0 {
				in.WriteByte(',')
				want.WriteByte(',')
			}
			switch {
			case i%7 == 3:
				in.WriteString(`"bad` + strconv.Itoa(i) + `"`)
				want.WriteString(`{"e":"invalid identifier"}`)
			case i%11 == 5:
				in.WriteString(`"optout@example.com"`)
				want.WriteString(`{"e":"optout"}`)
			case i%5 == 1:
				email := fmt.Sprintf("b%d@example.com", i)
				in.WriteString(`"b` + strconv.Itoa(i) + `\u0040example.com"`)
				want.WriteString(v3Item(expect(t, snap, identity.KindEmail, email, f.now)))
			default:
				email := fmt.Sprintf("b%d@example.com", i)
				in.WriteString(`"` + email + `"`)
				want.WriteString(v3Item(expect(t, snap, identity.KindEmail, email, f.now)))
			}
		}
		in.WriteString(`]}`)
		want.WriteString(`]}`)
		r := call(t, f, f.creds.Mapper, "/v3/identity/map", in.String())
		if r.Status != "success" || string(r.Body) != want.String() {
			t.Fatalf("%d inputs: v3 = %s\nwant %s", n, r.Body, want.String())
		}
	}
}

// TestBulkAnswersEveryMode checks the write-once path (sealed in place,
// text streamed in chunks) against the copying one: every bulk route gives
// the same decrypted answer in text and binary mode, for answers that span
// several base64 chunks too.
func TestBulkAnswersEveryMode(t *testing.T) {
	f := newFixture(t, api.Options{})
	var big strings.Builder
	big.WriteString(`{"email":[`)
	for i := range 3000 {
		if i > 0 {
			big.WriteByte(',')
		}
		fmt.Fprintf(&big, `"user%d@example.com"`, i)
	}
	big.WriteString(`]}`)
	for _, tc := range []struct{ path, payload string }{
		{"/v2/identity/map", big.String()},
		{"/v3/identity/map", big.String()},
		{"/v2/identity/map", `{"email":["a@b.com","not-an-email"]}`},
		{"/v2/identity/buckets", `{"since_timestamp":"2020-01-01T00:00:00"}`},
		{"/v2/optout/status", `{"advertising_ids":[]}`},
	} {
		var answers [2][]byte
		for i, binary := range []bool{false, true} {
			c := f.client(f.creds.All)
			c.Binary = binary
			out, err := c.Do(context.Background(), tc.path, []byte(tc.payload))
			if err != nil {
				t.Fatalf("%s binary=%v: %v", tc.path, binary, err)
			}
			answers[i] = out
		}
		if !bytes.Equal(answers[0], answers[1]) {
			t.Errorf("%s: text and binary answers differ (%d vs %d bytes)", tc.path, len(answers[0]), len(answers[1]))
		}
		if len(tc.payload) > 10000 && len(answers[0]) < 200_000 { // several 48 KiB chunks
			t.Errorf("%s: answer of %d bytes does not span several base64 chunks", tc.path, len(answers[0]))
		}
	}
}
