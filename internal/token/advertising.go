package token

import (
	"encoding/base64"
	"io"
	"strings"

	"github.com/uid2-private-operator/uid2-operator/internal/aesgcm"
	"github.com/uid2-private-operator/uid2-operator/internal/identity"
)

// Advertising is the content of an advertising token (§4.2, §4.3). Times are
// epoch milliseconds.
//
// AppendAdvertisingV4 reads every field except Version, MasterKeyID and
// SiteKeyID, which come from the version it writes and the keys it is given.
// DecodeAdvertising fills every field the token version carries.
type Advertising struct {
	// Scope and Type of the identity. On decode they come from the raw UID,
	// as in the operator: a 32-byte UID is UID2/Email whatever the token's
	// first byte says; a 33-byte UID must agree with the first byte.
	Scope identity.Scope
	Type  identity.Type

	Version uint8 // VersionV2, VersionV3 or VersionV4

	Expires, Created int64

	// Operator identity; the operator writes site 0, type 1 (service),
	// version 0, key id 0.
	OperatorSiteID  int32
	OperatorType    uint8
	OperatorVersion int32
	OperatorKeyID   int32

	MasterKeyID, SiteKeyID int32

	// Publisher identity; the operator writes publisher id 0, client key id 0.
	SiteID      int32
	PublisherID int64
	ClientKeyID int32

	PrivacyBits uint32 // 1 server-side generated, 3 CSTG (§4.2)

	Established, Refreshed int64

	// RawUID is the 32- or 33-byte advertising id (§3.4). After decoding it
	// aliases a buffer owned by the returned value.
	RawUID []byte
}

// V3/V4 advertising token layout (§4.2).
const (
	// headerLen is the identity byte, the version and the master key id.
	headerLen = 6
	// masterFixed is expires … site key id, before the sealed site payload.
	masterFixed = 33
	// siteFixed is site id … refreshed, before the raw UID.
	siteFixed = 36
	// advBinLen32 is the binary length with a 32-byte raw UID (163; 218
	// b64url characters). A 33-byte UID adds one byte (164; 219 characters).
	advBinLen32 = headerLen + aesgcm.Overhead + masterFixed + aesgcm.Overhead + siteFixed + 32
)

// AppendAdvertisingV4 appends the text of a V4 advertising token for t to dst
// (b64url without padding, 218 characters for a 32-byte raw UID, 219 for 33)
// and returns the extended slice. The master payload is sealed with master,
// the site payload with site; IVs are read from rand (nil means crypto/rand).
//
// It makes no allocation when both keys come from NewKey and dst has
// capacity for the text plus the binary token (219+164 bytes); the binary
// token is assembled in dst's spare capacity and encrypted in place. On error
// dst is returned unchanged.
func AppendAdvertisingV4(dst []byte, t *Advertising, master, site Key, rand io.Reader) ([]byte, error) {
	uidLen := len(t.RawUID)
	if uidLen != 32 && uidLen != 33 || !validKinds(t.Scope, t.Type) {
		return dst, ErrInvalid
	}
	if uidLen == 33 {
		// The decoder rejects a 33-byte UID whose bits disagree with byte0.
		if s, ty, _ := splitIdentity(t.RawUID[0]); s != t.Scope || ty != t.Type {
			return dst, ErrIdentityMismatch
		}
	}
	ma, err := master.gcm()
	if err != nil {
		return dst, err
	}
	sa, err := site.gcm()
	if err != nil {
		return dst, err
	}

	binLen := advBinLen32 + uidLen - 32
	out, text, b := scratch(dst, base64.RawURLEncoding.EncodedLen(binLen), binLen)

	b[0] = identityByte(t.Scope, t.Type)
	b[1] = VersionV4
	be.PutUint32(b[2:], uint32(master.ID))

	m := b[headerLen+aesgcm.NonceSize:] // master payload
	be.PutUint64(m[0:], uint64(t.Expires))
	be.PutUint64(m[8:], uint64(t.Created))
	be.PutUint32(m[16:], uint32(t.OperatorSiteID))
	m[20] = t.OperatorType
	be.PutUint32(m[21:], uint32(t.OperatorVersion))
	be.PutUint32(m[25:], uint32(t.OperatorKeyID))
	be.PutUint32(m[29:], uint32(site.ID))

	s := m[masterFixed+aesgcm.NonceSize:] // site payload
	be.PutUint32(s[0:], uint32(t.SiteID))
	be.PutUint64(s[4:], uint64(t.PublisherID))
	be.PutUint32(s[12:], uint32(t.ClientKeyID))
	be.PutUint32(s[16:], t.PrivacyBits)
	be.PutUint64(s[20:], uint64(t.Established))
	be.PutUint64(s[28:], uint64(t.Refreshed))
	copy(s[siteFixed:], t.RawUID)

	if err := readRand(rand, b[headerLen:headerLen+aesgcm.NonceSize]); err != nil {
		return dst, err
	}
	if err := readRand(rand, m[masterFixed:masterFixed+aesgcm.NonceSize]); err != nil {
		return dst, err
	}
	siteLen := siteFixed + uidLen
	sealInPlace(sa, m[masterFixed:], siteLen)
	sealInPlace(ma, b[headerLen:], masterFixed+aesgcm.Overhead+siteLen)

	base64.RawURLEncoding.Encode(text, b)
	return out, nil
}

