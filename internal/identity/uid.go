package identity

import (
	"crypto/aes"
	"crypto/cipher"
	"errors"
	"github.com/uid2-private-operator/uid2-operator/internal/b64"
	"log/slog"
)

// Errors returned by this package.
var (
	// ErrV4KeySize means a v4 key string is not 16, 24 or 32 bytes, so it
	// cannot be used as an AES key (§3.4).
	ErrV4KeySize = errors.New("identity: v4 key must be 16, 24 or 32 bytes")
)

// saltedBufSize is the stack buffer for "base64 text || salt" inputs to
// SHA-256: 44 bytes of base64 plus salts up to 148 bytes (fixture and
// production salts are 44). Longer salts work but cost a heap
// allocation.
const saltedBufSize = 192

// sumBase64Salted returns SHA-256(ASCII(b64(b)) || UTF-8(salt)). The operator
// hashes the base64 text, not the bytes, at both hashing steps (§3.2, §3.4).
func sumBase64Salted(b []byte, salt string) [32]byte {
	var buf [saltedBufSize]byte
	n := b64.Encode(buf[:], b)
	return sum256(append(buf[:n], salt...))
}

// sumTextSalted returns SHA-256(text || UTF-8(salt)) for a 44-byte base64
// text; FLHText uses it for salts too long for its buffer.
func sumTextSalted(text *[44]byte, salt string) [32]byte {
	var buf [saltedBufSize]byte
	copy(buf[:], text[:])
	return sum256(append(buf[:len(text)], salt...))
}

// FirstLevelHash returns SHA-256(ASCII(b64(h)) || UTF-8(firstLevelSalt)), the
// first-level hash that opt-out records and raw UIDs are keyed by (§3.2). The
// salt string is used as is, never base64-decoded. It does not allocate for
// salts up to 84 bytes.
func FirstLevelHash(h Hash, firstLevelSalt string) [32]byte {
	return sumBase64Salted(h.b[:h.n], firstLevelSalt)
}

// DirectIndexBuckets is the salt-table size at which the bucket index is the
// 20-bit value itself rather than taken modulo the size (§3.3).
const DirectIndexBuckets = 1 << 20

// BucketIndex returns the index of the salt bucket for a first-level hash in
// a table of n buckets (§3.3): h = FLH[0]<<12 | FLH[1]<<4 | (FLH[2] & 0x0F)
// (the low nibble of byte 2), used directly when n is exactly
// DirectIndexBuckets and reduced modulo n otherwise. n must be positive.
func BucketIndex(flh *[32]byte, n int) int {
	h := int(flh[0])<<12 | int(flh[1])<<4 | int(flh[2]&0x0F)
	if n == DirectIndexBuckets {
		return h
	}
	return h % n
}

// RawUID is a raw UID (advertising id, §3.4): 32 bytes for v2, 33 bytes for
// v3 and v4. The bytes live in a fixed array, so a RawUID never allocates.
// The zero value is empty. RawUIDs compare with ==.
type RawUID struct {
	b [33]byte
	n uint8
}

// Len returns the number of bytes in u: 0, 32 or 33.
func (u *RawUID) Len() int { return int(u.n) }

// Bytes returns the raw UID bytes. The slice aliases u; do not modify it.
func (u *RawUID) Bytes() []byte { return u.b[:u.n] }

// AppendBase64 appends the standard base64 encoding of u, with padding (the
// form used in every JSON response), to dst and returns the result.
func (u *RawUID) AppendBase64(dst []byte) []byte {
	return b64.AppendEncode(dst, u.b[:u.n])
}

// RawUIDv2 returns the 32-byte v2 raw UID SHA-256(ASCII(b64(FLH)) ||
// UTF-8(salt)) for a bucket's rotating salt (§3.4). It encodes neither scope
// nor type. It does not allocate for salts up to 84 bytes.
func RawUIDv2(flh *[32]byte, salt string) RawUID {
	t := NewFLHText(flh)
	return t.RawUIDv2(salt)
}

