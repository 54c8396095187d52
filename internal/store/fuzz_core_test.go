package store_test

import (
	"bytes"
	"context"
	"testing"
	"testing/fstest"

	"github.com/uid2-private-operator/uid2-operator/internal/store"
)

// FuzzParseMetadata: store metadata documents from Core never panic, and a
// parsed document survives MarshalMetadata → ParseMetadata.
func FuzzParseMetadata(f *testing.F) {
	for _, s := range []string{
		`{"version":1,"generated":1700000000,"client_keys":{"location":"clients/clients.json"}}`,
		`{"version":9223372036854775807,"client_keys":{"location":"http://h/x?sig=1"}}`,
		`{"version":1,"client_keys":{"location":""}}`,
		`{"version":"1","client_keys":{"location":"a"}}`,
		`{"version":1,"client_keys":null}`,
		`{"version":1}`,
		`{"version":1.5,"client_keys":{"location":"a"}}`,
		`[]`, `null`, ``, `{`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		md, err := store.ParseMetadata(b, store.KeyClients)
		if err != nil {
			return
		}
		out, err := store.MarshalMetadata(store.KeyClients, md)
		if err != nil {
			t.Fatal(err)
		}
		again, err := store.ParseMetadata(out, store.KeyClients)
		if err != nil || again != md {
			t.Fatalf("round trip of %+v = %+v, %v", md, again, err)
		}
	})
}

// FuzzStoreFiles: every Core store file parser rejects or accepts any bytes
// without panicking.
func FuzzStoreFiles(f *testing.F) {
	for _, s := range []string{
		`[{"service_id":1,"site_id":123,"name":"s","roles":["GENERATOR"]}]`,
		`[{"service_id":1,"site_id":123,"name":"s","roles":["NOPE"]}]`,
		`[{"link_id":"a","service_id":1,"site_id":123,"name":"l"}]`,
		`{"cloud_encryption_keys":[{"id":1,"siteId":9,"activates":1,"created":1,"secret":"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA="}]}`,
		`{"key_id":1,"encrypted_payload":"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"}`,
		`[{"keyset_id":1,"site_id":1,"name":"k","allowed_sites":null,"created":1,"enabled":true,"default":true}]`,
		`[{"id":1,"keyset_id":1,"created":1,"activates":1,"expires":2,"secret":"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA="}]`,
		`{"version":1,"runtime_config":{"identity_token_expires_after_seconds":3600}}`,
		`[]`, `null`, `{}`, ``,
	} {
		f.Add([]byte(s))
	}
	keys, _ := store.NewCloudKeys([]store.CloudEncryptionKey{{ID: 1, Secret: bytes.Repeat([]byte{7}, 32)}})
	f.Fuzz(func(t *testing.T, b []byte) {
		store.ParseServices(b)
		store.ParseServiceLinks(b)
		store.ParseCloudEncryptionKeys(b)
		store.ParseKeysets(b)
		store.ParseKeysetKeys(b)
		store.ParseClients(b)
		store.ParseSites(b)
		store.ParseClientSideKeypairs(b)
		store.ParseRuntimeConfig(b)
		keys.Decrypt(b)
	})
}

// TestEncryptedFileRoundTrip: EncryptFile → Decrypt returns the plaintext;
// a wrong key id, a flipped bit and a truncation all fail.
func TestEncryptedFileRoundTrip(t *testing.T) {
	secret := bytes.Repeat([]byte{9}, 32)
	keys, err := store.NewCloudKeys([]store.CloudEncryptionKey{{ID: 5, SiteID: 1, Secret: secret}})
	if err != nil {
		t.Fatal(err)
	}
	plain := []byte(`[{"id":1}]`)
	env, err := store.EncryptFile(5, secret, plain)
	if err != nil {
		t.Fatal(err)
	}
	got, err := keys.Decrypt(env)
	if err != nil || !bytes.Equal(got, plain) {
		t.Fatalf("Decrypt = %q, %v; want %q", got, err, plain)
	}
	wrongID, _ := store.EncryptFile(6, secret, plain)
	if _, err := keys.Decrypt(wrongID); err == nil {
		t.Error("Decrypt with an unknown key id succeeded")
	}
	other, _ := store.EncryptFile(5, bytes.Repeat([]byte{1}, 32), plain)
	if _, err := keys.Decrypt(other); err != store.ErrCloudDecrypt {
		t.Errorf("Decrypt with the wrong key = %v; want ErrCloudDecrypt", err)
	}
	if _, err := keys.Decrypt(env[:len(env)/2]); err == nil {
		t.Error("Decrypt of a truncated envelope succeeded")
	}
}

// FuzzLoaderParts drives every row of the store table through the Loader
// with fuzzed bytes as its data file (located parts) or its metadata
// document (salts, runtime config): no panic, and a part that fails to load
// is not published. A new row is fuzzed without touching this test.
func FuzzLoaderParts(f *testing.F) {
	for _, s := range []string{
		`[]`, `null`, `{}`, ``, `[{"id":1}]`, `[{"key_id":"k","secret":"AAAA","site_id":1,"roles":["MAPPER"]}]`,
		`{"version":1,"runtime_config":{"identity_token_expires_after_seconds":1,"refresh_token_expires_after_seconds":2,"refresh_identity_token_after_seconds":1,"sharing_token_expiry_seconds":1}}`,
		`{"version":1,"generated":1,"first_level":"fl","id_prefix":"a","id_secret":"s","salts":[{"effective":1,"location":"s.txt","size":1}]}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		for _, p := range store.Parts() {
			fsys := fstest.MapFS{"data": {Data: b}, "s.txt": {Data: []byte("1,1,salt,,,,,,,,\n")}}
			md := "data"
			if p.Format == store.FormatLocated {
				doc, _ := store.MarshalMetadata(p.MetadataKey, store.Metadata{Version: 1, Location: "data"})
				fsys["md"] = &fstest.MapFile{Data: doc}
				md = "md"
			}
			st := store.New(nil)
			l := &store.Loader{Src: store.FSSource{FS: fsys}, Store: st, Paths: store.Paths{p.Part: md}}
			changed, err := l.Load(context.Background(), p.Part)
			if _, loaded := st.Load().Loaded[p.Part]; loaded != (err == nil && changed) {
				t.Fatalf("%s: Load = %v, %v but published = %v", p.Part, changed, err, loaded)
			}
		}
	})
}
