package token

import (
	"encoding/base64"
	"io"

	"github.com/uid2-private-operator/uid2-operator/internal/aesgcm"
	"github.com/uid2-private-operator/uid2-operator/internal/b64"
	"github.com/uid2-private-operator/uid2-operator/internal/identity"
)

// Refresh is the content of an inner refresh token (§4.4). Times are epoch
// milliseconds. It carries the first-level hash, not the raw UID, so that a
// refresh re-derives the raw UID with the salts valid at refresh time.
//
// AppendRefreshV3 reads every field except Version and KeyID, which come
// from the version it writes and the key it is given. DecodeRefresh fills
// every field the token version carries.
type Refresh struct {
	Scope identity.Scope
	Type  identity.Type

	// Expires is the refresh expiry. For a legacy V2 token it is the token's
	// validTill, which is 60 s after its nominal expiry.
	Expires, Created int64

	OperatorSiteID  int32
	OperatorType    uint8
	OperatorVersion int32
	OperatorKeyID   int32

	SiteID      int32
	PublisherID int64
	ClientKeyID int32

	PrivacyBits uint32
	Established int64

	FirstLevelHash [32]byte

	Version uint8 // VersionV2 or VersionV3
	KeyID   int32 // refresh key that sealed the token
}

// Refresh token V3 layout (§4.4).
const (
	refreshPayloadLen = 90
	refreshBinLen     = headerLen + aesgcm.Overhead + refreshPayloadLen // 124
	// RefreshV3Len is the length of a V3 refresh token's text (std b64 with "==").
	RefreshV3Len = 168
	// refreshV2Header is 0x02 || created || expires || validTill || key id.
	refreshV2Header = 1 + 8 + 8 + 8 + 4
)

// AppendRefreshV3 appends the text of a V3 refresh token for r to dst
// (standard base64 with padding, always RefreshV3Len characters) and returns
// the extended slice. The payload is sealed with refreshKey; the IV is read
// from rand (nil means crypto/rand).
//
// It makes no allocation when refreshKey comes from NewKey and dst has
// capacity for 168+124 more bytes. On error dst is returned unchanged.
func AppendRefreshV3(dst []byte, r *Refresh, refreshKey Key, rand io.Reader) ([]byte, error) {
	if !validKinds(r.Scope, r.Type) {
		return dst, ErrInvalid
	}
	a, err := refreshKey.gcm()
	if err != nil {
		return dst, err
	}
	out, text, b := scratch(dst, RefreshV3Len, refreshBinLen)

	id := identityByte(r.Scope, r.Type)
	b[0] = id
	b[1] = VersionV3
	be.PutUint32(b[2:], uint32(refreshKey.ID))

	p := b[headerLen+aesgcm.NonceSize:]
	be.PutUint64(p[0:], uint64(r.Expires))
	be.PutUint64(p[8:], uint64(r.Created))
	be.PutUint32(p[16:], uint32(r.OperatorSiteID))
	p[20] = r.OperatorType
	be.PutUint32(p[21:], uint32(r.OperatorVersion))
	be.PutUint32(p[25:], uint32(r.OperatorKeyID))
	be.PutUint32(p[29:], uint32(r.SiteID))
	be.PutUint64(p[33:], uint64(r.PublisherID))
	be.PutUint32(p[41:], uint32(r.ClientKeyID))
	be.PutUint32(p[45:], r.PrivacyBits)
	be.PutUint64(p[49:], uint64(r.Established))
	p[57] = id // repeated inside so the decoder can check the outer byte
	copy(p[58:], r.FirstLevelHash[:])

	if err := readRand(rand, b[headerLen:headerLen+aesgcm.NonceSize]); err != nil {
		return dst, err
	}
	sealInPlace(a, b[headerLen:], refreshPayloadLen)
	base64.StdEncoding.Encode(text, b)
	return out, nil
}

