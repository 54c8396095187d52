package store

import (
	"encoding/json"
	"fmt"
)

// Metadata is the wrapper document Core returns for every non-salt store:
// {"version": N, "generated": S, "<key>": {"location": "..."}} (§2.4).
type Metadata struct {
	Version   int64
	Generated int64
	Location  string
}

// Metadata keys of each store's location object (core-and-optout.md §2.2).
const (
	KeyClients            = "client_keys"
	KeyKeysets            = "keysets"
	KeyKeysetKeys         = "keyset_keys"
	KeySites              = "sites"
	KeyClientSideKeypairs = "client_side_keypairs"
	KeyServices           = "services"
	KeyServiceLinks       = "service_links"
)

// ParseMetadata decodes a store metadata document whose location object sits
// under key.
func ParseMetadata(b []byte, key string) (Metadata, error) {
	var raw map[string]json.RawMessage
	if err := json.Unmarshal(b, &raw); err != nil {
		return Metadata{}, fmt.Errorf("metadata: %w", err)
	}
	var md Metadata
	v, ok := raw["version"]
	if !ok {
		return Metadata{}, fmt.Errorf("metadata: version: missing")
	}
	if err := json.Unmarshal(v, &md.Version); err != nil {
		return Metadata{}, fmt.Errorf("metadata: version: %w", err)
	}
	if g, ok := raw["generated"]; ok {
		if err := json.Unmarshal(g, &md.Generated); err != nil {
			return Metadata{}, fmt.Errorf("metadata: generated: %w", err)
		}
	}
	locRaw, ok := raw[key]
	if !ok {
		return Metadata{}, fmt.Errorf("metadata: %s: missing", key)
	}
	var loc struct {
		Location *string `json:"location"`
	}
	if err := json.Unmarshal(locRaw, &loc); err != nil {
		return Metadata{}, fmt.Errorf("metadata: %s: %w", key, err)
	}
	if loc.Location == nil || *loc.Location == "" {
		return Metadata{}, fmt.Errorf("metadata: %s.location: missing", key)
	}
	md.Location = *loc.Location
	return md, nil
}

// MarshalMetadata renders a store metadata document (used by the dataset
// generator and the stand-in Core).
func MarshalMetadata(key string, md Metadata) ([]byte, error) {
	return json.Marshal(map[string]any{
		"version":   md.Version,
		"generated": md.Generated,
		key:         map[string]string{"location": md.Location},
	})
}
