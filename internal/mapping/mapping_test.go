package mapping_test

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/uid2-private-operator/uid2-operator/internal/identity"
	"github.com/uid2-private-operator/uid2-operator/internal/jsonscan"
	"github.com/uid2-private-operator/uid2-operator/internal/localdata"
	"github.com/uid2-private-operator/uid2-operator/internal/mapping"
	"github.com/uid2-private-operator/uid2-operator/internal/optout"
	"github.com/uid2-private-operator/uid2-operator/internal/salts"
	"github.com/uid2-private-operator/uid2-operator/internal/store"
)

// snapshot loads the embedded local dataset, rebased to now.
func snapshot(t testing.TB, now time.Time) *store.Snapshot {
	t.Helper()
	fsys, err := localdata.Open(now)
	if err != nil {
		t.Fatal(err)
	}
	st := store.New(nil)
	loader := &store.Loader{Src: store.FSSource{FS: fsys}, Store: st, Paths: store.DatasetPaths()}
	if err := loader.LoadAll(context.Background()); err != nil {
		t.Fatal(err)
	}
	return st.Load()
}

// wantUID derives the current raw UID v2 of an email from the primitives,
// independently of the engine.
func wantUID(t *testing.T, snap *store.Snapshot, email string, nowMs int64) (raw identity.RawUID, e salts.Entry) {
	t.Helper()
	h, ok := identity.EmailHash(email)
	if !ok {
		t.Fatalf("bad email %q", email)
	}
	flh := identity.FirstLevelHash(h, snap.Salts.FirstLevel())
	table := snap.Salts.At(nowMs).Table
	e = table.Entry(identity.BucketIndex(&flh, table.Len()))
	if e.CurrentSalt == "" {
		t.Skip("the dataset's bucket has no salt")
	}
	return identity.RawUIDv2(&flh, e.CurrentSalt), e
}

func elements(t *testing.T, arr string) jsonscan.Value {
	t.Helper()
	var v jsonscan.Value
	if err := jsonscan.Members([]byte(`{"a":`+arr+`}`), func(_ []byte, x jsonscan.Value) bool { v = x; return true }); err != nil {
		t.Fatal(err)
	}
	return v
}

func TestAppendV2(t *testing.T) {
	now := time.Now()
	snap := snapshot(t, now)
	cfg := &mapping.Config{Scope: identity.ScopeUID2, OptOuts: optout.NewPolicy(nil)}
	m := mapping.New(cfg, snap, now.UnixMilli())
	raw, e := wantUID(t, snap, "user@example.com", now.UnixMilli())

	out, err := m.AppendV2([]byte("{"), identity.KindEmail,
		elements(t, `["User@Example.com","not an email","optout@example.com"]`).Raw)
	if err != nil {
		t.Fatal(err)
	}
	want := `{"mapped":[{"identifier":"User@Example.com","advertising_id":"` + string(raw.AppendBase64(nil)) +
		`","bucket_id":"` + snap.Salts.BucketID(e.ID) + `"}],"unmapped":[` +
		`{"identifier":"not an email","reason":"invalid identifier"},` +
		`{"identifier":"optout@example.com","reason":"optout"}]`
	if string(out) != want {
		t.Errorf("AppendV2 =\n%s\nwant\n%s", out, want)
	}
	c := m.Counts()
	if c.PerKind[identity.KindEmail-1] != 3 || c.Mapped != 1 || c.Invalid != 1 || c.OptedOut != 1 || c.UIDs[mapping.UIDv2] != 1 {
		t.Errorf("Counts = %+v", *c)
	}
}

