package api_test

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/uid2-private-operator/uid2-operator/internal/token"
)

// sdkKeys is what an SDK keeps from a /v2/key/sharing or /v2/key/bidstream
// response (JS KeyParser/KeyContainer, PY refresh_keys_util; §6 K-14). It is
// written from the SDKs' documented behaviour, as a test oracle.
type sdkKeys struct {
	callerSiteID          int32
	masterKeysetID        int32
	defaultKeysetID       int32
	tokenExpirySeconds    int64 // 30 days when absent
	maxBidstreamLifetime  int64
	maxSharingLifetime    int64
	allowClockSkewSeconds int64
	identityScope         string
	keys                  map[int32]sdkKey
	siteDomains           map[int32][]string
}

type sdkKey struct {
	id, keysetID                int32
	created, activates, expires int64 // epoch seconds
	secret                      []byte
}

// parseSDKKeys parses a decrypted key response document like the SDKs do:
// token_expiry_seconds may be a number or a string, missing fields default.
func parseSDKKeys(doc []byte) (*sdkKeys, error) {
	var r struct {
		Status string `json:"status"`
		Body   struct {
			CallerSiteID          *int32          `json:"caller_site_id"`
			MasterKeysetID        *int32          `json:"master_keyset_id"`
			DefaultKeysetID       *int32          `json:"default_keyset_id"`
			TokenExpirySeconds    json.RawMessage `json:"token_expiry_seconds"`
			MaxBidstreamLifetime  *int64          `json:"max_bidstream_lifetime_seconds"`
			MaxSharingLifetime    *int64          `json:"max_sharing_lifetime_seconds"`
			AllowClockSkewSeconds *int64          `json:"allow_clock_skew_seconds"`
			IdentityScope         string          `json:"identity_scope"`
			Keys                  []struct {
				ID        *int32 `json:"id"`
				KeysetID  *int32 `json:"keyset_id"`
				Created   int64  `json:"created"`
				Activates int64  `json:"activates"`
				Expires   int64  `json:"expires"`
				Secret    string `json:"secret"`
			} `json:"keys"`
			SiteData []struct {
				ID          int32    `json:"id"`
				DomainNames []string `json:"domain_names"`
			} `json:"site_data"`
		} `json:"body"`
	}
	if err := json.Unmarshal(doc, &r); err != nil {
		return nil, err
	}
	if r.Status != "success" {
		return nil, fmt.Errorf("status %q", r.Status)
	}
	b := r.Body
	k := &sdkKeys{tokenExpirySeconds: 30 * 24 * 3600, keys: map[int32]sdkKey{}, siteDomains: map[int32][]string{},
		masterKeysetID: -1, defaultKeysetID: -1, identityScope: b.IdentityScope}
	set := func(dst *int32, v *int32) {
		if v != nil {
			*dst = *v
		}
	}
	set(&k.callerSiteID, b.CallerSiteID)
	set(&k.masterKeysetID, b.MasterKeysetID)
	set(&k.defaultKeysetID, b.DefaultKeysetID)
	if b.TokenExpirySeconds != nil {
		v, err := strconv.ParseInt(strings.Trim(string(b.TokenExpirySeconds), `"`), 10, 64)
		if err != nil {
			return nil, fmt.Errorf("token_expiry_seconds: %w", err)
		}
		k.tokenExpirySeconds = v
	}
	if b.MaxBidstreamLifetime != nil {
		k.maxBidstreamLifetime = *b.MaxBidstreamLifetime
	}
	if b.MaxSharingLifetime != nil {
		k.maxSharingLifetime = *b.MaxSharingLifetime
	}
	if b.AllowClockSkewSeconds != nil {
		k.allowClockSkewSeconds = *b.AllowClockSkewSeconds
	}
	for _, jk := range b.Keys {
		if jk.ID == nil {
			return nil, fmt.Errorf("key without id")
		}
		secret, err := base64.StdEncoding.DecodeString(jk.Secret)
		if err != nil {
			return nil, fmt.Errorf("key %d secret: %w", *jk.ID, err)
		}
		sk := sdkKey{id: *jk.ID, keysetID: -1, created: jk.Created, activates: jk.Activates, expires: jk.Expires, secret: secret}
		set(&sk.keysetID, jk.KeysetID)
		k.keys[sk.id] = sk
	}
	for _, s := range b.SiteData {
		k.siteDomains[s.ID] = s.DomainNames
	}
	return k, nil
}

// activeKey is the latest key of keyset that is active at now, as the SDKs
// select encryption keys. Non-positive keyset ids select nothing.
func (k *sdkKeys) activeKey(keysetID int32, now time.Time) (sdkKey, bool) {
	var best sdkKey
	found := false
	if keysetID <= 0 {
		return best, false
	}
	for _, key := range k.keys {
		if key.keysetID == keysetID && key.activates <= now.Unix() && now.Unix() < key.expires &&
			(!found || key.activates > best.activates || key.activates == best.activates && key.id > best.id) {
			best, found = key, true
		}
	}
	return best, found
}

// tokenKeys looks keys up by id, the way SDKs decrypt (master and site key
// by the ids in the token).
func (k *sdkKeys) tokenKeys(id int32) (token.Key, bool) {
	sk, ok := k.keys[id]
	if !ok {
		return token.Key{}, false
	}
	key, err := token.NewKey(id, sk.secret)
	return key, err == nil
}

// domainAllowed is the SDK's site_data check for CSTG tokens
// (case-insensitive).
func (k *sdkKeys) domainAllowed(site int32, domain string) bool {
	for _, d := range k.siteDomains[site] {
		if strings.EqualFold(d, domain) {
			return true
		}
	}
	return false
}

// TestK14Parse runs the SDK-style parser on the K-14 sample body
// (PY tests/test_key_parse.py: numeric token_expiry_seconds).
func TestK14Parse(t *testing.T) {
	const doc = `{ "body": { "caller_site_id": 11, "master_keyset_id": 1, "default_keyset_id": 99999, ` +
		`"token_expiry_seconds": 1728000, "keys": [ { "id": 3, "keyset_id": 99999, "created": 1609459200, ` +
		`"activates": 1609459210, "expires": 1893456000, "secret": "o8HsvkwJ5Ulnrd0uui3GpukpwDapj+JLqb7qfN/GJKo=" }, ` +
		`{ "id": 2, "keyset_id": 1, "created": 1609458200, "activates": 1609459220, "expires": 1893457000, ` +
		`"secret": "DD67xF8OFmbJ1/lMPQ6fGRDbJOT4kXErrYWcKdFfCUE=" } ] }, "status": "success" }`
	k, err := parseSDKKeys([]byte(doc))
	if err != nil {
		t.Fatal(err)
	}
	now := time.Unix(1700000000, 0)
	master, ok := k.activeKey(k.masterKeysetID, now)
	def, ok2 := k.activeKey(k.defaultKeysetID, now)
	if k.callerSiteID != 11 || !ok || master.id != 2 || !ok2 || def.id != 3 || k.tokenExpirySeconds != 1728000 {
		t.Fatalf("parsed %+v master %d default %d", k, master.id, def.id)
	}
	if got := base64.StdEncoding.EncodeToString(k.keys[3].secret); got != "o8HsvkwJ5Ulnrd0uui3GpukpwDapj+JLqb7qfN/GJKo=" {
		t.Errorf("key 3 secret %s", got)
	}
}
