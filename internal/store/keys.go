package store

import (
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"sort"

	"github.com/uid2-private-operator/uid2-operator/internal/token"
)

// Reserved keyset and site ids (operator-api.md §4.1).
const (
	MasterKeysetID            = -1
	RefreshKeysetID           = -2
	FallbackPublisherKeysetID = 2
	FallbackPublisherSiteID   = 2
)

// Errors of key selection.
var (
	// ErrNoActiveKey means a required keyset has no active key; the API
	// answers 500 "No active encryption key available".
	ErrNoActiveKey = errors.New("store: no active encryption key")
	// ErrMultipleDefaultKeysets means a site has more than one enabled default keyset.
	ErrMultipleDefaultKeysets = errors.New("store: more than one default keyset for site")
)

// Keyset is one keyset record (§2.4 keysets). AllowedSites is nil when the
// file says null, which differs from an empty list (§5.3).
type Keyset struct {
	ID           int32
	SiteID       int32
	Name         string
	AllowedSites []int32
	Created      int64
	Enabled      bool
	Default      bool
}

// KeysetKey is one keyset key (§2.4 keyset_keys); times are epoch seconds.
type KeysetKey struct {
	ID        int32
	KeysetID  int32
	Created   int64
	Activates int64
	Expires   int64
	Secret    []byte
	// Key is the secret with its AES-GCM cipher prebuilt for token work.
	Key token.Key
}

type keysetJSON struct {
	KeysetID     *int32   `json:"keyset_id"`
	SiteID       *int32   `json:"site_id"`
	Name         *string  `json:"name"`
	AllowedSites *[]int32 `json:"allowed_sites"`
	Created      *int64   `json:"created"`
	Enabled      *bool    `json:"enabled"`
	Default      *bool    `json:"default"`
}

// ParseKeysets parses the keysets file. Every field is required except that
// allowed_sites may be null, as in the reference parser.
func ParseKeysets(b []byte) ([]Keyset, error) {
	var raw []keysetJSON
	if err := json.Unmarshal(b, &raw); err != nil {
		return nil, fmt.Errorf("keysets: %w", err)
	}
	out := make([]Keyset, 0, len(raw))
	for i, r := range raw {
		if r.KeysetID == nil || r.SiteID == nil || r.Created == nil || r.Enabled == nil || r.Default == nil {
			return nil, fmt.Errorf("keysets[%d]: keyset_id, site_id, created, enabled and default are required", i)
		}
		ks := Keyset{ID: *r.KeysetID, SiteID: *r.SiteID, Created: *r.Created, Enabled: *r.Enabled, Default: *r.Default}
		if r.Name != nil {
			ks.Name = *r.Name
		}
		if r.AllowedSites != nil {
			ks.AllowedSites = *r.AllowedSites
			if ks.AllowedSites == nil {
				ks.AllowedSites = []int32{}
			}
		}
		out = append(out, ks)
	}
	return out, nil
}

type keysetKeyJSON struct {
	ID        *int32  `json:"id"`
	KeysetID  *int32  `json:"keyset_id"`
	Created   *int64  `json:"created"`
	Activates *int64  `json:"activates"`
	Expires   *int64  `json:"expires"`
	Secret    *string `json:"secret"`
}

// ParseKeysetKeys parses the keyset keys file.
func ParseKeysetKeys(b []byte) ([]KeysetKey, error) {
	var raw []keysetKeyJSON
	if err := json.Unmarshal(b, &raw); err != nil {
		return nil, fmt.Errorf("keyset_keys: %w", err)
	}
	out := make([]KeysetKey, 0, len(raw))
	for i, r := range raw {
		if r.ID == nil || r.KeysetID == nil || r.Created == nil || r.Activates == nil || r.Expires == nil || r.Secret == nil {
			return nil, fmt.Errorf("keyset_keys[%d]: id, keyset_id, created, activates, expires and secret are required", i)
		}
		secret, err := base64.StdEncoding.DecodeString(*r.Secret)
		if err != nil || (len(secret) != 16 && len(secret) != 24 && len(secret) != 32) {
			return nil, fmt.Errorf("keyset_keys[%d].secret: not base64 of an AES key", i)
		}
		key, err := token.NewKey(*r.ID, secret)
		if err != nil {
			return nil, fmt.Errorf("keyset_keys[%d].secret: %w", i, err)
		}
		out = append(out, KeysetKey{ID: *r.ID, KeysetID: *r.KeysetID, Created: *r.Created,
			Activates: *r.Activates, Expires: *r.Expires, Secret: secret, Key: key})
	}
	return out, nil
}

// Keysets is an immutable index of keysets.
type Keysets struct {
	Version int64
	list    []Keyset
	byID    map[int32]*Keyset
}

// NewKeysets indexes keysets by id.
func NewKeysets(version int64, list []Keyset) *Keysets {
	k := &Keysets{Version: version, list: list, byID: make(map[int32]*Keyset, len(list))}
	for i := range list {
		k.byID[list[i].ID] = &list[i]
	}
	return k
}

// Len returns the number of keysets.
func (k *Keysets) Len() int { return len(k.list) }

// Get returns the keyset with id, or nil.
func (k *Keysets) Get(id int32) *Keyset { return k.byID[id] }

