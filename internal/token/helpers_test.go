package token_test

import (
	"bytes"
	"crypto/aes"
	"crypto/cipher"
	"encoding/base64"
	"encoding/binary"
	"io"
	"math/rand/v2"
	"reflect"
	"testing"

	"github.com/uid2-private-operator/uid2-operator/internal/identity"
	"github.com/uid2-private-operator/uid2-operator/internal/token"
)

// mustKey returns a Key with a cached cipher.
func mustKey(t testing.TB, id int32, secret []byte) token.Key {
	t.Helper()
	k, err := token.NewKey(id, secret)
	if err != nil {
		t.Fatalf("NewKey(%d) = %v", id, err)
	}
	return k
}

// keyring is a KeyFunc over keys.
func keyring(keys ...token.Key) token.KeyFunc {
	m := make(map[int32]token.Key, len(keys))
	for _, k := range keys {
		m[k.ID] = k
	}
	return func(id int32) (token.Key, bool) {
		k, ok := m[id]
		return k, ok
	}
}

func mustB64(t testing.TB, s string) []byte {
	t.Helper()
	b, err := base64.StdEncoding.DecodeString(s)
	if err != nil {
		t.Fatalf("b64 %q: %v", s, err)
	}
	return b
}

// detRand is a deterministic randomness source for IVs and test keys.
func detRand(seed byte) io.Reader {
	return rand.NewChaCha8([32]byte{seed})
}

func randBytes(r io.Reader, n int) []byte {
	b := make([]byte, n)
	if _, err := io.ReadFull(r, b); err != nil {
		panic(err)
	}
	return b
}

// Our own test keys (style §9: we generate our own key material).
type testKeys struct {
	master, site, refresh, other token.Key
	all                          token.KeyFunc
}

func newTestKeys(t testing.TB) testKeys {
	r := detRand(1)
	k := testKeys{
		master:  mustKey(t, 7, randBytes(r, 32)),
		site:    mustKey(t, 1001, randBytes(r, 32)),
		refresh: mustKey(t, 3, randBytes(r, 32)),
		other:   mustKey(t, 99, randBytes(r, 16)), // AES-128 works too
	}
	k.all = keyring(k.master, k.site, k.refresh, k.other)
	return k
}

// sampleAdvertising returns a token for scope/type with a raw UID of uidLen
// bytes whose byte0 carries matching bits when it is 33 bytes long.
func sampleAdvertising(scope, typ uint8, uidLen int) *token.Advertising {
	uid := randBytes(detRand(byte(uidLen)), uidLen)
	if uidLen == 33 {
		uid[0] = scope<<4 | typ<<2 // raw UID v3 metadata (§3.4)
	}
	a := &token.Advertising{
		Version:         token.VersionV4,
		Expires:         1700003600000,
		Created:         1700000000000,
		OperatorSiteID:  0,
		OperatorType:    1,
		OperatorVersion: 0,
		OperatorKeyID:   0,
		SiteID:          1234,
		PublisherID:     0,
		ClientKeyID:     0,
		PrivacyBits:     1,
		Established:     1690000000000,
		Refreshed:       1700000000000,
		RawUID:          uid,
	}
	a.Scope, a.Type = identity.Scope(scope), identity.Type(typ)
	return a
}

func sampleRefresh(scope, typ uint8) *token.Refresh {
	r := &token.Refresh{
		Expires:         1700086400000,
		Created:         1700000000000,
		OperatorSiteID:  0,
		OperatorType:    1,
		OperatorVersion: 0,
		OperatorKeyID:   0,
		SiteID:          1234,
		PublisherID:     0,
		ClientKeyID:     0,
		PrivacyBits:     3,
		Established:     1690000000000,
	}
	copy(r.FirstLevelHash[:], randBytes(detRand(42), 32))
	r.Scope, r.Type = identity.Scope(scope), identity.Type(typ)
	return r
}

// assertAdvertising compares every field.
func assertAdvertising(t *testing.T, got, want token.Advertising) {
	t.Helper()
	if !reflect.DeepEqual(got, want) {
		t.Errorf("decoded\n got %+v\nwant %+v", got, want)
	}
}

// cbcSeal is the §0 CBC(key, pt): IV(16) || AES-CBC(PKCS#7(pt)).
func cbcSeal(key token.Key, pt []byte, r io.Reader) []byte {
	blk, err := aes.NewCipher(key.Secret)
	if err != nil {
		panic(err)
	}
	pad := aes.BlockSize - len(pt)%aes.BlockSize
	p := append(bytes.Clone(pt), bytes.Repeat([]byte{byte(pad)}, pad)...)
	out := randBytes(r, aes.BlockSize)
	ct := make([]byte, len(p))
	cipher.NewCBCEncrypter(blk, out).CryptBlocks(ct, p)
	return append(out, ct...)
}

// identityV2 is the legacy identity block (§4.3, §4.4).
func identityV2(site int32, id []byte, privacy uint32, established int64) []byte {
	text := base64.StdEncoding.EncodeToString(id)
	b := binary.BigEndian.AppendUint32(nil, uint32(site))
	b = binary.BigEndian.AppendUint32(b, uint32(len(text)))
	b = append(b, text...)
	b = binary.BigEndian.AppendUint32(b, privacy)
	return binary.BigEndian.AppendUint64(b, uint64(established))
}

// buildAdvertisingV2 builds a legacy V2 advertising token by hand (§4.3).
func buildAdvertisingV2(master, site token.Key, expires int64, siteID int32, uid []byte, privacy uint32, established int64) string {
	r := detRand(9)
	m := binary.BigEndian.AppendUint64(nil, uint64(expires))
	m = binary.BigEndian.AppendUint32(m, uint32(site.ID))
	m = append(m, cbcSeal(site, identityV2(siteID, uid, privacy, established), r)...)
	b := []byte{2}
	b = binary.BigEndian.AppendUint32(b, uint32(master.ID))
	b = append(b, cbcSeal(master, m, r)...)
	return base64.StdEncoding.EncodeToString(b)
}

// buildRefreshV2 builds a legacy V2 refresh token by hand (§4.4).
func buildRefreshV2(key token.Key, created, expires int64, siteID int32, flh []byte, privacy uint32, established int64) string {
	b := []byte{2}
	b = binary.BigEndian.AppendUint64(b, uint64(created))
	b = binary.BigEndian.AppendUint64(b, uint64(expires))
	b = binary.BigEndian.AppendUint64(b, uint64(expires+60_000)) // validTill
	b = binary.BigEndian.AppendUint32(b, uint32(key.ID))
	b = append(b, cbcSeal(key, identityV2(siteID, flh, privacy, established), detRand(10))...)
	return base64.StdEncoding.EncodeToString(b)
}
