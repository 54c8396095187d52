package optout

import (
	"context"
	"fmt"
	"time"
)

// Logout is one /v2/token/logout request after identity derivation (§3.5).
type Logout struct {
	FLH           [32]byte
	AdvertisingID []byte // current raw UID, 32 or 33 bytes
	// Optional audit fields forwarded to the Opt-Out service; never logged.
	Email, Phone, ClientIP string
	TraceID                string
}

// Replicator sends a logout to the Opt-Out service (/optout/replicate).
type Replicator interface {
	Replicate(ctx context.Context, l Logout) error
}

// Service handles logouts: it replicates them when a Replicator is set (Core
// mode) and records them in the local store, so this operator applies them
// at once instead of after the next Opt-Out delta.
type Service struct {
	Store      *Store
	Replicator Replicator // nil in local mode
	Now        func() time.Time
}

// Logout records l; a replication failure is returned and nothing is recorded.
func (s *Service) Logout(ctx context.Context, l Logout) error {
	if s.Replicator != nil {
		if err := s.Replicator.Replicate(ctx, l); err != nil {
			return fmt.Errorf("optout: replicate: %w", err)
		}
	}
	now := time.Now
	if s.Now != nil {
		now = s.Now
	}
	r := Record{FLH: l.FLH, Timestamp: now().Unix()}
	r.AdIDLen = uint8(copy(r.AdvertisingID[:], l.AdvertisingID))
	s.Store.Add(r)
	return nil
}
