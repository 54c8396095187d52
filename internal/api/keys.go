package api

import (
	"net/http"
	"slices"
	"strconv"
	"strings"

	"github.com/uid2-private-operator/uid2-operator/internal/b64"
	"github.com/uid2-private-operator/uid2-operator/internal/identity"
	"github.com/uid2-private-operator/uid2-operator/internal/jsonw"
	"github.com/uid2-private-operator/uid2-operator/internal/store"
)

// Key endpoint constants (§5.2).
const (
	// masterKeysetIDForSDKs replaces the master keyset id −1 in sharing
	// responses: SDKs ignore non-positive keyset ids (OP
	// MASTER_KEYSET_ID_FOR_SDKS).
	masterKeysetIDForSDKs = 9999999
	// tokenLifetimeTolerance is added to the max_*_lifetime_seconds fields
	// (OP TOKEN_LIFETIME_TOLERANCE).
	tokenLifetimeTolerance = 10
	// maxReservedSiteID: callers of /v2/key/latest need a site id above it
	// (SH SiteUtil#isValidSiteId).
	maxReservedSiteID = 2
)

// msgUnexpectedSiteID prefixes the /v2/key/latest 401 message; clients match
// this text; do not change.
const msgUnexpectedSiteID = "Unexpected client site id "

// keyFlavour selects the per-endpoint extras of the key JSON (§5.1–§5.2).
type keyFlavour uint8

const (
	keysLatest    keyFlavour = iota // + site_id
	keysSharing                     // + keyset_id for own-site and master keys
	keysBidstream                   // no extras
)

// handleKeysLatest is POST /v2/key/latest (§2.9): a bare array of the
// accessible keys with the owning keyset's site id.
func (s *Server) handleKeysLatest(req *v2Request) ([]byte, error) {
	if site := req.client.SiteID; site <= maxReservedSiteID {
		return nil, &Error{HTTP: http.StatusUnauthorized, Status: statusInvalidClient,
			Message: msgUnexpectedSiteID + strconv.Itoa(int(site))}
	}
	keys := accessibleKeys(req.snap, req.client)
	body := appendKeys(make([]byte, 0, 64+len(keys)*160), req.snap, req.client.SiteID, keys, keysLatest)
	return success(body), nil
}

// handleKeysSharing is POST /v2/key/sharing (§2.10, §5.2). Field order:
// caller_site_id, master_keyset_id, default_keyset_id, token_expiry_seconds,
// max_sharing_lifetime_seconds, identity_scope, allow_clock_skew_seconds,
// keys, site_data.
func (s *Server) handleKeysSharing(req *v2Request) ([]byte, error) {
	snap, site := req.snap, req.client.SiteID
	def, err := snap.Keyring.DefaultKeyset(site)
	if err != nil {
		// The reference fails the request on ambiguous default keysets.
		return nil, plainError(http.StatusInternalServerError, err)
	}
	rc := snap.Runtime
	keys := accessibleKeys(snap, req.client)

	b := make([]byte, 0, 320+len(keys)*180)
	b = append(b, `{"caller_site_id":`...)
	b = jsonw.AppendInt(b, int64(site))
	b = append(b, `,"master_keyset_id":`...)
	b = jsonw.AppendInt(b, masterKeysetIDForSDKs)
	if def != nil {
		b = append(b, `,"default_keyset_id":`...)
		b = jsonw.AppendInt(b, int64(def.ID))
	}
	// A string on purpose: old SDKs expect one (§5.2).
	b = append(b, `,"token_expiry_seconds":"`...)
	b = jsonw.AppendInt(b, rc.SharingTokenExpirySeconds)
	b = append(b, '"')
	if req.client.Roles.Has(store.RoleSharer) {
		b = append(b, `,"max_sharing_lifetime_seconds":`...)
		b = jsonw.AppendInt(b, orDefault(rc.MaxSharingLifetimeSeconds, rc.SharingTokenExpirySeconds)+tokenLifetimeTolerance)
	}
	b = s.appendKeyHeaderTail(b)
	b = append(b, `,"keys":`...)
	b = appendKeys(b, snap, site, keys, keysSharing)
	b = s.appendSiteData(b, snap, keys)
	b = append(b, '}')
	return success(b), nil
}

// handleKeysBidstream is POST /v2/key/bidstream (§2.11, §5.2). Field order:
// max_bidstream_lifetime_seconds, identity_scope, allow_clock_skew_seconds,
// keys, site_data.
func (s *Server) handleKeysBidstream(req *v2Request) ([]byte, error) {
	snap := req.snap
	rc := snap.Runtime
	keys := accessibleKeys(snap, req.client)

	b := make([]byte, 0, 256+len(keys)*160)
	b = append(b, `{"max_bidstream_lifetime_seconds":`...)
	b = jsonw.AppendInt(b, orDefault(rc.MaxBidstreamLifetimeSeconds, rc.IdentityTokenExpiresAfterSeconds)+tokenLifetimeTolerance)
	b = s.appendKeyHeaderTail(b)
	b = append(b, `,"keys":`...)
	b = appendKeys(b, snap, req.client.SiteID, keys, keysBidstream)
	b = s.appendSiteData(b, snap, keys)
	b = append(b, '}')
	return success(b), nil
}