// DecodeAdvertising decodes an advertising token V2, V3 or V4 the way the
// operator does (§4.2 decoding rules): the first four characters choose the
// alphabet (b64url if they hold '-' or '_'); byte0 == 2 means V2 (std b64);
// byte1 == 112 means V3 (std b64); byte1 == 128 means V4, which must be b64url,
// so a V4 token written in standard base64 is rejected unless it happens to
// contain neither '+' nor '/'. Padding is optional in every alphabet.
//
// Keys are looked up by id with keys. Errors are ErrInvalid, ErrVersion,
// *UnknownKeyError, ErrDecrypt or ErrIdentityMismatch. The returned RawUID
// aliases a buffer allocated for this call.
func DecodeAdvertising(s string, keys KeyFunc) (Advertising, error) {
	if len(s) < 4 {
		return Advertising{}, ErrInvalid
	}
	var hdr [3]byte
	enc := base64.StdEncoding
	if strings.ContainsAny(s[:4], "-_") {
		enc = base64.URLEncoding
	}
	// A group with padding ("AA==") yields fewer than the two header bytes
	// the operator reads.
	if n, err := enc.Decode(hdr[:], []byte(s[:4])); err != nil || n < 2 {
		return Advertising{}, ErrInvalid
	}
	switch {
	case hdr[0] == VersionV2:
		b, ok := decodeStd(s)
		if !ok {
			return Advertising{}, ErrInvalid
		}
		return decodeAdvertisingV2(b, keys)
	case hdr[1] == VersionV3:
		b, ok := decodeStd(s)
		if !ok {
			return Advertising{}, ErrInvalid
		}
		return decodeAdvertisingV3(b, VersionV3, keys)
	case hdr[1] == VersionV4:
		b, ok := decodeURL(s)
		if !ok {
			return Advertising{}, ErrInvalid
		}
		return decodeAdvertisingV3(b, VersionV4, keys)
	}
	return Advertising{}, ErrVersion
}

// decodeAdvertisingV3 decodes the binary V3/V4 layout (identical for both).
func decodeAdvertisingV3(b []byte, version uint8, keys KeyFunc) (Advertising, error) {
	if len(b) != advBinLen32 && len(b) != advBinLen32+1 {
		return Advertising{}, ErrInvalid
	}
	t := Advertising{Version: version, MasterKeyID: i32(b[2:])}
	mk, err := lookup(keys, t.MasterKeyID)
	if err != nil {
		return Advertising{}, err
	}
	m, err := openInPlace(mk, b[headerLen:])
	if err != nil {
		return Advertising{}, err
	}
	t.Expires = i64(m[0:])
	t.Created = i64(m[8:])
	t.OperatorSiteID = i32(m[16:])
	t.OperatorType = m[20]
	t.OperatorVersion = i32(m[21:])
	t.OperatorKeyID = i32(m[25:])
	t.SiteKeyID = i32(m[29:])

	sk, err := lookup(keys, t.SiteKeyID)
	if err != nil {
		return Advertising{}, err
	}
	s, err := openInPlace(sk, m[masterFixed:])
	if err != nil {
		return Advertising{}, err
	}
	t.SiteID = i32(s[0:])
	t.PublisherID = i64(s[4:])
	t.ClientKeyID = i32(s[12:])
	t.PrivacyBits = be.Uint32(s[16:])
	t.Established = i64(s[20:])
	t.Refreshed = i64(s[28:])
	t.RawUID = s[siteFixed:]

	if len(t.RawUID) == 33 {
		us, ut, ok := splitIdentity(t.RawUID[0])
		if !ok {
			return Advertising{}, ErrInvalid
		}
		hs, ht, ok := splitIdentity(b[0])
		if !ok || us != hs || ut != ht {
			return Advertising{}, ErrIdentityMismatch
		}
		t.Scope, t.Type = us, ut
	}
	return t, nil
}

// decodeAdvertisingV2 decodes the legacy CBC layout (§4.3):
// 0x02 || master key id || CBC(master, expires || site key id ||
// CBC(site, site id || L || b64(raw UID) || privacy bits || established)).
// V2 tokens are UID2/Email; Created is set to Established, as the operator
// does, and Refreshed stays 0.
func decodeAdvertisingV2(b []byte, keys KeyFunc) (Advertising, error) {
	if len(b) < 5 {
		return Advertising{}, ErrInvalid
	}
	t := Advertising{Version: VersionV2, OperatorType: operatorTypeService, MasterKeyID: i32(b[1:])}
	mk, err := lookup(keys, t.MasterKeyID)
	if err != nil {
		return Advertising{}, err
	}
	m, err := openCBC(mk, b[5:])
	if err != nil {
		return Advertising{}, err
	}
	if len(m) < 12 {
		return Advertising{}, ErrInvalid
	}
	t.Expires = i64(m[0:])
	t.SiteKeyID = i32(m[8:])
	sk, err := lookup(keys, t.SiteKeyID)
	if err != nil {
		return Advertising{}, err
	}
	inner, err := openCBC(sk, m[12:])
	if err != nil {
		return Advertising{}, err
	}
	site, id, privacy, established, ok := parseIdentityV2(inner)
	if !ok || len(id) != 32 && len(id) != 33 {
		return Advertising{}, ErrInvalid
	}
	t.SiteID = site
	t.PrivacyBits = privacy
	t.Established = established
	t.Created = established
	t.RawUID = id
	return t, nil
}
