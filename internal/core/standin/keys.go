package standin

import (
	"crypto/rand"
	"encoding/base64"
	"fmt"
	"strings"
	"time"

	"github.com/uid2-private-operator/uid2-operator/internal/store"
)

// NewOperatorKey returns a fresh operator key in the platform's format,
// UID2-O-L-<site>-<6>.<38> (core-and-optout.md §1.1).
func NewOperatorKey(siteID int32) string {
	b := make([]byte, 33)
	rand.Read(b)
	s := base64.RawURLEncoding.EncodeToString(b) // 44 chars
	s = strings.NewReplacer("-", "a", "_", "b").Replace(s)
	return fmt.Sprintf("UID2-O-L-%d-%s.%s", siteID, s[:6], s[6:44])
}

// newCloudKeys generates one cloud encryption key per operator site,
// active an hour before now; ids count from 1 in operator order.
func newCloudKeys(ops []Operator, now time.Time) []store.CloudEncryptionKey {
	var keys []store.CloudEncryptionKey
	seen := map[int32]bool{}
	for i, o := range ops {
		if seen[o.SiteID] {
			continue
		}
		seen[o.SiteID] = true
		k := store.CloudEncryptionKey{ID: int32(i + 1), SiteID: o.SiteID, Activates: now.Unix() - 3600, Created: now.Unix() - 3600, Secret: make([]byte, 32)}
		rand.Read(k.Secret)
		keys = append(keys, k)
	}
	return keys
}

// siteKey returns the site's newest cloud encryption key, nil when it has none.
func (s *Server) siteKey(site int32) *store.CloudEncryptionKey {
	var best *store.CloudEncryptionKey
	for i, k := range s.opt.CloudKeys {
		if k.SiteID == site && (best == nil || k.Activates > best.Activates) {
			best = &s.opt.CloudKeys[i]
		}
	}
	return best
}

// keyByID returns the cloud encryption key with id, nil when there is none.
func (s *Server) keyByID(id int64) *store.CloudEncryptionKey {
	var key *store.CloudEncryptionKey
	for i, k := range s.opt.CloudKeys {
		if int64(k.ID) == id {
			key = &s.opt.CloudKeys[i]
		}
	}
	return key
}