// RawUIDv3 returns the 33-byte v3 raw UID: the byte scope<<4 | type<<2, then
// the v2 raw UID (§3.4). It does not allocate for salts up to 84 bytes.
func RawUIDv3(flh *[32]byte, salt string, scope Scope, typ Type) RawUID {
	t := NewFLHText(flh)
	return t.RawUIDv3(salt, scope, typ)
}

// FLHText is the base64 text of a first-level hash: the part of the SHA-256
// input of v2 and v3 raw UIDs that does not depend on the salt (§3.4).
// Encoding it once lets a bucket's current and previous raw UIDs share it,
// and the text stays in place in a buffer with room for the salt. The zero
// value is not useful; call Set. An FLHText is
// not safe for concurrent use: each raw UID is hashed in its buffer.
type FLHText struct {
	b [saltedBufSize]byte // text in b[:44]; the rest is scratch
}

// NewFLHText returns the FLHText of flh.
func NewFLHText(flh *[32]byte) (t FLHText) {
	t.Set(flh)
	return t
}

// Set makes t the base64 text of flh.
func (t *FLHText) Set(flh *[32]byte) {
	b64.Encode32((*[44]byte)(t.b[:44]), flh)
}

// sum returns SHA-256(text || UTF-8(salt)).
func (t *FLHText) sum(salt string) [32]byte {
	if len(salt) > len(t.b)-44 {
		return sumTextSalted((*[44]byte)(t.b[:44]), salt)
	}
	return sum256(append(t.b[:44], salt...))
}

// RawUIDv2 returns the same raw UID as the package-level RawUIDv2 for the
// first-level hash t encodes. It does not allocate for salts up to 139 bytes.
func (t *FLHText) RawUIDv2(salt string) RawUID {
	u := RawUID{n: 32}
	sum := t.sum(salt)
	copy(u.b[:], sum[:])
	return u
}

// RawUIDv3 returns the same raw UID as the package-level RawUIDv3 for the
// first-level hash t encodes. It does not allocate for salts up to 139 bytes.
func (t *FLHText) RawUIDv3(salt string, scope Scope, typ Type) RawUID {
	u := RawUID{n: 33}
	u.b[0] = identityBits(scope, typ)
	sum := t.sum(salt)
	copy(u.b[1:], sum[:])
	return u
}

// identityBits is the scope/type part of byte 0 of v3 and v4 raw UIDs.
func identityBits(scope Scope, typ Type) byte {
	return byte(scope&1)<<4 | byte(typ&3)<<2
}

// v4VersionBit marks a v4 raw UID in its metadata byte (IdentityVersion V4 = 1
// at bit 5).
const v4VersionBit = 1 << 5

// ScopeTypeOf returns the scope and type encoded in byte 0 of a 33-byte (v3
// or v4) raw UID: scope = (b0>>4)&1, type = (b0>>2)&3 (§3.4). Any other length,
// including a 32-byte v2 raw UID, which encodes neither, reports UID2/email as
// the operator does. The type bits can hold 2 or 3, which are not valid
// types; callers that care must check the result against TypePhone.
func ScopeTypeOf(raw []byte) (Scope, Type) {
	if len(raw) != 33 {
		return ScopeUID2, TypeEmail
	}
	return Scope(raw[0] >> 4 & 1), Type(raw[0] >> 2 & 3)
}

// V4Key is the key material of a salt bucket that produces v4 raw UIDs
// (§3.1, §3.4), with its AES key schedule computed once rather than per UID.
// A V4Key is immutable and safe for concurrent use.
//
// It holds secret key material: it has no String method and logs as
// "[redacted]".
type V4Key struct {
	id    int32
	salt  string
	block cipher.Block
}

