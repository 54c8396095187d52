package keyshare_test

import (
	"encoding/json"
	"errors"
	"slices"
	"testing"

	"github.com/uid2-private-operator/uid2-operator/internal/keyshare"
	"github.com/uid2-private-operator/uid2-operator/internal/store"
)

// snapshot: master (-1), refresh (-2), site 10's own keyset 100, site 20's
// keyset 200 shared with site 10, site 30's keyset 300 open to ID readers
// (allowed_sites null), and a disabled keyset 400 of site 10; one key each.
func snapshot() *store.Snapshot {
	keysets := store.NewKeysets(1, []store.Keyset{
		{ID: store.MasterKeysetID, SiteID: -1, Enabled: true},
		{ID: store.RefreshKeysetID, SiteID: -2, Enabled: true},
		{ID: 100, SiteID: 10, AllowedSites: []int32{}, Enabled: true},
		{ID: 200, SiteID: 20, AllowedSites: []int32{10}, Enabled: true},
		{ID: 300, SiteID: 30, Enabled: true},
		{ID: 400, SiteID: 10, AllowedSites: []int32{}, Enabled: false},
	})
	var keys []store.KeysetKey
	for i, ks := range []int32{store.MasterKeysetID, store.RefreshKeysetID, 100, 200, 300, 400} {
		keys = append(keys, store.KeysetKey{ID: int32(i + 1), KeysetID: ks, Created: 1, Activates: 2, Expires: 3, Secret: []byte{byte(i)}})
	}
	kk := store.NewKeysetKeys(1, keys)
	return &store.Snapshot{Keysets: keysets, Keys: kk, Keyring: store.NewKeyring(keysets, kk),
		Sites: store.NewSites(1, []store.Site{
			{ID: 10, DomainNames: []string{"b.example", "a.example"}, AppNames: []string{"com.a"}},
			{ID: 20, AppNames: []string{"com.only.app"}},
		}),
		Runtime: &store.RuntimeConfig{SharingTokenExpirySeconds: 100, IdentityTokenExpiresAfterSeconds: 50}}
}

func ids(keys []*store.KeysetKey) []int32 {
	var out []int32
	for _, k := range keys {
		out = append(out, k.ID)
	}
	return out
}

func TestAccessible(t *testing.T) {
	snap := snapshot()
	for _, tc := range []struct {
		name   string
		client store.Client
		want   []int32
	}{
		{"own, shared with it, master", store.Client{SiteID: 10, Roles: store.RoleSharer}, []int32{1, 3, 4}},
		{"ID reader also sees open keysets", store.Client{SiteID: 10, Roles: store.RoleIDReader}, []int32{1, 3, 4, 5}},
		{"a stranger sees the master keys only", store.Client{SiteID: 99, Roles: store.RoleSharer}, []int32{1}},
	} {
		if got := ids(keyshare.Accessible(snap, &tc.client)); !slices.Equal(got, tc.want) {
			t.Errorf("%s: Accessible = %v; want %v", tc.name, got, tc.want)
		}
	}
}

func TestDocuments(t *testing.T) {
	snap := snapshot()
	c := &store.Client{SiteID: 10, Roles: store.RoleSharer}
	opt := &keyshare.Options{AllowClockSkewSeconds: 1800, SiteData: true, AppNames: true}
	sharing, err := keyshare.NewSharing(snap, c, opt)
	if err != nil {
		t.Fatal(err)
	}
	got, _ := json.Marshal(sharing)
	want := `{"caller_site_id":10,"master_keyset_id":9999999,"token_expiry_seconds":"100",` +
		`"max_sharing_lifetime_seconds":110,"identity_scope":"UID2","allow_clock_skew_seconds":1800,"keys":[` +
		`{"id":1,"created":1,"activates":2,"expires":3,"secret":"AA==","keyset_id":9999999},` +
		`{"id":3,"created":1,"activates":2,"expires":3,"secret":"Ag==","keyset_id":100},` +
		`{"id":4,"created":1,"activates":2,"expires":3,"secret":"Aw=="}],` +
		`"site_data":[{"id":10,"domain_names":["a.example","b.example","com.a"]},{"id":20,"domain_names":["com.only.app"]}]}`
	if string(got) != want {
		t.Errorf("Sharing =\n%s\nwant\n%s", got, want)
	}

	opt.SiteData, opt.AppNames = false, false
	got, _ = json.Marshal(keyshare.NewBidstream(snap, &store.Client{SiteID: 99}, opt))
	want = `{"max_bidstream_lifetime_seconds":60,"identity_scope":"UID2","allow_clock_skew_seconds":1800,"keys":[` +
		`{"id":1,"created":1,"activates":2,"expires":3,"secret":"AA=="}]}`
	if string(got) != want {
		t.Errorf("Bidstream =\n%s\nwant\n%s", got, want)
	}

	latest, err := keyshare.Latest(snap, c)
	got, _ = json.Marshal(latest)
	if err != nil || string(got) != `[{"id":1,"created":1,"activates":2,"expires":3,"secret":"AA==","site_id":-1},`+
		`{"id":3,"created":1,"activates":2,"expires":3,"secret":"Ag==","site_id":10},`+
		`{"id":4,"created":1,"activates":2,"expires":3,"secret":"Aw==","site_id":20}]` {
		t.Errorf("Latest = %s, %v", got, err)
	}
	if _, err := keyshare.Latest(snap, &store.Client{SiteID: keyshare.MaxReservedSiteID}); !errors.Is(err, keyshare.ErrReservedSite) {
		t.Errorf("Latest for a reserved site: err = %v; want ErrReservedSite", err)
	}
}
