package store_test

import (
	"context"
	"testing"
	"testing/fstest"

	"github.com/uid2-private-operator/uid2-operator/internal/store"
)

// TestPartsTable checks that every row of the table is complete: the
// loader, Core mode, local mode, config and the stand-in all read it.
func TestPartsTable(t *testing.T) {
	seen := map[store.Part]bool{}
	for _, p := range store.Parts() {
		if seen[p.Part] {
			t.Errorf("%s: listed twice", p.Part)
		}
		seen[p.Part] = true
		if p.CorePath == "" || p.CorePath[0] != '/' || p.Dataset == "" || p.PathKey == "" || p.RefreshKey == "" || p.Name == "" {
			t.Errorf("%s: incomplete row %+v", p.Part, p)
		}
		if (p.Format == store.FormatLocated) != (p.MetadataKey != "") {
			t.Errorf("%s: format %d with metadata key %q", p.Part, p.Format, p.MetadataKey)
		}
		if got, ok := store.Spec(p.Part); !ok || got.Part != p.Part {
			t.Errorf("Spec(%s) = %v, %v", p.Part, got.Part, ok)
		}
	}
	for _, p := range []store.Part{store.PartClients, store.PartKeysets, store.PartKeys, store.PartSalts, store.PartSites,
		store.PartKeypairs, store.PartRuntime, store.PartServices, store.PartServiceLinks} {
		if !seen[p] {
			t.Errorf("%s: not in the table", p)
		}
	}
	if _, ok := store.Spec("nope"); ok {
		t.Error(`Spec("nope") found a row`)
	}
}

func TestPathsFromTable(t *testing.T) {
	local := store.DatasetPaths()
	if local[store.PartClients] != "clients/metadata.json" || local[store.PartRuntime] != "runtime_config/metadata.json" {
		t.Errorf("DatasetPaths() = %v", local)
	}
	if _, ok := local[store.PartServices]; ok {
		t.Errorf("DatasetPaths() has the Core-only services: %v", local)
	}
	if got := store.DatasetPaths(store.PartSalts); len(got) != 1 || got[store.PartSalts] != "salts/metadata.json" {
		t.Errorf("DatasetPaths(salt) = %v", got)
	}
	core := store.CorePaths("https://core.example/")
	if len(core) != len(store.Parts()) || core[store.PartKeys] != "https://core.example/key/keyset-keys/refresh" ||
		core[store.PartRuntime] != "https://core.example/operator/config" {
		t.Errorf("CorePaths() = %v", core)
	}
}

// TestLoaderUnknownPart: a part outside the table is an error, not a panic.
func TestLoaderUnknownPart(t *testing.T) {
	l := &store.Loader{Src: store.FSSource{FS: fstest.MapFS{}}, Store: store.New(nil), Paths: store.Paths{"nope": "x"}}
	if _, err := l.Load(context.Background(), "nope"); err == nil || err.Error() != `unknown store part "nope"` {
		t.Errorf("Load(nope) = %v", err)
	}
	if got := l.Parts(); len(got) != 0 {
		t.Errorf("Parts() = %v; want none (nope is not in the table)", got)
	}
}

func TestEntryCounts(t *testing.T) {
	st := store.New(nil)
	st.SetClients(store.NewClients(1, []store.Client{{KeyID: "a", SiteID: 1}, {KeyID: "b", SiteID: 2}}))
	st.SetSites(store.NewSites(1, nil))
	got := map[store.Part]int{}
	st.Load().EntryCounts(func(p store.Part, n int) { got[p] = n })
	if len(got) != 2 || got[store.PartClients] != 2 || got[store.PartSites] != 0 {
		t.Errorf("EntryCounts = %v; want auth 2, site 0", got)
	}
}
