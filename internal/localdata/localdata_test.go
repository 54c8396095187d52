package localdata_test

import (
	"bytes"
	"context"
	"io/fs"
	"strconv"
	"strings"
	"testing"
	"testing/fstest"
	"time"

	"github.com/uid2-private-operator/uid2-operator/internal/identity"
	"github.com/uid2-private-operator/uid2-operator/internal/localdata"
	"github.com/uid2-private-operator/uid2-operator/internal/salts"
	"github.com/uid2-private-operator/uid2-operator/internal/store"
)

// TestEmbeddedMatchesGenerator guards reproducibility: the checked-in dataset
// is exactly what the generator writes. Run `go generate ./internal/localdata`
// after changing the generator.
func TestEmbeddedMatchesGenerator(t *testing.T) {
	files, err := localdata.Generate()
	if err != nil {
		t.Fatal(err)
	}
	again, err := localdata.Generate()
	if err != nil {
		t.Fatal(err)
	}
	emb := localdata.Embedded()
	var embedded []string
	fs.WalkDir(emb, ".", func(p string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			embedded = append(embedded, p)
		}
		return err
	})
	if len(embedded) != len(files) {
		t.Errorf("embedded has %d files, generator %d", len(embedded), len(files))
	}
	for name, want := range files {
		if !bytes.Equal(want, again[name]) {
			t.Errorf("%s: generator is not deterministic", name)
		}
		got, err := fs.ReadFile(emb, name)
		if err != nil || !bytes.Equal(got, want) {
			t.Errorf("%s: embedded copy differs from the generator (run go generate ./internal/localdata)", name)
		}
	}
}

func TestDatasetLoadsAndHasEveryRole(t *testing.T) {
	now := time.Date(2031, 5, 17, 13, 0, 0, 0, time.UTC) // years after generation
	fsys, err := localdata.Open(now)
	if err != nil {
		t.Fatal(err)
	}
	st := store.New(func() time.Time { return now })
	l := &store.Loader{Src: store.FSSource{FS: fsys}, Store: st, Now: func() time.Time { return now }, Paths: store.DatasetPaths()}
	if err := l.LoadAll(context.Background()); err != nil {
		t.Fatal(err)
	}
	snap := st.Load()
	creds, err := localdata.ReadCredentials()
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name  string
		cred  localdata.Credential
		roles store.Role
	}{
		{"all", creds.All, store.RoleGenerator | store.RoleMapper | store.RoleIDReader | store.RoleSharer | store.RoleOptout},
		{"generator", creds.Generator, store.RoleGenerator},
		{"mapper", creds.Mapper, store.RoleMapper},
		{"id_reader", creds.IDReader, store.RoleIDReader},
		{"sharer", creds.Sharer, store.RoleSharer},
		{"optout", creds.Optout, store.RoleOptout},
		{"non_sharing", creds.NonSharing, store.RoleSharer},
	} {
		c := snap.Clients.ByKey(tc.cred.APIKey)
		if c == nil || c.Roles != tc.roles || c.SiteID != tc.cred.SiteID {
			t.Errorf("%s: client %v; want roles %v site %d", tc.name, c, tc.roles.Names(), tc.cred.SiteID)
		}
	}
	nowSec := now.Unix()
	if _, err := snap.Keyring.MasterKey(nowSec); err != nil {
		t.Errorf("master key in 2031: %v", err)
	}
	if _, err := snap.Keyring.RefreshKey(nowSec); err != nil {
		t.Errorf("refresh key in 2031: %v", err)
	}
	if kp := snap.Keypairs.Get(creds.CSTG.SubscriptionID); kp == nil || kp.PublicKey != creds.CSTG.ServerPublicKey {
		t.Errorf("CSTG keypair %q missing or its public key differs", creds.CSTG.SubscriptionID)
	}

	// Re-based salts: the current snapshot is valid now, some buckets rotated
	// within 90 days of now, some did not, and refresh times are ahead.
	nowMs := now.UnixMilli()
	sn := snap.Salts.At(nowMs)
	if sn.Effective > nowMs || sn.Expires <= nowMs {
		t.Fatalf("salt snapshot [%d,%d) does not cover now %d", sn.Effective, sn.Expires, nowMs)
	}
	var recent, old, keyBuckets int
	for i := range sn.Table.Len() {
		e := sn.Table.Entry(i)
		if salts.PreviousApplies(e, nowMs) {
			recent++
		} else {
			old++
		}
		if e.CurrentSalt == "" {
			keyBuckets++
		}
		if e.RefreshFrom <= nowMs {
			t.Fatalf("bucket %d refreshFrom %d is not after now", i, e.RefreshFrom)
		}
	}
	if recent == 0 || old == 0 || keyBuckets == 0 {
		t.Errorf("buckets: %d rotated within 90 days, %d older, %d key-based; want some of each", recent, old, keyBuckets)
	}
}

