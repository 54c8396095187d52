package store_test

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"io/fs"
	"strings"
	"sync"
	"testing"
	"testing/fstest"
	"time"

	"github.com/uid2-private-operator/uid2-operator/internal/store"
)

func TestHashKeyKAT(t *testing.T) {
	// K-1: SHT secret/KeyHasherTest.java.
	got := store.HashKey("test-key", []byte("test-salt"))
	want := "hzXFALLdI9ji4ajnzhWdbEQNci+kAoA40Ie6X7bEyjIvMFbhQfYZC1sTPeK+14QM+Ox2a6wJ0U2fLzqnoUgCbQ=="
	if got != want {
		t.Fatalf("HashKey = %s; want %s", got, want)
	}
}

func clientJSON(key, salt string, site int, roles string, disabled bool) string {
	return fmt.Sprintf(`{"key_hash":%q,"key_salt":%q,"secret":%q,"name":"n","contact":"c","created":1,"roles":[%s],"site_id":%d,"disabled":%v,"key_id":"k"}`,
		store.HashKey(key, []byte(salt)), base64.StdEncoding.EncodeToString([]byte(salt)),
		base64.StdEncoding.EncodeToString(make([]byte, 32)), roles, site, disabled)
}

func TestClientsByKey(t *testing.T) {
	keyA := "UID2-C-L-11-abcdef.abcdefabcdefabcdefabcdefabcdefabcdefab"
	keyLegacy := "LOCALlegacykeywithoutsite"
	file := "[" + strings.Join([]string{
		clientJSON(keyA, "salt-a", 11, `"GENERATOR","mapper","SOMETHING_ELSE"`, false),
		clientJSON(keyLegacy, "salt-b", 12, `"ID_READER"`, true),
	}, ",") + "]"
	list, err := store.ParseClients([]byte(file))
	if err != nil {
		t.Fatal(err)
	}
	c := store.NewClients(1, list)
	tests := []struct {
		key      string
		wantSite int32
		wantNil  bool
	}{
		{keyA, 11, false},
		{keyA, 11, false}, // cached
		{keyLegacy, 12, false},
		{"UID2-C-L-12-abcdef.abcdefabcdefabcdefabcdefabcdefabcdefab", 0, true}, // narrowed to site 12: no match
		{keyA + "x", 0, true},
		{"", 0, true},
		{strings.Repeat("k", 10000), 0, true},
	}
	for _, tc := range tests {
		got := c.ByKey(tc.key)
		if (got == nil) != tc.wantNil || (got != nil && got.SiteID != tc.wantSite) {
			t.Errorf("ByKey(%.20q) = %v; want site %d nil=%v", tc.key, got, tc.wantSite, tc.wantNil)
		}
	}
	if r := c.ByKey(keyA).Roles; !r.Has(store.RoleGenerator) || !r.Has(store.RoleMapper) || r.Has(store.RoleIDReader) {
		t.Errorf("roles = %v", r.Names())
	}
	if !c.ByKey(keyLegacy).Disabled {
		t.Error("disabled flag lost")
	}
}

