// Package keyshare answers the key endpoints' questions (operator-api.md
// §2.9–§2.11, §5): which keys a client may see (the keyset access rules of
// §5.3), which sites' domain and app names go with them (§5.4), and the
// documents /v2/key/latest, /v2/key/sharing and /v2/key/bidstream return.
// The documents are plain values whose encoding/json rendering is the wire
// format (field order is declaration order); api renders them.
package keyshare

import (
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/uid2-private-operator/uid2-operator/internal/identity"
	"github.com/uid2-private-operator/uid2-operator/internal/store"
)

// Constants of the reference (§5.2).
const (
	// MasterKeysetIDForSDKs replaces the master keyset id −1 in sharing
	// responses: SDKs ignore non-positive keyset ids (OP
	// MASTER_KEYSET_ID_FOR_SDKS).
	MasterKeysetIDForSDKs = 9999999
	// tokenLifetimeTolerance is added to the max_*_lifetime_seconds fields
	// (OP TOKEN_LIFETIME_TOLERANCE).
	tokenLifetimeTolerance = 10
	// MaxReservedSiteID: callers of /v2/key/latest need a site id above it
	// (SH SiteUtil#isValidSiteId).
	MaxReservedSiteID = 2
)

// ErrReservedSite means a /v2/key/latest caller's site id is reserved.
var ErrReservedSite = errors.New("keyshare: reserved caller site id")

// Options are the operator settings the documents carry.
type Options struct {
	Scope identity.Scope
	// AllowClockSkewSeconds is echoed as allow_clock_skew_seconds.
	AllowClockSkewSeconds int64
	// SiteData adds site_data (client_side_token_generate).
	SiteData bool
	// AppNames adds app names to site_data (key_sharing_endpoint_provide_app_names).
	AppNames bool
}

// Key is one key of a key document: id, created, activates, expires (epoch
// seconds), secret (standard base64), then the endpoint's extra field.
type Key struct {
	ID        int32  `json:"id"`
	Created   int64  `json:"created"`
	Activates int64  `json:"activates"`
	Expires   int64  `json:"expires"`
	Secret    []byte `json:"secret"`
	SiteID    *int32 `json:"site_id,omitempty"`   // /v2/key/latest
	KeysetID  *int32 `json:"keyset_id,omitempty"` // /v2/key/sharing, keys the caller may encrypt with
}

// Site is one entry of site_data.
type Site struct {
	ID          int32    `json:"id"`
	DomainNames []string `json:"domain_names"`
}

// Sharing is the /v2/key/sharing body (§2.10, §5.2).
type Sharing struct {
	CallerSiteID    int32  `json:"caller_site_id"`
	MasterKeysetID  int32  `json:"master_keyset_id"`
	DefaultKeysetID *int32 `json:"default_keyset_id,omitempty"`
	// A string on purpose: old SDKs expect one (§5.2).
	TokenExpirySeconds        int64  `json:"token_expiry_seconds,string"`
	MaxSharingLifetimeSeconds *int64 `json:"max_sharing_lifetime_seconds,omitempty"` // SHARER callers only
	identityHeader
}

// Bidstream is the /v2/key/bidstream body (§2.11, §5.2).
type Bidstream struct {
	MaxBidstreamLifetimeSeconds int64 `json:"max_bidstream_lifetime_seconds"`
	identityHeader
}

// identityHeader is the tail shared by sharing and bidstream.
type identityHeader struct {
	IdentityScope         string  `json:"identity_scope"` // upper case
	AllowClockSkewSeconds int64   `json:"allow_clock_skew_seconds"`
	Keys                  []Key   `json:"keys"`
	SiteData              *[]Site `json:"site_data,omitempty"` // nil without SiteData
}

// Latest returns the /v2/key/latest body (§2.9): the keys c may see, each
// with its keyset's site id. Callers with a reserved site id get
// ErrReservedSite.
func Latest(snap *store.Snapshot, c *store.Client) ([]Key, error) {
	if c.SiteID <= MaxReservedSiteID {
		return nil, fmt.Errorf("%w %d", ErrReservedSite, c.SiteID)
	}
	keys := Accessible(snap, c)
	out := make([]Key, len(keys))
	for i, k := range keys {
		out[i] = newKey(k)
		if ks := snap.Keysets.Get(k.KeysetID); ks != nil {
			out[i].SiteID = &ks.SiteID
		}
	}
	return out, nil
}