func TestAppendV3(t *testing.T) {
	now := time.Now()
	snap := snapshot(t, now)
	cfg := &mapping.Config{Scope: identity.ScopeUID2, OptOuts: optout.NewPolicy(nil)}
	raw, e := wantUID(t, snap, "user@example.com", now.UnixMilli())

	var arrays [4]jsonscan.Value
	arrays[identity.KindEmail-1] = elements(t, `["user@example.com","x"]`)
	arrays[identity.KindPhone-1] = elements(t, `null`)
	out, err := mapping.New(cfg, snap, now.UnixMilli()).AppendV3(nil, &arrays)
	if err != nil {
		t.Fatal(err)
	}
	var body map[string][]map[string]any
	if err := json.Unmarshal([]byte("{"+string(out)+"}"), &body); err != nil {
		t.Fatalf("AppendV3 = %s: %v", out, err)
	}
	if !strings.HasPrefix(string(out), `"email_hash":[],"phone":[],"phone_hash":[],"email":[`) {
		t.Errorf("AppendV3 = %s; want the reference's key order", out)
	}
	got := body["email"]
	if len(got) != 2 || got[0]["u"] != string(raw.AppendBase64(nil)) || got[1]["e"] != "invalid identifier" {
		t.Fatalf("email answers = %v", got)
	}
	if r := int64(got[0]["r"].(float64)); r != salts.RefreshFrom(e, now.UnixMilli())/1000 {
		t.Errorf("r = %d; want %d", r, salts.RefreshFrom(e, now.UnixMilli())/1000)
	}
	if _, has := got[0]["p"]; !has {
		t.Errorf("no p in %v", got[0])
	}

	arrays[identity.KindPhone-1] = elements(t, `[["+12345678901"]]`)
	if _, err := mapping.New(cfg, snap, now.UnixMilli()).AppendV3(nil, &arrays); !errors.Is(err, mapping.ErrIncorrectFormat) {
		t.Errorf("AppendV3 with a nested array: err = %v; want ErrIncorrectFormat", err)
	}
}

func TestRawUIDMatchesEngine(t *testing.T) {
	now := time.Now()
	snap := snapshot(t, now)
	for _, v3 := range []bool{false, true} {
		cfg := &mapping.Config{Scope: identity.ScopeEUID, IdentityV3: v3, OptOuts: optout.NewPolicy(nil)}
		h, _ := identity.EmailHash("someone@example.com")
		flh := identity.FirstLevelHash(h, snap.Salts.FirstLevel())
		raw, version, err := cfg.RawUID(snap, &flh, identity.TypeEmail, now.UnixMilli())
		if err != nil {
			t.Fatal(err)
		}
		m := mapping.New(cfg, snap, now.UnixMilli())
		var arrays [4]jsonscan.Value
		arrays[identity.KindEmail-1] = elements(t, `["someone@example.com"]`)
		out, err := m.AppendV3(nil, &arrays)
		if err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(string(out), `{"u":"`+string(raw.AppendBase64(nil))+`"`) {
			t.Errorf("v3=%v: RawUID %x not in the engine's answer %s", v3, raw.Bytes(), out)
		}
		if m.Counts().UIDs[version] == 0 {
			t.Errorf("v3=%v: RawUID version %d, engine counts %v", v3, version, m.Counts().UIDs)
		}
	}
}

func TestAppendBuckets(t *testing.T) {
	now := time.Now()
	snap := snapshot(t, now)
	nowMs := now.UnixMilli()
	if got := string(mapping.AppendBuckets([]byte("x"), snap, nowMs, nowMs+1e12)); got != "x[]" {
		t.Errorf("AppendBuckets(future) = %s; want x[]", got)
	}
	var all []struct {
		BucketID    string `json:"bucket_id"`
		LastUpdated string `json:"last_updated"`
	}
	out := mapping.AppendBuckets(nil, snap, nowMs, -1<<62)
	if err := json.Unmarshal(out, &all); err != nil {
		t.Fatalf("AppendBuckets = %.200s: %v", out, err)
	}
	table := snap.Salts.At(nowMs).Table
	if len(all) != table.Len() {
		t.Fatalf("AppendBuckets(all) has %d buckets; want %d", len(all), table.Len())
	}
	e := table.Entry(0)
	want := time.UnixMilli(e.LastUpdated).UTC().Format("2006-01-02T15:04:05.000")
	if all[0].BucketID != snap.Salts.BucketID(e.ID) || all[0].LastUpdated != want {
		t.Errorf("first bucket = %+v; want %s at %s", all[0], snap.Salts.BucketID(e.ID), want)
	}
}
