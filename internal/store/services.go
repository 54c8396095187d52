package store

import (
	"encoding/json"
	"fmt"
	"strings"
)

// Service is one entry of services.json (core-and-optout.md §2.4 services).
type Service struct {
	ServiceID   int32    `json:"service_id"`
	SiteID      int32    `json:"site_id"`
	Name        string   `json:"name"`
	Roles       []string `json:"roles"`
	LinkIDRegex string   `json:"link_id_regex,omitempty"`
	Disabled    bool     `json:"disabled"`
}

// ServiceLink is one entry of service_links.json, keyed by service id and
// link id.
type ServiceLink struct {
	LinkID    string   `json:"link_id"`
	ServiceID int32    `json:"service_id"`
	SiteID    int32    `json:"site_id"`
	Name      string   `json:"name"`
	Roles     []string `json:"roles,omitempty"`
	Disabled  bool     `json:"disabled"`
}

// serviceRoles are the role names the reference's Role enum knows. Services
// parse roles strictly: one unknown name fails the whole load (§2.4).
var serviceRoles = map[string]bool{
	"GENERATOR": true, "MAPPER": true, "ID_READER": true, "SHARER": true, "OPTOUT": true,
	"OPERATOR": true, "OPTOUT_SERVICE": true, "CLIENTKEY_ISSUER": true, "ADMINISTRATOR": true,
	"SECRET_MANAGER": true, "SHARING_PORTAL": true, "PRIVATE_OPERATOR_SYNC": true,
	"MAINTAINER": true, "METRICS_EXPORT": true, "PRIVILEGED": true, "SUPER_USER": true,
	"SECRET_ROTATION": true, "PRIVATE_SITE_REFRESHER": true,
}

// ParseServices parses services.json.
func ParseServices(b []byte) ([]Service, error) {
	var list []Service
	if err := json.Unmarshal(b, &list); err != nil {
		return nil, fmt.Errorf("services: %w", err)
	}
	for i := range list {
		for j, r := range list[i].Roles {
			up := strings.ToUpper(r)
			if !serviceRoles[up] {
				return nil, fmt.Errorf("services[%d].roles: unknown role %q", i, r)
			}
			list[i].Roles[j] = up
		}
	}
	return list, nil
}

// ParseServiceLinks parses service_links.json.
func ParseServiceLinks(b []byte) ([]ServiceLink, error) {
	var list []ServiceLink
	if err := json.Unmarshal(b, &list); err != nil {
		return nil, fmt.Errorf("service_links: %w", err)
	}
	for i, l := range list {
		if l.LinkID == "" {
			return nil, fmt.Errorf("service_links[%d].link_id: missing", i)
		}
	}
	return list, nil
}

// Services is a loaded services part.
type Services struct {
	Version int64
	byID    map[int32]*Service
}

// NewServices indexes list by service id.
func NewServices(version int64, list []Service) *Services {
	s := &Services{Version: version, byID: make(map[int32]*Service, len(list))}
	for i := range list {
		s.byID[list[i].ServiceID] = &list[i]
	}
	return s
}

// Get returns the service with id, or nil.
func (s *Services) Get(id int32) *Service {
	if s == nil {
		return nil
	}
	return s.byID[id]
}

// Len returns the number of services.
func (s *Services) Len() int {
	if s == nil {
		return 0
	}
	return len(s.byID)
}

// ServiceLinks is a loaded service links part.
type ServiceLinks struct {
	Version int64
	byKey   map[string]*ServiceLink
}

// NewServiceLinks indexes list by "<service_id>_<link_id>", as the reference does.
func NewServiceLinks(version int64, list []ServiceLink) *ServiceLinks {
	s := &ServiceLinks{Version: version, byKey: make(map[string]*ServiceLink, len(list))}
	for i := range list {
		s.byKey[fmt.Sprintf("%d_%s", list[i].ServiceID, list[i].LinkID)] = &list[i]
	}
	return s
}

// Get returns the link of a service, or nil.
func (s *ServiceLinks) Get(serviceID int32, linkID string) *ServiceLink {
	if s == nil {
		return nil
	}
	return s.byKey[fmt.Sprintf("%d_%s", serviceID, linkID)]
}

// Len returns the number of links.
func (s *ServiceLinks) Len() int {
	if s == nil {
		return 0
	}
	return len(s.byKey)
}