// NewSharing returns the /v2/key/sharing body for c. An ambiguous default
// keyset is an error, as in the reference.
func NewSharing(snap *store.Snapshot, c *store.Client, opt *Options) (*Sharing, error) {
	def, err := snap.Keyring.DefaultKeyset(c.SiteID)
	if err != nil {
		return nil, err
	}
	rc := snap.Runtime
	keys := Accessible(snap, c)
	d := &Sharing{CallerSiteID: c.SiteID, MasterKeysetID: MasterKeysetIDForSDKs,
		TokenExpirySeconds: rc.SharingTokenExpirySeconds, identityHeader: header(opt, snap, keys)}
	if def != nil {
		d.DefaultKeysetID = &def.ID
	}
	if c.Roles.Has(store.RoleSharer) {
		v := orDefault(rc.MaxSharingLifetimeSeconds, rc.SharingTokenExpirySeconds) + tokenLifetimeTolerance
		d.MaxSharingLifetimeSeconds = &v
	}
	// Only keys the caller may encrypt with carry keyset_id; others are
	// decrypt-only (§5.2).
	master := int32(MasterKeysetIDForSDKs)
	for i, k := range keys {
		if k.KeysetID == store.MasterKeysetID {
			d.Keys[i].KeysetID = &master
		} else if ks := snap.Keysets.Get(k.KeysetID); ks != nil && ks.SiteID == c.SiteID {
			d.Keys[i].KeysetID = &keys[i].KeysetID
		}
	}
	return d, nil
}

// NewBidstream returns the /v2/key/bidstream body for c.
func NewBidstream(snap *store.Snapshot, c *store.Client, opt *Options) *Bidstream {
	rc := snap.Runtime
	return &Bidstream{
		MaxBidstreamLifetimeSeconds: orDefault(rc.MaxBidstreamLifetimeSeconds, rc.IdentityTokenExpiresAfterSeconds) + tokenLifetimeTolerance,
		identityHeader:              header(opt, snap, Accessible(snap, c)),
	}
}

func header(opt *Options, snap *store.Snapshot, keys []*store.KeysetKey) identityHeader {
	h := identityHeader{IdentityScope: "UID2", AllowClockSkewSeconds: opt.AllowClockSkewSeconds, Keys: make([]Key, len(keys))}
	if opt.Scope == identity.ScopeEUID {
		h.IdentityScope = "EUID"
	}
	for i, k := range keys {
		h.Keys[i] = newKey(k)
	}
	if opt.SiteData {
		sites := siteData(snap, keys, opt.AppNames)
		h.SiteData = &sites
	}
	return h
}

func newKey(k *store.KeysetKey) Key {
	return Key{ID: k.ID, Created: k.Created, Activates: k.Activates, Expires: k.Expires, Secret: k.Secret}
}

func orDefault(v, def int64) int64 {
	if v == 0 {
		return def
	}
	return v
}

// Accessible filters the key universe (every key of a known keyset but the
// refresh keyset, by id, no time filter; §5.1) by the keyset access rules of
// §5.3: master keys always; otherwise an enabled keyset that is the
// caller's own, or has allowed_sites null and the caller is an ID_READER, or
// lists the caller in allowed_sites.
func Accessible(snap *store.Snapshot, c *store.Client) []*store.KeysetKey {
	universe := snap.Keyring.Universe()
	out := make([]*store.KeysetKey, 0, len(universe))
	allowAll := c.Roles.Has(store.RoleIDReader)
	for _, k := range universe {
		if k.KeysetID == store.MasterKeysetID || canAccess(snap.Keysets.Get(k.KeysetID), c.SiteID, allowAll) {
			out = append(out, k)
		}
	}
	return out
}

func canAccess(ks *store.Keyset, site int32, allowAll bool) bool {
	switch {
	case ks == nil || !ks.Enabled:
		return false
	case ks.SiteID == site:
		return true
	case ks.AllowedSites == nil:
		return allowAll
	}
	return slices.Contains(ks.AllowedSites, site)
}

// siteData lists the sites owning keys (§5.4), ascending, each with the
// sorted union of its domain names (and app names with appNames), skipping
// unknown sites and sites with nothing to list. The site's enabled flag is
// ignored.
func siteData(snap *store.Snapshot, keys []*store.KeysetKey, appNames bool) []Site {
	ids := make([]int32, 0, 8)
	for _, k := range keys {
		if ks := snap.Keysets.Get(k.KeysetID); ks != nil {
			ids = append(ids, ks.SiteID)
		}
	}
	slices.Sort(ids)
	ids = slices.Compact(ids)
	out := []Site{}
	for _, id := range ids {
		site := snap.Sites.Get(id)
		if site == nil {
			continue
		}
		names := slices.Clone(site.DomainNames)
		if appNames {
			names = append(names, site.AppNames...)
		}
		if len(names) == 0 {
			continue
		}
		slices.SortFunc(names, strings.Compare)
		out = append(out, Site{ID: id, DomainNames: slices.Compact(names)})
	}
	return out
}
