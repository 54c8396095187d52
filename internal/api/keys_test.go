package api_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/uid2-private-operator/uid2-operator/internal/api"
	"github.com/uid2-private-operator/uid2-operator/internal/identity"
	"github.com/uid2-private-operator/uid2-operator/internal/localdata"
	"github.com/uid2-private-operator/uid2-operator/internal/store"
	"github.com/uid2-private-operator/uid2-operator/internal/token"
)

// keyJSON renders dataset key id as the key endpoints must (§5.1), with
// extra appended before the closing brace.
func keyJSON(t *testing.T, f *fixture, id int32, extra string) string {
	t.Helper()
	k := f.store.Load().Keyring.Key(id)
	if k == nil {
		t.Fatalf("dataset has no key %d", id)
	}
	return `{"id":` + strconv.Itoa(int(id)) + `,"created":` + strconv.FormatInt(k.Created, 10) +
		`,"activates":` + strconv.FormatInt(k.Activates, 10) + `,"expires":` + strconv.FormatInt(k.Expires, 10) +
		`,"secret":"` + base64.StdEncoding.EncodeToString(k.Secret) + `"` + extra + `}`
}

func keys(t *testing.T, f *fixture, specs ...string) string {
	t.Helper()
	parts := make([]string, len(specs))
	for i, s := range specs {
		id, extra, _ := strings.Cut(s, ":")
		n, _ := strconv.Atoi(id)
		if extra != "" {
			extra = `,"` + extra
		}
		parts[i] = keyJSON(t, f, int32(n), extra)
	}
	return "[" + strings.Join(parts, ",") + "]"
}

func doKeys(t *testing.T, f *fixture, c localdata.Credential, path string) []byte {
	t.Helper()
	// SDKs send an empty payload (§1.4 step 7).
	out, err := f.client(c).Do(context.Background(), path, nil)
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	return out
}

// TestKeyResponsesGolden checks every key response byte for byte against
// the dataset (§5): field order, string token_expiry_seconds, master keyset
// id 9999999, keyset_id only on own-site and master keys, the +10 s
// lifetimes, upper-case scope and site_data.
func TestKeyResponsesGolden(t *testing.T) {
	f := newFixture(t, api.Options{CSTG: true})
	cr := f.creds
	siteData := func(entries ...string) string { return `,"site_data":[` + strings.Join(entries, ",") + `]` }
	const (
		site1001 = `{"id":1001,"domain_names":["demo.example","localhost"]}`
		site1002 = `{"id":1002,"domain_names":["localhost","publisher.example"]}`
		site1003 = `{"id":1003,"domain_names":["advertiser.example"]}`
		site1004 = `{"id":1004,"domain_names":["dsp.example"]}`
		site1005 = `{"id":1005,"domain_names":["sharer.example"]}`
	)
	tests := []struct {
		name string
		cred localdata.Credential
		path string
		want string
	}{
		{"sharing as SHARER only", cr.Sharer, "/v2/key/sharing",
			`{"caller_site_id":1005,"master_keyset_id":9999999,"default_keyset_id":1005,"token_expiry_seconds":"2592000",` +
				`"max_sharing_lifetime_seconds":2592010,"identity_scope":"UID2","allow_clock_skew_seconds":1800,"keys":` +
				keys(t, f, "1:keyset_id\":9999999", "4", "8:keyset_id\":1005") + siteData(site1001, site1005) + `}`},
		{"sharing as SHARER with an empty allow list, listed nowhere", cr.NonSharing, "/v2/key/sharing",
			`{"caller_site_id":1007,"master_keyset_id":9999999,"default_keyset_id":1007,"token_expiry_seconds":"2592000",` +
				`"max_sharing_lifetime_seconds":2592010,"identity_scope":"UID2","allow_clock_skew_seconds":1800,"keys":` +
				keys(t, f, "1:keyset_id\":9999999", "10:keyset_id\":1007") + siteData(`{"id":1007,"domain_names":["nonsharing.example"]}`) + `}`},
		{"sharing as ID_READER", cr.IDReader, "/v2/key/sharing",
			`{"caller_site_id":1004,"master_keyset_id":9999999,"default_keyset_id":1004,"token_expiry_seconds":"2592000",` +
				`"identity_scope":"UID2","allow_clock_skew_seconds":1800,"keys":` +
				keys(t, f, "1:keyset_id\":9999999", "3", "4", "5", "6", "7:keyset_id\":1004", "9") +
				siteData(site1001, site1002, site1003, site1004) + `}`},
		{"sharing as SHARER+ID_READER listed in allowed_sites", cr.All, "/v2/key/sharing",
			`{"caller_site_id":1001,"master_keyset_id":9999999,"default_keyset_id":1001,"token_expiry_seconds":"2592000",` +
				`"max_sharing_lifetime_seconds":2592010,"identity_scope":"UID2","allow_clock_skew_seconds":1800,"keys":` +
				keys(t, f, "1:keyset_id\":9999999", "3", "4:keyset_id\":1001", "5", "6", "7", "8", "9") +
				siteData(site1001, site1002, site1003, site1004, site1005) + `}`},
		{"bidstream", cr.IDReader, "/v2/key/bidstream",
			`{"max_bidstream_lifetime_seconds":3610,"identity_scope":"UID2","allow_clock_skew_seconds":1800,"keys":` +
				keys(t, f, "1", "3", "4", "5", "6", "7", "9") + siteData(site1001, site1002, site1003, site1004) + `}`},
		{"latest", cr.IDReader, "/v2/key/latest",
			keys(t, f, "1:site_id\":-1", "3:site_id\":2", "4:site_id\":1001", "5:site_id\":1002", "6:site_id\":1003",
				"7:site_id\":1004", "9:site_id\":1006")},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := doKeys(t, f, tc.cred, tc.path)
			want := `{"body":` + tc.want + `,"status":"success"}`
			if string(got) != want {
				t.Errorf("%s\n got %s\nwant %s", tc.path, got, want)
			}
		})
	}
}