func TestRebaseShiftsWholeDays(t *testing.T) {
	now := localdata.Generated.Add(10*24*time.Hour + 5*time.Hour)
	fsys, err := localdata.Open(now)
	if err != nil {
		t.Fatal(err)
	}
	orig, _ := fs.ReadFile(localdata.Embedded(), "salts/salts.txt")
	got, _ := fs.ReadFile(fsys, "salts/salts.txt")
	o := strings.Split(string(orig), "\n")[0]
	g := strings.Split(string(got), "\n")[0]
	oc, gc := strings.Split(o, ","), strings.Split(g, ",")
	for _, col := range []int{1, 3} {
		a, _ := strconv.ParseInt(oc[col], 10, 64)
		b, _ := strconv.ParseInt(gc[col], 10, 64)
		if b-a != 10*24*3600*1000 {
			t.Errorf("column %d shifted by %d ms; want 10 days", col, b-a)
		}
	}
	if oc[2] != gc[2] || oc[0] != gc[0] {
		t.Error("rebase changed a salt or an id")
	}
	// Before Generated, nothing moves.
	same, _ := localdata.Open(localdata.Generated.Add(-time.Hour))
	b, _ := fs.ReadFile(same, "salts/salts.txt")
	if !bytes.Equal(b, orig) {
		t.Error("rebase moved timestamps backwards")
	}
}

// TestMockOptOuts: the partition holds the e2e suite's mock opt-out under
// its first-level hash with the dataset's salt.
func TestMockOptOuts(t *testing.T) {
	recs, err := localdata.OptOuts(localdata.Embedded())
	if err != nil || len(recs) != len(localdata.MockOptOutEmails) {
		t.Fatalf("OptOuts = %d records, %v; want %d", len(recs), err, len(localdata.MockOptOutEmails))
	}
	md, _ := fs.ReadFile(localdata.Embedded(), localdata.SaltsMetadata)
	m, err := salts.ParseMetadata(md)
	if err != nil {
		t.Fatal(err)
	}
	h, _ := identity.EmailHash(localdata.MockOptOutEmails[0])
	if flh := identity.FirstLevelHash(h, m.FirstLevel); recs[0].FLH != flh || recs[0].Timestamp != localdata.Generated.Unix() || recs[0].AdIDLen == 0 {
		t.Errorf("record %+v; want the first-level hash of %s opted out at Generated", recs[0], localdata.MockOptOutEmails[0])
	}
	if none, err := localdata.OptOuts(fstest.MapFS{}); none != nil || err != nil {
		t.Errorf("OptOuts of a dataset without the file = %v, %v; want none", none, err)
	}
}

// TestLayoutMatchesStoreTable: the dataset layout constants are the
// paths the store table gives local mode and the stand-in Core.
func TestLayoutMatchesStoreTable(t *testing.T) {
	for part, want := range map[store.Part]string{
		store.PartClients: localdata.ClientsMetadata, store.PartKeysets: localdata.KeysetsMetadata,
		store.PartKeys: localdata.KeysMetadata, store.PartSalts: localdata.SaltsMetadata,
		store.PartSites: localdata.SitesMetadata, store.PartKeypairs: localdata.KeypairsMetadata,
		store.PartRuntime: localdata.RuntimeConfig,
	} {
		if spec, _ := store.Spec(part); spec.Dataset != want {
			t.Errorf("%s: table dataset path %q; localdata %q", part, spec.Dataset, want)
		}
	}
}