// appendKeyHeaderTail appends the identity_scope (upper case) and
// allow_clock_skew_seconds fields shared by sharing and bidstream.
func (s *Server) appendKeyHeaderTail(b []byte) []byte {
	b = append(b, `,"identity_scope":"`...)
	if s.opt.Scope == identity.ScopeEUID {
		b = append(b, "EUID"...)
	} else {
		b = append(b, "UID2"...)
	}
	b = append(b, `","allow_clock_skew_seconds":`...)
	return jsonw.AppendInt(b, s.opt.AllowClockSkewSeconds)
}

func orDefault(v, def int64) int64 {
	if v == 0 {
		return def
	}
	return v
}

// accessibleKeys filters the key universe (every key of a known keyset but
// the refresh keyset, by id, no time filter; §5.1) by the keyset access rules
// of §5.3: master keys always; otherwise an enabled keyset that is the
// caller's own, or has allowed_sites null and the caller is an ID_READER, or
// lists the caller in allowed_sites.
func accessibleKeys(snap *store.Snapshot, c *store.Client) []*store.KeysetKey {
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

// appendKeys appends the JSON array of keys: id, created, activates,
// expires (epoch seconds), secret, then the flavour's extra field.
func appendKeys(b []byte, snap *store.Snapshot, site int32, keys []*store.KeysetKey, flavour keyFlavour) []byte {
	b = append(b, '[')
	for i, k := range keys {
		if i > 0 {
			b = append(b, ',')
		}
		b = append(b, `{"id":`...)
		b = jsonw.AppendInt(b, int64(k.ID))
		b = append(b, `,"created":`...)
		b = jsonw.AppendInt(b, k.Created)
		b = append(b, `,"activates":`...)
		b = jsonw.AppendInt(b, k.Activates)
		b = append(b, `,"expires":`...)
		b = jsonw.AppendInt(b, k.Expires)
		b = append(b, `,"secret":"`...)
		b = b64.AppendEncode(b, k.Secret)
		b = append(b, '"')
		switch flavour {
		case keysLatest:
			if ks := snap.Keysets.Get(k.KeysetID); ks != nil {
				b = append(b, `,"site_id":`...)
				b = jsonw.AppendInt(b, int64(ks.SiteID))
			}
		case keysSharing:
			// Only keys the caller may encrypt with carry keyset_id; others
			// are decrypt-only (§5.2).
			if k.KeysetID == store.MasterKeysetID {
				b = append(b, `,"keyset_id":`...)
				b = jsonw.AppendInt(b, masterKeysetIDForSDKs)
			} else if ks := snap.Keysets.Get(k.KeysetID); ks != nil && ks.SiteID == site {
				b = append(b, `,"keyset_id":`...)
				b = jsonw.AppendInt(b, int64(k.KeysetID))
			}
		}
		b = append(b, '}')
	}
	return append(b, ']')
}

// appendSiteData appends ,"site_data":[…] when CSTG is enabled (§5.4): the
// sites owning the returned keys, ascending, each with the sorted union of
// its domain names (and app names with ProvideAppNames), skipping unknown
// sites and sites with nothing to list. The site's enabled flag is ignored.
func (s *Server) appendSiteData(b []byte, snap *store.Snapshot, keys []*store.KeysetKey) []byte {
	if !s.opt.CSTG {
		return b
	}
	ids := make([]int32, 0, 8)
	for _, k := range keys {
		if ks := snap.Keysets.Get(k.KeysetID); ks != nil {
			ids = append(ids, ks.SiteID)
		}
	}
	slices.Sort(ids)
	ids = slices.Compact(ids)

	b = append(b, `,"site_data":[`...)
	first := true
	var names []string
	for _, id := range ids {
		site := snap.Sites.Get(id)
		if site == nil {
			continue
		}
		names = append(names[:0], site.DomainNames...)
		if s.opt.ProvideAppNames {
			names = append(names, site.AppNames...)
		}
		if len(names) == 0 {
			continue
		}
		slices.SortFunc(names, strings.Compare)
		names = slices.Compact(names)
		if !first {
			b = append(b, ',')
		}
		first = false
		b = append(b, `{"id":`...)
		b = jsonw.AppendInt(b, int64(id))
		b = append(b, `,"domain_names":[`...)
		for i, n := range names {
			if i > 0 {
				b = append(b, ',')
			}
			b = jsonw.AppendString(b, n)
		}
		b = append(b, "]}"...)
	}
	return append(b, ']')
}
