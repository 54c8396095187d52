package store

import (
	"sync"
	"sync/atomic"
	"time"
)

// Snapshot is one immutable view of every store. Parts that are not
// configured (sites and keypairs without CSTG) are nil.
type Snapshot struct {
	Clients  *Clients
	Keysets  *Keysets
	Keys     *KeysetKeys
	Keyring  *Keyring
	Salts    *SaltSet
	Sites    *Sites
	Keypairs *ClientSideKeypairs
	Runtime  *RuntimeConfig
	// Services and ServiceLinks are loaded with validate_service_links.
	Services     *Services
	ServiceLinks *ServiceLinks
	// Loaded records, per part name, when it was last loaded successfully.
	Loaded map[Part]time.Time
}

// Part names one store inside a snapshot; the names follow the reference's
// store names, so metrics and health reasons read the same.
type Part string

// Store parts.
const (
	PartClients  Part = "auth"
	PartKeysets  Part = "keyset"
	PartKeys     Part = "keysetkey"
	PartSalts    Part = "salt"
	PartSites    Part = "site"
	PartKeypairs Part = "client_side_keypairs"
	PartRuntime  Part = "runtime_config"
	// PartServices and PartServiceLinks are loaded with validate_service_links.
	PartServices     Part = "service"
	PartServiceLinks Part = "service_link"
)

// Complete reports whether the parts every API request needs are present.
func (s *Snapshot) Complete() bool {
	return s != nil && s.Clients != nil && s.Keyring != nil && s.Salts != nil && s.Runtime != nil
}

// Store publishes snapshots. Readers call Load; writers call the Set methods,
// which build a new snapshot on the side and swap it in atomically. The zero
// value is an empty store.
type Store struct {
	mu  sync.Mutex // serialises writers
	cur atomic.Pointer[Snapshot]
	now func() time.Time
}

// New returns an empty store using clock now (time.Now when nil).
func New(now func() time.Time) *Store {
	if now == nil {
		now = time.Now
	}
	return &Store{now: now}
}

// Load returns the current snapshot, never nil.
func (s *Store) Load() *Snapshot {
	if p := s.cur.Load(); p != nil {
		return p
	}
	return &Snapshot{}
}

func (s *Store) update(part Part, fn func(*Snapshot)) {
	s.mu.Lock()
	defer s.mu.Unlock()
	next := *s.Load()
	fn(&next)
	loaded := make(map[Part]time.Time, len(next.Loaded)+1)
	for k, v := range next.Loaded {
		loaded[k] = v
	}
	now := time.Now
	if s.now != nil {
		now = s.now
	}
	loaded[part] = now()
	next.Loaded = loaded
	if next.Keysets != nil && next.Keys != nil {
		next.Keyring = NewKeyring(next.Keysets, next.Keys)
	}
	s.cur.Store(&next)
}

// SetClients publishes a new clients part.
func (s *Store) SetClients(c *Clients) { s.update(PartClients, func(n *Snapshot) { n.Clients = c }) }

// SetKeysets publishes a new keysets part.
func (s *Store) SetKeysets(k *Keysets) { s.update(PartKeysets, func(n *Snapshot) { n.Keysets = k }) }

// SetKeysetKeys publishes a new keyset keys part.
func (s *Store) SetKeysetKeys(k *KeysetKeys) { s.update(PartKeys, func(n *Snapshot) { n.Keys = k }) }

// SetSalts publishes a new salts part.
func (s *Store) SetSalts(v *SaltSet) { s.update(PartSalts, func(n *Snapshot) { n.Salts = v }) }

// SetSites publishes a new sites part.
func (s *Store) SetSites(v *Sites) { s.update(PartSites, func(n *Snapshot) { n.Sites = v }) }

// SetClientSideKeypairs publishes a new keypairs part.
func (s *Store) SetClientSideKeypairs(v *ClientSideKeypairs) {
	s.update(PartKeypairs, func(n *Snapshot) { n.Keypairs = v })
}

// SetRuntimeConfig publishes a new runtime config part.
func (s *Store) SetRuntimeConfig(rc *RuntimeConfig) {
	s.update(PartRuntime, func(n *Snapshot) { n.Runtime = rc })
}

// SetServices publishes a new services part.
func (s *Store) SetServices(v *Services) {
	s.update(PartServices, func(n *Snapshot) { n.Services = v })
}

// SetServiceLinks publishes a new service links part.
func (s *Store) SetServiceLinks(v *ServiceLinks) {
	s.update(PartServiceLinks, func(n *Snapshot) { n.ServiceLinks = v })
}
