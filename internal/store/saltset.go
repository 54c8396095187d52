package store

import (
	"fmt"
	"sync"

	"github.com/uid2-private-operator/uid2-operator/internal/identity"
	"github.com/uid2-private-operator/uid2-operator/internal/salts"
)

// SaltSet is a loaded salts version plus the prepared v4 keys of its
// key-based buckets, so raw UID v4 needs no cipher set-up per request.
type SaltSet struct {
	*salts.Set
	v4 sync.Map // key id -> *identity.V4Key
}

// NewSaltSet wraps set.
func NewSaltSet(set *salts.Set) *SaltSet { return &SaltSet{Set: set} }

// V4Key returns the prepared key for a bucket's key material.
func (s *SaltSet) V4Key(km salts.KeyMaterial) (*identity.V4Key, error) {
	if v, ok := s.v4.Load(km.ID); ok {
		return v.(*identity.V4Key), nil
	}
	k, err := identity.NewV4Key(km.ID, km.Key, km.Salt)
	if err != nil {
		return nil, fmt.Errorf("salts: key material %d: %w", km.ID, err)
	}
	// Key ids name one key and salt throughout a salts version.
	v, _ := s.v4.LoadOrStore(km.ID, k)
	return v.(*identity.V4Key), nil
}