// All returns every keyset; callers must not modify the slice.
func (k *Keysets) All() []Keyset {
	if k == nil {
		return nil
	}
	return k.list
}

// KeysetKeys is an immutable list of keyset keys.
type KeysetKeys struct {
	Version int64
	list    []KeysetKey
}

// NewKeysetKeys wraps a parsed keyset keys file.
func NewKeysetKeys(version int64, list []KeysetKey) *KeysetKeys {
	return &KeysetKeys{Version: version, list: list}
}

// Len returns the number of keys.
func (k *KeysetKeys) Len() int { return len(k.list) }

// Keyring joins keysets and their keys for key selection (§4.1) and the key
// endpoints (§5). It is derived, never parsed, and immutable.
type Keyring struct {
	keysets  *Keysets
	byID     map[int32]*KeysetKey
	byKeyset map[int32][]*KeysetKey // sorted by Activates
	// universe is every key whose keyset exists, except the refresh keyset,
	// sorted by key id (§5.1).
	universe []*KeysetKey
	// defaultBySite maps a site to its enabled default keyset, or to nil when
	// the site has more than one.
	defaultBySite map[int32]*Keyset
}

// NewKeyring indexes keys against keysets.
func NewKeyring(keysets *Keysets, keys *KeysetKeys) *Keyring {
	r := &Keyring{
		keysets:       keysets,
		byID:          make(map[int32]*KeysetKey, len(keys.list)),
		byKeyset:      make(map[int32][]*KeysetKey),
		defaultBySite: make(map[int32]*Keyset),
	}
	for i := range keys.list {
		k := &keys.list[i]
		r.byID[k.ID] = k
		r.byKeyset[k.KeysetID] = append(r.byKeyset[k.KeysetID], k)
		if k.KeysetID != RefreshKeysetID && keysets.Get(k.KeysetID) != nil {
			r.universe = append(r.universe, k)
		}
	}
	for _, ks := range r.byKeyset {
		sort.SliceStable(ks, func(i, j int) bool { return ks[i].Activates < ks[j].Activates })
	}
	sort.Slice(r.universe, func(i, j int) bool { return r.universe[i].ID < r.universe[j].ID })
	for i := range keysets.list {
		ks := &keysets.list[i]
		if !ks.Enabled || !ks.Default {
			continue
		}
		if _, dup := r.defaultBySite[ks.SiteID]; dup {
			r.defaultBySite[ks.SiteID] = nil
			continue
		}
		r.defaultBySite[ks.SiteID] = ks
	}
	return r
}

// Key returns the key with id from any keyset, expired or not (§4.1: decoding
// looks keys up by id only).
func (r *Keyring) Key(id int32) *KeysetKey { return r.byID[id] }

// TokenKey finds a key by id for token decoding (token.KeyFunc).
func (r *Keyring) TokenKey(id int32) (token.Key, bool) {
	k := r.byID[id]
	if k == nil {
		return token.Key{}, false
	}
	return k.Key, true
}

// Keysets returns the keysets the ring was built from.
func (r *Keyring) Keysets() *Keysets { return r.keysets }

// ActiveKey returns the active key of keyset at nowSec (epoch seconds): the
// latest key with activates <= now, stepping back past expired ones.
func (r *Keyring) ActiveKey(keysetID int32, nowSec int64) (*KeysetKey, error) {
	keys := r.byKeyset[keysetID]
	i := sort.Search(len(keys), func(i int) bool { return keys[i].Activates > nowSec }) - 1
	for ; i >= 0; i-- {
		if keys[i].Expires > nowSec {
			return keys[i], nil
		}
	}
	return nil, ErrNoActiveKey
}

// MasterKey returns the active key of the master keyset.
func (r *Keyring) MasterKey(nowSec int64) (*KeysetKey, error) {
	return r.ActiveKey(MasterKeysetID, nowSec)
}

// RefreshKey returns the active key of the refresh keyset.
func (r *Keyring) RefreshKey(nowSec int64) (*KeysetKey, error) {
	return r.ActiveKey(RefreshKeysetID, nowSec)
}

// DefaultKeyset returns the enabled default keyset of site, or nil.
func (r *Keyring) DefaultKeyset(siteID int32) (*Keyset, error) {
	ks, ok := r.defaultBySite[siteID]
	if ok && ks == nil {
		return nil, ErrMultipleDefaultKeysets
	}
	return ks, nil
}

// SiteKey returns the publisher key for siteID: the active key of the site's
// enabled default keyset, else that of site 2's default keyset (§4.1).
func (r *Keyring) SiteKey(siteID int32, nowSec int64) (*KeysetKey, error) {
	ks, err := r.DefaultKeyset(siteID)
	if err != nil {
		return nil, err
	}
	if ks != nil {
		if k, err := r.ActiveKey(ks.ID, nowSec); err == nil {
			return k, nil
		}
	}
	fb, err := r.DefaultKeyset(FallbackPublisherSiteID)
	if err != nil {
		return nil, err
	}
	if fb == nil {
		return nil, ErrNoActiveKey
	}
	return r.ActiveKey(fb.ID, nowSec)
}

// Universe returns all shareable keys sorted by id (§5.1); callers must not
// modify the slice.
func (r *Keyring) Universe() []*KeysetKey { return r.universe }