func TestKeyOptions(t *testing.T) {
	tests := []struct {
		name  string
		opt   api.Options
		check func(t *testing.T, body string)
	}{
		{"no site_data without CSTG", api.Options{}, func(t *testing.T, body string) {
			if strings.Contains(body, "site_data") {
				t.Errorf("site_data present: %s", body)
			}
		}},
		{"app names", api.Options{CSTG: true, ProvideAppNames: true}, func(t *testing.T, body string) {
			if !strings.Contains(body, `{"id":1001,"domain_names":["com.example.demo","demo.example","localhost"]}`) {
				t.Errorf("app names missing: %s", body)
			}
		}},
		{"EUID and clock skew", api.Options{Scope: identity.ScopeEUID, AllowClockSkewSeconds: 60}, func(t *testing.T, body string) {
			if !strings.Contains(body, `"identity_scope":"EUID","allow_clock_skew_seconds":60,`) {
				t.Errorf("scope/skew: %s", body)
			}
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(t, tc.opt)
			tc.check(t, string(doKeys(t, f, f.creds.All, "/v2/key/sharing")))
			tc.check(t, string(doKeys(t, f, f.creds.IDReader, "/v2/key/bidstream")))
		})
	}
}

func TestKeyLifetimesFromRuntimeConfig(t *testing.T) {
	f := newFixture(t, api.Options{})
	rc := *f.store.Load().Runtime
	rc.MaxBidstreamLifetimeSeconds = 7200
	rc.MaxSharingLifetimeSeconds = 86400
	f.store.SetRuntimeConfig(&rc)
	if b := string(doKeys(t, f, f.creds.All, "/v2/key/sharing")); !strings.Contains(b, `"max_sharing_lifetime_seconds":86410,`) {
		t.Errorf("sharing: %s", b)
	}
	if b := string(doKeys(t, f, f.creds.IDReader, "/v2/key/bidstream")); !strings.Contains(b, `{"max_bidstream_lifetime_seconds":7210,`) {
		t.Errorf("bidstream: %s", b)
	}
}

