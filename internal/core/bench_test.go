package core_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"io/fs"
	"math/rand/v2"
	"net/http/httptest"
	"runtime"
	"testing"
	"testing/fstest"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/uid2-private-operator/uid2-operator/internal/core"
	"github.com/uid2-private-operator/uid2-operator/internal/core/standin"
	"github.com/uid2-private-operator/uid2-operator/internal/localdata"
	"github.com/uid2-private-operator/uid2-operator/internal/optout"
	"github.com/uid2-private-operator/uid2-operator/internal/salts"
)

// Production-size dataset (issue "Core and Opt-Out integration").
const (
	prodBuckets = 1 << 20
	prodOptouts = 1_000_000
)

// prodDataset returns the embedded dataset with a 1,048,576-bucket salt file
// (half salt-based, half key-based, like production).
func prodDataset(tb testing.TB, now time.Time) fs.FS {
	tb.Helper()
	base, err := localdata.Open(now)
	if err != nil {
		tb.Fatal(err)
	}
	m := fstest.MapFS{}
	fs.WalkDir(base, ".", func(p string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			b, _ := fs.ReadFile(base, p)
			m[p] = &fstest.MapFile{Data: b}
		}
		return nil
	})
	rng := rand.New(rand.NewPCG(1, 2))
	salt := func() string {
		var b [32]byte
		for i := range b {
			b[i] = byte(rng.Uint32())
		}
		return base64.StdEncoding.EncodeToString(b[:])
	}
	alnum := "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
	keys := make([]salts.KeyMaterial, 300)
	for i := range keys {
		k := make([]byte, 32)
		for j := range k {
			k[j] = alnum[rng.IntN(len(alnum))]
		}
		keys[i] = salts.KeyMaterial{ID: int32(2_000_000 + i), Key: string(k), Salt: salt(), Valid: true}
	}
	ms := now.UnixMilli()
	entries := make([]salts.Entry, prodBuckets)
	for i := range entries {
		e := salts.Entry{ID: int64(1_000_000 + i), LastUpdated: ms - rng.Int64N(400*86_400_000), RefreshFrom: ms + rng.Int64N(30*86_400_000)}
		if i%2 == 0 {
			e.CurrentSalt = salt()
		} else {
			e.CurrentKey = keys[rng.IntN(len(keys))]
		}
		if i%3 == 0 {
			e.PreviousSalt = salt()
		}
		entries[i] = e
	}
	var buf bytes.Buffer
	if err := salts.WriteFile(&buf, entries); err != nil {
		tb.Fatal(err)
	}
	m["salts/salts.txt"] = &fstest.MapFile{Data: buf.Bytes()}
	var md map[string]any
	json.Unmarshal(m[localdata.SaltsMetadata].Data, &md)
	files := md["salts"].([]any)
	files[0].(map[string]any)["size"] = prodBuckets
	b, _ := json.Marshal(md)
	m[localdata.SaltsMetadata] = &fstest.MapFile{Data: b}
	return m
}

func prodOptOuts(n int) []optout.Record {
	rng := rand.New(rand.NewPCG(3, 4))
	recs := make([]optout.Record, n)
	for i := range recs {
		r := &recs[i]
		for j := 0; j < 32; j += 8 {
			v := rng.Uint64()
			for k := range 8 {
				r.FLH[j+k] = byte(v >> (8 * k))
				r.AdvertisingID[j+k+1] = byte(v >> (8 * (7 - k)))
			}
		}
		r.AdvertisingID[0] = 0x23
		r.AdIDLen = 33
		r.Timestamp = 1_700_000_000 + int64(i)
	}
	return recs
}

func heapInUse() uint64 {
	runtime.GC()
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return ms.HeapAlloc
}

// BenchmarkStartProductionSize measures a Core-mode start-up — attest, load
// every store including 1,048,576 salt buckets, sync 1,000,000 opt-out
// records — against the stand-in on 127.0.0.1. It reports the load time
// (ns/op) and the operator's retained heap (heap-MiB).
func BenchmarkStartProductionSize(b *testing.B) {
	now := time.Now()
	ds := prodDataset(b, now)
	key := standin.NewOperatorKey(standin.DefaultSiteID)
	s, err := standin.New(standin.Options{Dataset: ds, Operators: []standin.Operator{{Key: key, SiteID: standin.DefaultSiteID}}})
	if err != nil {
		b.Fatal(err)
	}
	s.ForTest.AddOptOuts(prodOptOuts(prodOptouts)...)
	srv := httptest.NewServer(s.Handler())
	defer srv.Close()
	c := &coreFixture{srv: srv, key: key, standin: s}
	var ops []*core.Operator
	b.ResetTimer()
	for range b.N {
		b.StopTimer()
		ops = nil
		before := heapInUse()
		cfg := c.config(false)
		cfg.Metrics = core.NewMetrics(prometheus.NewRegistry())
		o, err := core.New(cfg)
		if err != nil {
			b.Fatal(err)
		}
		b.StartTimer()
		if err := o.Start(context.Background()); err != nil {
			b.Fatal(err)
		}
		b.StopTimer()
		ops = append(ops, o)
		if n := o.OptOuts.Len(); n != prodOptouts {
			b.Fatalf("opt-outs indexed = %d; want %d", n, prodOptouts)
		}
		if n := o.Store.Load().Salts.At(now.UnixMilli()).Table.Len(); n != prodBuckets {
			b.Fatalf("salt buckets = %d; want %d", n, prodBuckets)
		}
		b.ReportMetric(float64(heapInUse()-before)/(1<<20), "heap-MiB")
		b.StartTimer()
	}
	runtime.KeepAlive(ops)
}