// NewV4Key prepares the key material (id, key, salt) of a salt line. The key
// string's UTF-8 bytes are the AES key (never base64-decoded), so it must be
// 16, 24 or 32 bytes long; otherwise NewV4Key returns ErrV4KeySize.
func NewV4Key(id int32, key, salt string) (*V4Key, error) {
	switch len(key) {
	case 16, 24, 32:
	default:
		return nil, ErrV4KeySize
	}
	block, err := aes.NewCipher([]byte(key))
	if err != nil {
		return nil, err // unreachable: the length was checked above
	}
	return &V4Key{id: id, salt: salt, block: block}, nil
}

// ID returns the key id.
func (k *V4Key) ID() int32 { return k.id }

// LogValue implements slog.LogValuer so key material never reaches a log.
func (k *V4Key) LogValue() slog.Value { return slog.StringValue("[redacted]") }

// RawUID returns the 33-byte v4 raw UID for a first-level hash (§3.4):
//
//	meta     = env<<6 | 1<<5 | scope<<4 | type<<2
//	kid3     = low 24 bits of the key id, big-endian
//	L16      = the last 16 bytes of the FLH
//	iv12     = SHA-256(UTF-8(key salt) || L16 || meta || kid3)[:12]
//	enc      = AES-CTR(key, counter block iv12 || 00000000) applied to L16
//	body     = meta || kid3 || iv12 || enc
//	raw UID  = body || XOR of the 32 body bytes
//
// L16 is exactly one AES block, so CTR mode is one block encryption of the
// initial counter, XORed in. It makes one small heap allocation, because the
// result passes through the cipher.Block interface call; see SetRawUID.
func (k *V4Key) RawUID(flh *[32]byte, scope Scope, typ Type, env Environment) RawUID {
	var u RawUID
	k.SetRawUID(&u, flh, scope, typ, env)
	return u
}

// SetRawUID sets *u to k.RawUID(flh, scope, typ, env). The AES counter block
// is encrypted in u's own bytes, which the cipher.Block interface call makes
// escape: a u on the stack is moved to the heap, while a u inside a struct
// that lives on the heap already (such as a per-request mapper) costs no
// allocation at all.
func (k *V4Key) SetRawUID(u *RawUID, flh *[32]byte, scope Scope, typ Type, env Environment) {
	u.n = 33
	meta := byte(env&3)<<6 | v4VersionBit | identityBits(scope, typ)
	l16 := flh[16:32]

	u.b[0] = meta
	u.b[1] = byte(k.id >> 16)
	u.b[2] = byte(k.id >> 8)
	u.b[3] = byte(k.id)

	var buf [saltedBufSize]byte // key salts up to 107 bytes stay on the stack
	in := append(buf[:0], k.salt...)
	in = append(in, l16...)
	in = append(in, u.b[0:4]...)
	ivHash := sum256(in)
	copy(u.b[4:16], ivHash[:12])

	// The counter block iv12 || 00000000 is built where enc goes and
	// encrypted in place, then XORed with L16.
	ctr := u.b[16:32]
	copy(ctr, ivHash[:12])
	ctr[12], ctr[13], ctr[14], ctr[15] = 0, 0, 0, 0
	k.block.Encrypt(ctr, ctr)
	for i := range ctr {
		ctr[i] ^= l16[i]
	}

	var sum byte
	for _, c := range u.b[:32] {
		sum ^= c
	}
	u.b[32] = sum
}

// RawUIDv4 returns the v4 raw UID for a first-level hash and a bucket's key
// material (§3.4); see V4Key.RawUID. It sets up an AES cipher on every call
// (a few more allocations); the hot path should keep a V4Key per key material.
func RawUIDv4(flh *[32]byte, keyID int32, key, keySalt string, scope Scope, typ Type, env Environment) (RawUID, error) {
	k, err := NewV4Key(keyID, key, keySalt)
	if err != nil {
		return RawUID{}, err
	}
	return k.RawUID(flh, scope, typ, env), nil
}