func TestKeyErrors(t *testing.T) {
	f := newFixture(t, api.Options{})
	cr := f.creds
	const unauthorized = `{"status":"unauthorized"}`
	for _, tc := range []struct {
		name string
		cred localdata.Credential
		path string
	}{
		{"latest needs ID_READER", cr.Sharer, "/v2/key/latest"},
		{"sharing needs SHARER or ID_READER", cr.Generator, "/v2/key/sharing"},
		{"bidstream needs ID_READER", cr.Sharer, "/v2/key/bidstream"},
		{"mapper on bidstream", cr.Mapper, "/v2/key/bidstream"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := f.client(tc.cred).Do(context.Background(), tc.path, nil)
			wantStatus(t, err, 401, unauthorized)
		})
	}

	t.Run("non-JSON payload", func(t *testing.T) {
		_, err := f.client(cr.IDReader).Do(context.Background(), "/v2/key/bidstream", []byte("[1]"))
		wantStatus(t, err, 400, `{"message":"Invalid payload in body: Data is not valid json string.","status":"client_error"}`)
	})
	t.Run("any JSON object payload", func(t *testing.T) {
		if _, err := f.client(cr.IDReader).Do(context.Background(), "/v2/key/bidstream", []byte(`{"x":1}`)); err != nil {
			t.Fatal(err)
		}
	})

	// A client of a reserved site (≤ 2) gets 401 invalid_client on
	// /v2/key/latest only (§2.9).
	reserved := addClient(t, f, 2, `["ID_READER"]`)
	_, err := f.client(reserved).Do(context.Background(), "/v2/key/latest", nil)
	wantStatus(t, err, 401, `{"message":"Unexpected client site id 2","status":"invalid_client"}`)
	if _, err := f.client(reserved).Do(context.Background(), "/v2/key/bidstream", nil); err != nil {
		t.Errorf("bidstream for site 2: %v", err)
	}
}

// addClient adds an API client of site with roles to the fixture's store.
func addClient(t *testing.T, f *fixture, site int32, roles string) localdata.Credential {
	t.Helper()
	const key = "UID2-C-L-2-abcdef.abcdefabcdefabcdefabcdefabcdefabcdefab"
	secret := base64.StdEncoding.EncodeToString(bytes.Repeat([]byte{7}, 32))
	salt := []byte("test-salt")
	rec := `[{"key_hash":"` + store.HashKey(key, salt) + `","key_salt":"` + base64.StdEncoding.EncodeToString(salt) +
		`","secret":"` + secret + `","name":"reserved","contact":"x","created":1,"roles":` + roles +
		`,"site_id":` + strconv.Itoa(int(site)) + `,"disabled":false,"key_id":"UID2-C-L-2-abcde"}]`
	extra, err := store.ParseClients([]byte(rec))
	if err != nil {
		t.Fatal(err)
	}
	var list []store.Client
	for _, c := range f.store.Load().Clients.All() {
		list = append(list, *c)
	}
	f.store.SetClients(store.NewClients(2, append(list, extra...)))
	return localdata.Credential{APIKey: key, Secret: secret, SiteID: site}
}