func TestParseErrorsNameTheField(t *testing.T) {
	tests := []struct {
		name  string
		parse func() error
		want  string
	}{
		{"client secret", func() error {
			_, err := store.ParseClients([]byte(`[{"key_hash":"` + base64.StdEncoding.EncodeToString(make([]byte, 64)) + `","key_salt":"","secret":"short"}]`))
			return err
		}, "clients[0].secret"},
		{"client missing", func() error { _, err := store.ParseClients([]byte(`[{}]`)); return err }, "clients[0]"},
		{"keyset", func() error { _, err := store.ParseKeysets([]byte(`[{"keyset_id":1}]`)); return err }, "keysets[0]"},
		{"keyset type", func() error { _, err := store.ParseKeysets([]byte(`[{"keyset_id":"x"}]`)); return err }, "keysets"},
		{"key secret", func() error {
			_, err := store.ParseKeysetKeys([]byte(`[{"id":1,"keyset_id":1,"created":1,"activates":1,"expires":2,"secret":"AAAA"}]`))
			return err
		}, "keyset_keys[0].secret"},
		{"runtime env", func() error {
			_, err := store.ParseRuntimeConfig([]byte(`{"version":1,"runtime_config":{"identity_token_expires_after_seconds":10,"refresh_token_expires_after_seconds":20,"refresh_identity_token_after_seconds":5,"sharing_token_expiry_seconds":5,"identity_environment":"staging"}}`))
			return err
		}, "identity_environment"},
		{"runtime order", func() error {
			_, err := store.ParseRuntimeConfig([]byte(`{"version":1,"runtime_config":{"identity_token_expires_after_seconds":30,"refresh_token_expires_after_seconds":20,"refresh_identity_token_after_seconds":5,"sharing_token_expiry_seconds":5,"identity_environment":"test"}}`))
			return err
		}, "refresh_token_expires_after_seconds"},
		{"metadata location", func() error {
			_, err := store.ParseMetadata([]byte(`{"version":1,"keysets":{}}`), store.KeyKeysets)
			return err
		}, "keysets.location"},
		{"metadata version", func() error {
			_, err := store.ParseMetadata([]byte(`{"keysets":{"location":"x"}}`), store.KeyKeysets)
			return err
		}, "version"},
		{"keypair", func() error {
			_, err := store.ParseClientSideKeypairs([]byte(`[{"subscription_id":"s","public_key":"p","private_key":"UID2-Y-L-AAAA","site_id":1}]`))
			return err
		}, "client_side_keypairs[0].private_key"},
	}
	for _, tc := range tests {
		err := tc.parse()
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: err = %v; want mention of %q", tc.name, err, tc.want)
		}
	}
}

func keyring(t *testing.T, keysets, keys string) *store.Keyring {
	t.Helper()
	ks, err := store.ParseKeysets([]byte(keysets))
	if err != nil {
		t.Fatal(err)
	}
	kk, err := store.ParseKeysetKeys([]byte(keys))
	if err != nil {
		t.Fatal(err)
	}
	return store.NewKeyring(store.NewKeysets(1, ks), store.NewKeysetKeys(1, kk))
}

func key(id, keyset int, activates, expires int64) string {
	return fmt.Sprintf(`{"id":%d,"keyset_id":%d,"created":0,"activates":%d,"expires":%d,"secret":"%s"}`,
		id, keyset, activates, expires, base64.StdEncoding.EncodeToString(make([]byte, 32)))
}