// DecodeRefresh decodes an inner refresh token the way the operator does
// (§2.2 step 3, §4.4): standard base64 (padding optional); byte1 == 112 means
// V3, else byte0 == 2 means legacy V2 (UID2/Email, Expires = validTill, FLH
// from the base64 text inside); anything else is ErrVersion.
//
// Errors are ErrInvalid, ErrVersion, *UnknownKeyError, ErrDecrypt or
// ErrIdentityMismatch.
func DecodeRefresh(s string, keys KeyFunc) (Refresh, error) {
	return DecodeRefreshInPlace([]byte(s), keys)
}

// DecodeRefreshInPlace is DecodeRefresh that decodes and decrypts inside b,
// so it makes no allocation. b is overwritten whatever the outcome; the
// result keeps no reference to it.
func DecodeRefreshInPlace(b []byte, keys KeyFunc) (Refresh, error) {
	n, ok := b64.DecodeStd(b, b)
	b = b[:n]
	if !ok || len(b) < 2 {
		return Refresh{}, ErrInvalid
	}
	switch {
	case b[1] == VersionV3:
		return decodeRefreshV3(b, keys)
	case b[0] == VersionV2:
		return decodeRefreshV2(b, keys)
	}
	return Refresh{}, ErrVersion
}

func decodeRefreshV3(b []byte, keys KeyFunc) (Refresh, error) {
	if len(b) != refreshBinLen {
		return Refresh{}, ErrInvalid
	}
	r := Refresh{Version: VersionV3, KeyID: i32(b[2:])}
	k, err := lookup(keys, r.KeyID)
	if err != nil {
		return Refresh{}, err
	}
	p, err := openInPlace(k, b[headerLen:])
	if err != nil {
		return Refresh{}, err
	}
	r.Expires = i64(p[0:])
	r.Created = i64(p[8:])
	r.OperatorSiteID = i32(p[16:])
	r.OperatorType = p[20]
	r.OperatorVersion = i32(p[21:])
	r.OperatorKeyID = i32(p[25:])
	r.SiteID = i32(p[29:])
	r.PublisherID = i64(p[33:])
	r.ClientKeyID = i32(p[41:])
	r.PrivacyBits = be.Uint32(p[45:])
	r.Established = i64(p[49:])
	copy(r.FirstLevelHash[:], p[58:])

	is, it, ok := splitIdentity(p[57])
	if !ok {
		return Refresh{}, ErrInvalid
	}
	os, ot, ok := splitIdentity(b[0])
	if !ok || is != os || it != ot {
		return Refresh{}, ErrIdentityMismatch
	}
	r.Scope, r.Type = is, it
	return r, nil
}

// decodeRefreshV2 decodes the legacy layout (§4.4): 0x02 || created ||
// expires || validTill || key id || CBC(key, identity block).
func decodeRefreshV2(b []byte, keys KeyFunc) (Refresh, error) {
	if len(b) < refreshV2Header {
		return Refresh{}, ErrInvalid
	}
	r := Refresh{
		Scope:        identity.ScopeUID2,
		Type:         identity.TypeEmail,
		Version:      VersionV2,
		Created:      i64(b[1:]),
		Expires:      i64(b[17:]), // validTill, not the nominal expiry at b[9:]
		OperatorType: operatorTypeService,
		KeyID:        i32(b[25:]),
	}
	k, err := lookup(keys, r.KeyID)
	if err != nil {
		return Refresh{}, err
	}
	p, err := openCBC(k, b[refreshV2Header:])
	if err != nil {
		return Refresh{}, err
	}
	site, flh, privacy, established, ok := parseIdentityV2(p)
	if !ok || len(flh) != len(r.FirstLevelHash) {
		return Refresh{}, ErrInvalid
	}
	r.SiteID = site
	r.PrivacyBits = privacy
	r.Established = established
	copy(r.FirstLevelHash[:], flh)
	return r, nil
}
