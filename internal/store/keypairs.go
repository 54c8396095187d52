package store

import (
	"crypto/ecdh"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"fmt"
)

// keypairPrefixLen is the length of the "UID2-X-L-"/"UID2-Y-L-" prefix that
// precedes the base64 DER of client-side keys (operator-api.md §2.12).
const keypairPrefixLen = 9

// ClientSideKeypair is a CSTG server keypair (§2.4 client_side_keypairs).
type ClientSideKeypair struct {
	SubscriptionID string
	PublicKey      string // as distributed to publishers, prefix included
	SiteID         int32
	Contact        string
	Name           string
	Created        int64
	Disabled       bool
	Private        *ecdh.PrivateKey
}

type keypairJSON struct {
	SubscriptionID *string `json:"subscription_id"`
	PublicKey      *string `json:"public_key"`
	PrivateKey     *string `json:"private_key"`
	SiteID         *int32  `json:"site_id"`
	Contact        string  `json:"contact"`
	Created        int64   `json:"created"`
	Disabled       bool    `json:"disabled"`
	Name           string  `json:"name"`
}

// ParseClientSideKeypairs parses the client-side keypairs file and decodes each
// private key (PKCS#8, EC P-256).
func ParseClientSideKeypairs(b []byte) ([]ClientSideKeypair, error) {
	var raw []keypairJSON
	if err := json.Unmarshal(b, &raw); err != nil {
		return nil, fmt.Errorf("client_side_keypairs: %w", err)
	}
	out := make([]ClientSideKeypair, 0, len(raw))
	for i, r := range raw {
		if r.SubscriptionID == nil || r.PublicKey == nil || r.PrivateKey == nil || r.SiteID == nil {
			return nil, fmt.Errorf("client_side_keypairs[%d]: subscription_id, public_key, private_key and site_id are required", i)
		}
		priv, err := decodePrivateKey(*r.PrivateKey)
		if err != nil {
			return nil, fmt.Errorf("client_side_keypairs[%d].private_key: %w", i, err)
		}
		out = append(out, ClientSideKeypair{SubscriptionID: *r.SubscriptionID, PublicKey: *r.PublicKey,
			SiteID: *r.SiteID, Contact: r.Contact, Name: r.Name, Created: r.Created, Disabled: r.Disabled, Private: priv})
	}
	return out, nil
}

func decodePrivateKey(s string) (*ecdh.PrivateKey, error) {
	if len(s) <= keypairPrefixLen {
		return nil, fmt.Errorf("too short")
	}
	der, err := base64.StdEncoding.DecodeString(s[keypairPrefixLen:])
	if err != nil {
		return nil, fmt.Errorf("not base64")
	}
	k, err := x509.ParsePKCS8PrivateKey(der)
	if err != nil {
		return nil, fmt.Errorf("not PKCS#8")
	}
	switch k := k.(type) {
	case *ecdh.PrivateKey:
		if k.Curve() == ecdh.P256() {
			return k, nil
		}
	case interface {
		ECDH() (*ecdh.PrivateKey, error)
	}:
		e, err := k.ECDH()
		if err == nil && e.Curve() == ecdh.P256() {
			return e, nil
		}
	}
	return nil, fmt.Errorf("not an EC P-256 key")
}

// ClientSideKeypairs is an immutable index of keypairs by subscription id.
type ClientSideKeypairs struct {
	Version int64
	list    []ClientSideKeypair
	bySub   map[string]*ClientSideKeypair
}

// NewClientSideKeypairs indexes keypairs.
func NewClientSideKeypairs(version int64, list []ClientSideKeypair) *ClientSideKeypairs {
	k := &ClientSideKeypairs{Version: version, list: list, bySub: make(map[string]*ClientSideKeypair, len(list))}
	for i := range list {
		k.bySub[list[i].SubscriptionID] = &list[i]
	}
	return k
}

// Get returns the keypair for subscription id, or nil.
func (k *ClientSideKeypairs) Get(sub string) *ClientSideKeypair {
	if k == nil {
		return nil
	}
	return k.bySub[sub]
}

// Len returns the number of keypairs.
func (k *ClientSideKeypairs) Len() int {
	if k == nil {
		return 0
	}
	return len(k.list)
}

// All returns every keypair; callers must not modify them.
func (k *ClientSideKeypairs) All() []ClientSideKeypair {
	if k == nil {
		return nil
	}
	return k.list
}