func TestKeySelection(t *testing.T) {
	keysets := `[
	 {"keyset_id":-1,"site_id":-1,"name":"m","allowed_sites":null,"created":0,"enabled":true,"default":true},
	 {"keyset_id":-2,"site_id":-2,"name":"r","allowed_sites":null,"created":0,"enabled":true,"default":true},
	 {"keyset_id":2,"site_id":2,"name":"f","allowed_sites":null,"created":0,"enabled":true,"default":true},
	 {"keyset_id":10,"site_id":100,"name":"a","allowed_sites":[],"created":0,"enabled":true,"default":true},
	 {"keyset_id":11,"site_id":101,"name":"b","allowed_sites":null,"created":0,"enabled":false,"default":true},
	 {"keyset_id":12,"site_id":102,"name":"c","allowed_sites":null,"created":0,"enabled":true,"default":true},
	 {"keyset_id":13,"site_id":102,"name":"d","allowed_sites":null,"created":0,"enabled":true,"default":true}]`
	keys := "[" + strings.Join([]string{
		key(1, -1, 100, 1000), key(2, -1, 500, 2000), key(3, -1, 900, 950),
		key(4, -2, 100, 1000), key(5, 2, 100, 1000), key(6, 10, 100, 300), key(7, 11, 100, 1000),
	}, ",") + "]"
	r := keyring(t, keysets, keys)
	for _, tc := range []struct {
		name   string
		get    func() (*store.KeysetKey, error)
		wantID int32
		err    error
	}{
		{"master before second", func() (*store.KeysetKey, error) { return r.MasterKey(499) }, 1, nil},
		{"master latest", func() (*store.KeysetKey, error) { return r.MasterKey(920) }, 3, nil},
		{"master steps back past expired", func() (*store.KeysetKey, error) { return r.MasterKey(960) }, 2, nil},
		{"master expires exactly", func() (*store.KeysetKey, error) { return r.MasterKey(2000) }, 0, store.ErrNoActiveKey},
		{"master not yet active", func() (*store.KeysetKey, error) { return r.MasterKey(99) }, 0, store.ErrNoActiveKey},
		{"refresh", func() (*store.KeysetKey, error) { return r.RefreshKey(200) }, 4, nil},
		{"site key", func() (*store.KeysetKey, error) { return r.SiteKey(100, 200) }, 6, nil},
		{"site key expired falls back", func() (*store.KeysetKey, error) { return r.SiteKey(100, 400) }, 5, nil},
		{"disabled keyset falls back", func() (*store.KeysetKey, error) { return r.SiteKey(101, 200) }, 5, nil},
		{"no keyset falls back", func() (*store.KeysetKey, error) { return r.SiteKey(555, 200) }, 5, nil},
		{"two defaults", func() (*store.KeysetKey, error) { return r.SiteKey(102, 200) }, 0, store.ErrMultipleDefaultKeysets},
	} {
		k, err := tc.get()
		if !errors.Is(err, tc.err) || (err == nil && k.ID != tc.wantID) {
			t.Errorf("%s: got %v, %v; want key %d, %v", tc.name, k, err, tc.wantID, tc.err)
		}
	}
	var ids []int32
	for _, k := range r.Universe() {
		ids = append(ids, k.ID)
	}
	if fmt.Sprint(ids) != "[1 2 3 5 6 7]" {
		t.Errorf("universe = %v; want all but the refresh keyset, sorted", ids)
	}
	if _, ok := r.TokenKey(4); !ok {
		t.Error("TokenKey must find refresh keys by id")
	}
}

// dataset is a minimal Core-format dataset in memory.
func dataset(version int, clientsFile string) fstest.MapFS {
	md := func(key, loc string) *fstest.MapFile {
		return &fstest.MapFile{Data: []byte(fmt.Sprintf(`{"version":%d,"generated":1,%q:{"location":%q}}`, version, key, loc))}
	}
	return fstest.MapFS{
		"clients/metadata.json": md("client_keys", "clients/clients.json"),
		"clients/clients.json":  {Data: []byte(clientsFile)},
		"keysets/metadata.json": md("keysets", "keysets/keysets.json"),
		"keysets/keysets.json":  {Data: []byte(`[{"keyset_id":-1,"site_id":-1,"name":"m","allowed_sites":null,"created":0,"enabled":true,"default":true}]`)},
		"keys/metadata.json":    md("keyset_keys", "keys/keys.json"),
		"keys/keys.json":        {Data: []byte("[" + key(1, -1, 0, 4000000000) + "]")},
		"rc.json":               {Data: []byte(fmt.Sprintf(`{"version":%d,"runtime_config":{"identity_token_expires_after_seconds":10,"refresh_token_expires_after_seconds":20,"refresh_identity_token_after_seconds":5,"sharing_token_expiry_seconds":5,"identity_environment":"test"}}`, version))},
		"salts/metadata.json":   {Data: []byte(fmt.Sprintf(`{"version":%d,"generated":1,"first_level":"fl","id_prefix":"a","id_secret":"s","salts":[{"effective":1,"location":"salts/s.txt","size":2}]}`, version))},
		"salts/s.txt":           {Data: []byte("1,1,saltA,2,,,,,,,\n2,1,saltB,2,,,,,,,\n")},
	}
}

func paths() store.Paths {
	return store.Paths{store.PartClients: "clients/metadata.json", store.PartKeysets: "keysets/metadata.json", store.PartKeys: "keys/metadata.json",
		store.PartSalts: "salts/metadata.json", store.PartRuntime: "rc.json"}
}