// TestBidderFlow decrypts a fresh advertising token the way a DSP's SDK
// does: keys from /v2/key/bidstream, master and site key by id, then the
// SDK validity rules (§4.2, §4.6). The raw UID must be the operator's.
func TestBidderFlow(t *testing.T) {
	f := newFixture(t, api.Options{CSTG: true})
	keys, err := parseSDKKeys(doKeys(t, f, f.creds.IDReader, "/v2/key/bidstream"))
	if err != nil {
		t.Fatal(err)
	}
	for _, email := range []string{"bidder@example.com", "validate@example.com"} {
		id := decodeIdentity(t, generate(t, f.client(f.creds.Generator), `{"email":"`+email+`"}`).Body)
		now := time.Now()
		adv, err := token.DecodeAdvertising(id.AdvertisingToken, keys.tokenKeys)
		if err != nil {
			t.Fatalf("SDK decrypt: %v", err)
		}
		checkSDKValidity(t, keys, &adv, now, keys.maxBidstreamLifetime, "")
		if adv.SiteID != f.creds.Generator.SiteID || adv.PrivacyBits != 1 {
			t.Errorf("site %d privacy %d; want %d, 1", adv.SiteID, adv.PrivacyBits, f.creds.Generator.SiteID)
		}
		want := operatorRawUID(t, f, id.AdvertisingToken)
		if !bytes.Equal(adv.RawUID, want) {
			t.Errorf("SDK raw UID %x; operator %x", adv.RawUID, want)
		}
		if mapped, ok := identityMap(t, f, email); ok && mapped != base64.StdEncoding.EncodeToString(adv.RawUID) {
			t.Errorf("raw UID %s; /v2/identity/map %s", base64.StdEncoding.EncodeToString(adv.RawUID), mapped)
		}
	}
}

// checkSDKValidity applies the SDK-side rules of §4.2: not expired, lifetime
// within the published maximum, not created too far in the future, and for
// CSTG tokens (privacy bit 1) the domain listed in site_data.
func checkSDKValidity(t *testing.T, k *sdkKeys, adv *token.Advertising, now time.Time, maxLifetime int64, domain string) {
	t.Helper()
	nowMs := now.UnixMilli()
	if adv.Expires < nowMs {
		t.Errorf("token expired")
	}
	if maxLifetime == 0 || adv.Expires-adv.Created > maxLifetime*1000 {
		t.Errorf("lifetime %d ms exceeds max %d s", adv.Expires-adv.Created, maxLifetime)
	}
	if adv.Created-nowMs > k.allowClockSkewSeconds*1000 {
		t.Errorf("created %d ms in the future beyond skew %d s", adv.Created-nowMs, k.allowClockSkewSeconds)
	}
	if adv.PrivacyBits&2 != 0 && !k.domainAllowed(adv.SiteID, domain) {
		t.Errorf("CSTG token of site %d: domain %q not in site_data %v", adv.SiteID, domain, k.siteDomains[adv.SiteID])
	}
}

// operatorRawUID decodes a token with the operator's own keyring.
func operatorRawUID(t *testing.T, f *fixture, tok string) []byte {
	t.Helper()
	adv, err := token.DecodeAdvertising(tok, f.store.Load().Keyring.TokenKey)
	if err != nil {
		t.Fatal(err)
	}
	return adv.RawUID
}

// identityMap returns the advertising id /v2/identity/map gives for email,
// or ok=false while the endpoint is not routed.
func identityMap(t *testing.T, f *fixture, email string) (string, bool) {
	t.Helper()
	out, err := f.client(f.creds.Mapper).Do(context.Background(), "/v2/identity/map", []byte(`{"email":["`+email+`"]}`))
	var se interface{ Error() string }
	if errors.As(err, &se) && strings.Contains(err.Error(), "HTTP 404") {
		t.Log("/v2/identity/map not routed; compared with the operator's decoding only")
		return "", false
	}
	if err != nil {
		t.Fatalf("identity map: %v", err)
	}
	var r struct {
		Body struct {
			Mapped []struct {
				AdvertisingID string `json:"advertising_id"`
			} `json:"mapped"`
		} `json:"body"`
	}
	if err := json.Unmarshal(out, &r); err != nil || len(r.Body.Mapped) != 1 {
		t.Fatalf("identity map %s: %v", out, err)
	}
	return r.Body.Mapped[0].AdvertisingID, true
}

