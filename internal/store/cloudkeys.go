package store

import (
	"crypto/cipher"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/uid2-private-operator/uid2-operator/internal/aesgcm"
)

// CloudEncryptionKey is one key of /cloud_encryption_keys/retrieve
// (core-and-optout.md §2.5). The API spells the site field "siteId".
type CloudEncryptionKey struct {
	ID        int32  `json:"id"`
	SiteID    int32  `json:"siteId"`
	Activates int64  `json:"activates"`
	Created   int64  `json:"created"`
	Secret    []byte `json:"secret"` // 32 bytes; base64 on the wire
}

// ErrCloudKeyNotFound means an encrypted file names a key id that is not
// loaded (the reference's KEY_NOT_FOUND). The load is retried.
var ErrCloudKeyNotFound = errors.New("store: cloud encryption key not found")

// ErrCloudDecrypt means an encrypted file did not decrypt. Opaque on purpose.
var ErrCloudDecrypt = errors.New("store: cannot decrypt file")

// ParseCloudEncryptionKeys parses the inline response
// {"cloud_encryption_keys": [{"id", "siteId", "activates", "created", "secret"}]}.
func ParseCloudEncryptionKeys(b []byte) ([]CloudEncryptionKey, error) {
	var doc struct {
		Keys *[]CloudEncryptionKey `json:"cloud_encryption_keys"`
	}
	if err := json.Unmarshal(b, &doc); err != nil {
		return nil, fmt.Errorf("cloud_encryption_keys: %w", err)
	}
	if doc.Keys == nil {
		return nil, fmt.Errorf("cloud_encryption_keys: missing")
	}
	for i, k := range *doc.Keys {
		if len(k.Secret) != 32 {
			return nil, fmt.Errorf("cloud_encryption_keys[%d].secret: must be 32 bytes (got %d)", i, len(k.Secret))
		}
	}
	return *doc.Keys, nil
}

// CloudKeys is an immutable set of cloud encryption keys by id.
type CloudKeys struct {
	byID map[int32]cipher.AEAD
}

// NewCloudKeys prepares the ciphers of list.
func NewCloudKeys(list []CloudEncryptionKey) (*CloudKeys, error) {
	ck := &CloudKeys{byID: make(map[int32]cipher.AEAD, len(list))}
	for _, k := range list {
		a, err := aesgcm.New(k.Secret)
		if err != nil {
			return nil, fmt.Errorf("cloud_encryption_keys: key %d: %w", k.ID, err)
		}
		ck.byID[k.ID] = a
	}
	return ck, nil
}

// Len returns the number of keys.
func (c *CloudKeys) Len() int {
	if c == nil {
		return 0
	}
	return len(c.byID)
}

// EncryptedFile is the envelope of an encrypted store file.
type EncryptedFile struct {
	KeyID   int32  `json:"key_id"`
	Payload []byte `json:"encrypted_payload"` // IV(12) ‖ ciphertext ‖ tag(16)
}

// Decrypt opens an encrypted file envelope {"key_id", "encrypted_payload"}
// and returns the plaintext file content.
func (c *CloudKeys) Decrypt(b []byte) ([]byte, error) {
	var f EncryptedFile
	if err := json.Unmarshal(b, &f); err != nil {
		return nil, fmt.Errorf("encrypted file: %w", err)
	}
	if c == nil {
		return nil, fmt.Errorf("key %d: %w", f.KeyID, ErrCloudKeyNotFound)
	}
	a, ok := c.byID[f.KeyID]
	if !ok {
		return nil, fmt.Errorf("key %d: %w", f.KeyID, ErrCloudKeyNotFound)
	}
	pt, err := aesgcm.OpenWith(nil, a, f.Payload)
	if err != nil {
		return nil, ErrCloudDecrypt
	}
	return pt, nil
}

// EncryptFile seals plaintext into an encrypted file envelope with key
// (used by the stand-in Core and tests).
func EncryptFile(keyID int32, key, plaintext []byte) ([]byte, error) {
	ct, err := aesgcm.Seal(nil, key, plaintext, nil)
	if err != nil {
		return nil, err
	}
	return json.Marshal(map[string]any{"key_id": keyID, "encrypted_payload": base64.StdEncoding.EncodeToString(ct)})
}