func TestLoaderVersionGatingAndFailures(t *testing.T) {
	ctx := context.Background()
	st := store.New(nil)
	fsys := dataset(1, "["+clientJSON("k1", "s", 5, `"GENERATOR"`, false)+"]")
	l := &store.Loader{Src: store.FSSource{FS: fsys}, Store: st, Paths: paths()}
	if err := l.LoadAll(ctx); err != nil {
		t.Fatal(err)
	}
	snap := st.Load()
	if !snap.Complete() || snap.Clients.ByKey("k1") == nil {
		t.Fatalf("first load incomplete: %+v", snap)
	}
	// Same version, new content: not reloaded.
	fsys["clients/clients.json"] = &fstest.MapFile{Data: []byte("[" + clientJSON("k2", "s", 5, `"GENERATOR"`, false) + "]")}
	if changed, err := l.Load(ctx, store.PartClients); err != nil || changed {
		t.Fatalf("same version: changed=%v err=%v", changed, err)
	}
	// Corrupt content with a higher version: rejected, old snapshot stays.
	fsys["clients/metadata.json"] = &fstest.MapFile{Data: []byte(`{"version":2,"client_keys":{"location":"clients/clients.json"}}`)}
	fsys["clients/clients.json"] = &fstest.MapFile{Data: []byte(`[{"key_hash":`)}
	if _, err := l.Load(ctx, store.PartClients); err == nil {
		t.Fatal("corrupt clients file accepted")
	}
	if st.Load().Clients.ByKey("k1") == nil || st.Load() != snap {
		t.Fatal("a failed load replaced the snapshot")
	}
	// Fixed content: reloaded, other parts shared.
	fsys["clients/clients.json"] = &fstest.MapFile{Data: []byte("[" + clientJSON("k2", "s", 5, `"GENERATOR"`, false) + "]")}
	if changed, err := l.Load(ctx, store.PartClients); err != nil || !changed {
		t.Fatalf("version 2: changed=%v err=%v", changed, err)
	}
	next := st.Load()
	if next.Clients.ByKey("k2") == nil || next.Clients.ByKey("k1") != nil || next.Salts != snap.Salts {
		t.Fatal("reload did not swap clients only")
	}
	// Truncated salt file is rejected.
	fsys["salts/metadata.json"] = &fstest.MapFile{Data: []byte(`{"version":9,"first_level":"fl","id_prefix":"a","id_secret":"s","salts":[{"effective":1,"location":"salts/s.txt","size":3}]}`)}
	if _, err := l.Load(ctx, store.PartSalts); err == nil {
		t.Fatal("truncated salt file accepted")
	}
	if st.Load().Salts != snap.Salts {
		t.Fatal("salts replaced after a failed load")
	}
	// A missing file is an error, not an empty store.
	delete(fsys, "keys/keys.json")
	fsys["keys/metadata.json"] = &fstest.MapFile{Data: []byte(`{"version":5,"keyset_keys":{"location":"keys/keys.json"}}`)}
	if _, err := l.Load(ctx, store.PartKeys); !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("missing file: err = %v", err)
	}
}

func TestSnapshotSwapRace(t *testing.T) {
	st := store.New(func() time.Time { return time.Unix(1, 0) })
	var wg sync.WaitGroup
	for i := range 4 {
		wg.Add(2)
		go func() {
			defer wg.Done()
			for j := range 200 {
				st.SetClients(store.NewClients(int64(i*1000+j), nil))
			}
		}()
		go func() {
			defer wg.Done()
			for range 200 {
				s := st.Load()
				_ = s.Clients
				_ = s.Loaded[store.PartClients]
			}
		}()
	}
	wg.Wait()
	if st.Load().Clients == nil {
		t.Fatal("no clients after concurrent sets")
	}
}

func TestFSSourceRejectsEscapes(t *testing.T) {
	src := store.FSSource{FS: fstest.MapFS{"a.json": {Data: []byte("{}")}}}
	if _, err := src.Fetch(context.Background(), "/a.json"); err != nil {
		t.Fatalf("leading slash: %v", err)
	}
	if _, err := src.Fetch(context.Background(), "../etc/passwd"); err == nil {
		t.Fatal("path escaping the dataset accepted")
	}
}
