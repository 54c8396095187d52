package salts_test

import (
	"bytes"
	"encoding/base64"
	"math/rand/v2"
	"runtime"
	"testing"

	"github.com/uid2-private-operator/uid2-operator/internal/salts"
)

// genEntries makes n realistic buckets: 44-character base64 salts, about half
// of the buckets key-based, with key material drawn from a few hundred shared
// key ids, previous salts or keys on some buckets.
func genEntries(n int, seed uint64) []salts.Entry {
	rng := rand.New(rand.NewPCG(seed, seed^0x5eed))
	const nKeys = 300
	alnum := "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
	keys := make([]salts.KeyMaterial, nKeys)
	for i := range keys {
		k := make([]byte, 32)
		for j := range k {
			k[j] = alnum[rng.IntN(len(alnum))]
		}
		keys[i] = salts.KeyMaterial{ID: int32(1_000_000 + i), Key: string(k), Salt: randSalt(rng), Valid: true}
	}
	const now = 1_750_000_000_000
	out := make([]salts.Entry, n)
	for i := range out {
		e := salts.Entry{
			ID:          int64(1_000_000 + i),
			LastUpdated: now - rng.Int64N(400*86_400_000),
			RefreshFrom: now + rng.Int64N(30*86_400_000),
		}
		if rng.IntN(2) == 0 {
			e.CurrentSalt = randSalt(rng)
		} else {
			e.CurrentKey = keys[rng.IntN(nKeys)]
		}
		switch rng.IntN(3) {
		case 0:
			e.PreviousSalt = randSalt(rng)
		case 1:
			e.PreviousKey = keys[rng.IntN(nKeys)]
		}
		out[i] = e
	}
	return out
}

func randSalt(rng *rand.Rand) string {
	var b [32]byte
	for i := range b {
		b[i] = byte(rng.Uint32())
	}
	return base64.StdEncoding.EncodeToString(b[:])
}

func genFile(tb testing.TB, n int) []byte {
	var buf bytes.Buffer
	if err := salts.WriteFile(&buf, genEntries(n, 42)); err != nil {
		tb.Fatal(err)
	}
	return buf.Bytes()
}

const oneMillion = 1 << 20

func heapMiB() float64 {
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return float64(ms.HeapAlloc) / (1 << 20)
}

// BenchmarkParseFile1M loads a production-sized salt file and reports the heap
// the resulting table keeps.
func BenchmarkParseFile1M(b *testing.B) {
	file := genFile(b, oneMillion)
	b.Run("bytes", func(b *testing.B) {
		benchParse(b, file, func() (*salts.Table, error) { return salts.ParseFileBytes(file, oneMillion) })
	})
	b.Run("reader", func(b *testing.B) {
		benchParse(b, file, func() (*salts.Table, error) { return salts.ParseFile(bytes.NewReader(file), oneMillion) })
	})
}

func benchParse(b *testing.B, file []byte, parse func() (*salts.Table, error)) {
	b.SetBytes(int64(len(file)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := parse(); err != nil {
			b.Fatal(err)
		}
	}
	b.StopTimer()
	// Heap kept by one table, measured outside the timed loop.
	before := heapMiB()
	t, _ := parse()
	b.ReportMetric(heapMiB()-before, "heap-MiB")
	b.ReportMetric(float64(t.KeyMaterialCount()), "keys")
	runtime.KeepAlive(t)
}

func BenchmarkEntry(b *testing.B) {
	t, err := salts.ParseFileBytes(genFile(b, 1<<16), 1<<16)
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	var sink int
	i := 0
	for b.Loop() {
		e := t.Entry(i & (1<<16 - 1))
		sink += len(e.CurrentSalt) + len(e.CurrentKey.Key)
		i += 7919
	}
	_ = sink
}

func BenchmarkModifiedSince1M(b *testing.B) {
	t, err := salts.ParseFileBytes(genFile(b, oneMillion), oneMillion)
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		n := 0
		t.ModifiedSince(1_749_000_000_000, func(int, salts.Entry) { n++ })
	}
}