// TestSharerFlow encrypts a sharing token as an SDK does with the
// /v2/key/sharing keys of the sender (master key of master_keyset_id, active
// key of default_keyset_id, privacy bits 0) and decrypts it as a receiving
// site that the sender's keyset lists in allowed_sites (§4.6).
func TestSharerFlow(t *testing.T) {
	f := newFixture(t, api.Options{})
	id := decodeIdentity(t, generate(t, f.client(f.creds.Generator), `{"email":"shared@example.com"}`).Body)
	raw := operatorRawUID(t, f, id.AdvertisingToken)

	sender, err := parseSDKKeys(doKeys(t, f, f.creds.Sharer, "/v2/key/sharing"))
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	master, ok := sender.activeKey(sender.masterKeysetID, now)
	site, ok2 := sender.activeKey(sender.defaultKeysetID, now)
	if !ok || !ok2 {
		t.Fatalf("sender has no master (%v) or default (%v) key", ok, ok2)
	}
	mk, _ := sender.tokenKeys(master.id)
	sk, _ := sender.tokenKeys(site.id)
	adv := token.Advertising{
		Scope: identity.ScopeUID2, Type: identity.TypeEmail, OperatorType: 1,
		Expires: now.UnixMilli() + sender.tokenExpirySeconds*1000, Created: now.UnixMilli(),
		SiteID: sender.callerSiteID, PrivacyBits: 0, Established: now.UnixMilli(), Refreshed: now.UnixMilli(), RawUID: raw,
	}
	shared, err := token.AppendAdvertisingV4(nil, &adv, mk, sk, nil)
	if err != nil {
		t.Fatal(err)
	}

	receiver, err := parseSDKKeys(doKeys(t, f, f.creds.All, "/v2/key/sharing"))
	if err != nil {
		t.Fatal(err)
	}
	got, err := token.DecodeAdvertising(string(shared), receiver.tokenKeys)
	if err != nil {
		t.Fatalf("receiver decrypt: %v", err)
	}
	checkSDKValidity(t, receiver, &got, now, receiver.maxSharingLifetime, "")
	if !bytes.Equal(got.RawUID, raw) || got.SiteID != f.creds.Sharer.SiteID {
		t.Errorf("raw UID %x site %d; want %x site %d", got.RawUID, got.SiteID, raw, f.creds.Sharer.SiteID)
	}
	// The receiver cannot encrypt with the sender's key: no keyset_id.
	if k := receiver.keys[site.id]; k.keysetID != -1 {
		t.Errorf("receiver sees keyset_id %d on the sender's key", k.keysetID)
	}

	// A site outside allowed_sites cannot decrypt.
	outsider, err := parseSDKKeys(doKeys(t, f, f.creds.IDReader, "/v2/key/sharing"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := token.DecodeAdvertising(string(shared), outsider.tokenKeys); !errors.Is(err, token.ErrUnknownKey) {
		t.Errorf("outsider decrypt err = %v; want ErrUnknownKey", err)
	}
}

// TestKeysetAccessRules covers §5.3 beyond the dataset: disabled keysets are
// hidden (the master keyset never is), an empty allowed_sites list hides a
// keyset even from ID_READERs, and keys of unknown keysets and the refresh
// keyset are never listed.
func TestKeysetAccessRules(t *testing.T) {
	f := newFixture(t, api.Options{})
	snap := f.store.Load()
	var list []store.Keyset
	for _, id := range []int32{-1, -2, 2, 1001, 1002, 1003, 1004, 1005, 1006} {
		ks := *snap.Keysets.Get(id)
		switch id {
		case -1, 1003:
			ks.Enabled = false
		case 1002:
			ks.AllowedSites = []int32{}
		case 1006:
			continue // its key 9 now belongs to no known keyset
		}
		list = append(list, ks)
	}
	f.store.SetKeysets(store.NewKeysets(2, list))
	got := string(doKeys(t, f, f.creds.IDReader, "/v2/key/bidstream"))
	want := `"keys":` + keys(t, f, "1", "3", "4", "7") + `}`
	if !strings.Contains(got, want) {
		t.Errorf("got %s\nwant …%s", got, want)
	}
}
