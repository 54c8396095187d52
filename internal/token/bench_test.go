package token_test

import (
	"testing"

	"github.com/uid2-private-operator/uid2-operator/internal/identity"
	"github.com/uid2-private-operator/uid2-operator/internal/token"
)

// Benchmarks use crypto/rand (rand nil), as the operator does. "cached" uses
// keys from NewKey and a reused buffer; "literal" uses Key{ID, Secret}, which
// builds the AES-GCM ciphers on every call.

func literal(k token.Key) token.Key { return token.Key{ID: k.ID, Secret: k.Secret} }

func BenchmarkAppendAdvertisingV4(b *testing.B) {
	k := newTestKeys(b)
	in := sampleAdvertising(0, 0, 32)
	run := func(b *testing.B, master, site token.Key, reuse bool) {
		b.ReportAllocs()
		buf := make([]byte, 0, 512)
		for b.Loop() {
			var dst []byte
			if reuse {
				dst = buf[:0]
			}
			out, err := token.AppendAdvertisingV4(dst, in, master, site, nil)
			if err != nil || len(out) != 218 {
				b.Fatal(err)
			}
		}
	}
	b.Run("cached", func(b *testing.B) { run(b, k.master, k.site, true) })
	b.Run("cached-nil-dst", func(b *testing.B) { run(b, k.master, k.site, false) })
	b.Run("literal", func(b *testing.B) { run(b, literal(k.master), literal(k.site), true) })
}

func BenchmarkAppendRefreshV3(b *testing.B) {
	k := newTestKeys(b)
	in := sampleRefresh(0, 0)
	run := func(b *testing.B, key token.Key) {
		b.ReportAllocs()
		buf := make([]byte, 0, 512)
		for b.Loop() {
			out, err := token.AppendRefreshV3(buf[:0], in, key, nil)
			if err != nil || len(out) != 168 {
				b.Fatal(err)
			}
		}
	}
	b.Run("cached", func(b *testing.B) { run(b, k.refresh) })
	b.Run("literal", func(b *testing.B) { run(b, literal(k.refresh)) })
}

func BenchmarkWrapRefresh(b *testing.B) {
	k := newTestKeys(b)
	inner, err := token.AppendRefreshV3(nil, sampleRefresh(0, 0), k.refresh, nil)
	if err != nil {
		b.Fatal(err)
	}
	var rrk [32]byte
	run := func(b *testing.B, key token.Key) {
		b.ReportAllocs()
		buf := make([]byte, 0, 1024)
		for b.Loop() {
			out, err := token.WrapRefresh(buf[:0], inner, &rrk, identity.ScopeUID2, key, nil)
			if err != nil || len(out) != token.WrapperLen {
				b.Fatal(err)
			}
		}
	}
	b.Run("cached", func(b *testing.B) { run(b, k.refresh) })
	b.Run("literal", func(b *testing.B) { run(b, literal(k.refresh)) })
}

func BenchmarkDecodeAdvertisingV4(b *testing.B) {
	k := newTestKeys(b)
	s := mustAppendAdvertising(b, k, sampleAdvertising(0, 0, 32))
	run := func(b *testing.B, keys token.KeyFunc) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := token.DecodeAdvertising(s, keys); err != nil {
				b.Fatal(err)
			}
		}
	}
	b.Run("cached", func(b *testing.B) { run(b, k.all) })
	b.Run("literal", func(b *testing.B) { run(b, keyring(literal(k.master), literal(k.site))) })
}

func BenchmarkUnwrapRefresh(b *testing.B) {
	k := newTestKeys(b)
	inner, err := token.AppendRefreshV3(nil, sampleRefresh(0, 0), k.refresh, nil)
	if err != nil {
		b.Fatal(err)
	}
	var rrk [32]byte
	w, err := token.WrapRefresh(nil, inner, &rrk, identity.ScopeUID2, k.refresh, nil)
	if err != nil {
		b.Fatal(err)
	}
	s := string(w)
	b.ReportAllocs()
	for b.Loop() {
		if _, _, err := token.UnwrapRefresh(s, k.all); err != nil {
			b.Fatal(err)
		}
	}
}
