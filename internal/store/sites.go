package store

import (
	"encoding/json"
	"fmt"
	"strings"
)

// Site is one site record (§2.4 sites). Domain and app names are lower-cased
// for matching; clientTypes is camelCase on the wire.
type Site struct {
	ID          int32    `json:"id"`
	Name        string   `json:"name"`
	Description string   `json:"description,omitempty"`
	Enabled     bool     `json:"enabled"`
	ClientTypes []string `json:"clientTypes,omitempty"`
	DomainNames []string `json:"domain_names"`
	AppNames    []string `json:"app_names"`
	Visible     bool     `json:"visible"`
	Created     int64    `json:"created"`
}

// ParseSites parses the sites file.
func ParseSites(b []byte) ([]Site, error) {
	var raw []struct {
		Site
		ID *int32 `json:"id"`
	}
	if err := json.Unmarshal(b, &raw); err != nil {
		return nil, fmt.Errorf("sites: %w", err)
	}
	out := make([]Site, 0, len(raw))
	for i, r := range raw {
		if r.ID == nil {
			return nil, fmt.Errorf("sites[%d].id: missing", i)
		}
		s := r.Site
		s.ID = *r.ID
		for j := range s.DomainNames {
			s.DomainNames[j] = strings.ToLower(s.DomainNames[j])
		}
		out = append(out, s)
	}
	return out, nil
}

// Sites is an immutable index of sites by id.
type Sites struct {
	Version int64
	byID    map[int32]*Site
}

// NewSites indexes sites.
func NewSites(version int64, list []Site) *Sites {
	s := &Sites{Version: version, byID: make(map[int32]*Site, len(list))}
	for i := range list {
		s.byID[list[i].ID] = &list[i]
	}
	return s
}

// Get returns the site with id, or nil.
func (s *Sites) Get(id int32) *Site {
	if s == nil {
		return nil
	}
	return s.byID[id]
}

// Len returns the number of sites.
func (s *Sites) Len() int {
	if s == nil {
		return 0
	}
	return len(s.byID)
}
