package optout_test

import (
	"encoding/base64"
	"errors"
	"testing"

	"github.com/uid2-private-operator/uid2-operator/internal/optout"
)

func rec(flh byte, ad byte, n uint8, ts int64) optout.Record {
	r := optout.Record{AdIDLen: n, Timestamp: ts}
	for i := range r.FLH {
		r.FLH[i] = flh
	}
	for i := range r.AdvertisingID[:n] {
		r.AdvertisingID[i] = ad
	}
	if n == 33 {
		r.AdvertisingID[0] = 0x20 // v4 metadata byte fits in 6 bits
	}
	return r
}

func TestRecordRoundTripAndSentinels(t *testing.T) {
	recs := []optout.Record{rec(1, 0xAA, 32, 1700000000), rec(2, 0xBB, 33, 1<<55-1)}
	var file []byte
	file = optout.AppendSentinel(file, false, 1699999000)
	for i := range recs {
		file = optout.AppendRecord(file, &recs[i])
	}
	file = optout.AppendSentinel(file, true, 1700000300)
	if len(file) != 4*optout.RecordSize {
		t.Fatalf("file length %d", len(file))
	}
	got, err := optout.ParseFile(nil, file)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 || got[0] != recs[0] || got[1] != recs[1] {
		t.Fatalf("ParseFile = %+v; want %+v", got, recs)
	}
	if _, err := optout.ParseFile(nil, file[:100]); !errors.Is(err, optout.ErrFileSize) {
		t.Errorf("truncated file: err = %v", err)
	}
	bad := append([]byte(nil), file[72:144]...)
	bad[71] = 0x80
	if _, err := optout.ParseFile(nil, bad); !errors.Is(err, optout.ErrRecordVersion) {
		t.Errorf("version 2 record: err = %v", err)
	}
}

func TestIndexAndStore(t *testing.T) {
	recs := []optout.Record{rec(3, 0x11, 32, 300), rec(1, 0x22, 32, 100), rec(3, 0x11, 32, 50), rec(2, 0x33, 33, 200)}
	ix := optout.NewIndex(recs)
	if ix.Len() != 3 {
		t.Fatalf("Len = %d; want 3 distinct hashes", ix.Len())
	}
	h3 := rec(3, 0, 32, 0).FLH
	if ts, ok := ix.Timestamp(&h3); !ok || ts != 300 {
		t.Errorf("Timestamp(3) = %d %v; want latest 300", ts, ok)
	}
	ad := rec(3, 0x11, 32, 0)
	b64 := base64.StdEncoding.EncodeToString(ad.AdID())
	if ts, ok := ix.AdvertisingIDTimestamp(b64); !ok || ts != 50 {
		t.Errorf("AdvertisingIDTimestamp = %d %v; want earliest 50", ts, ok)
	}
	ad33 := rec(2, 0x33, 33, 0)
	if _, ok := ix.AdvertisingIDTimestamp(base64.StdEncoding.EncodeToString(ad33.AdID())); !ok {
		t.Error("33-byte advertising id not found")
	}
	// Non-canonical spellings never match (§2.8).
	for _, s := range []string{b64[:43], base64.URLEncoding.EncodeToString(ad.AdID()) + "x", b64 + " "} {
		if _, ok := ix.AdvertisingIDTimestamp(s); ok {
			t.Errorf("AdvertisingIDTimestamp(%q) matched", s)
		}
	}

	s := optout.NewStore()
	h9 := rec(9, 0, 32, 0).FLH
	if s.OptedOut(&h3) || s.Synced() {
		t.Fatal("empty store reports opt-outs")
	}
	s.Add(rec(9, 0x99, 32, 900))
	if !s.OptedOut(&h9) {
		t.Fatal("local logout not visible at once")
	}
	s.Replace(ix)
	if !s.OptedOut(&h3) || !s.OptedOut(&h9) || !s.Synced() {
		t.Fatal("replace lost synced or pending opt-outs")
	}
	s.Replace(optout.NewIndex([]optout.Record{rec(9, 0x99, 32, 900)}))
	if s.OptedOut(&h3) || !s.OptedOut(&h9) {
		t.Fatal("second replace wrong")
	}
}

func FuzzParseFile(f *testing.F) {
	r := rec(1, 2, 33, 3)
	f.Add(optout.AppendRecord(nil, &r))
	f.Add(optout.AppendSentinel(nil, true, 5))
	f.Add(make([]byte, 71))
	f.Fuzz(func(t *testing.T, b []byte) {
		recs, err := optout.ParseFile(nil, b)
		if err != nil {
			return
		}
		var out []byte
		for i := range recs {
			out = optout.AppendRecord(out, &recs[i])
		}
		again, err := optout.ParseFile(nil, out)
		if err != nil || len(again) != len(recs) {
			t.Fatalf("round trip: %v", err)
		}
		for i := range again {
			if again[i] != recs[i] {
				t.Fatalf("record %d changed in round trip", i)
			}
		}
	})
}
