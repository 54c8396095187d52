package store

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/uid2-private-operator/uid2-operator/internal/salts"
)

// Format is the shape of a part's metadata document; the loader and the
// stand-in Core handle each format once, whatever the part.
type Format uint8

// Metadata formats (core-and-optout.md §2.4).
const (
	// FormatLocated is {"version", "generated", "<MetadataKey>": {"location"}}:
	// the data is one file at the location.
	FormatLocated Format = iota
	// FormatSalts is the salts document: a list of salt files
	// (salts.ParseMetadata).
	FormatSalts
	// FormatInline is a document that carries the data itself, with its
	// version (the runtime config).
	FormatInline
)

// PartSpec describes one store part: everything the loader, Core mode,
// local mode, config path derivation and the stand-in Core need to know
// about it. Parts lists them; adding a part is one row there plus its
// parser (and its Snapshot field).
type PartSpec struct {
	Part   Part
	Format Format
	// MetadataKey names the location object of a FormatLocated document.
	MetadataKey string
	// CorePath is the path below the Core URL that serves the metadata
	// (core-and-optout.md §2.2); config derives the metadata URL from it.
	CorePath string
	// Dataset is the metadata path inside a local dataset (the layout of
	// internal/localdata, which the stand-in Core serves too).
	Dataset string
	// PathKey and RefreshKey are the operator config keys of the metadata
	// path and of the refresh interval in milliseconds (§4.1).
	PathKey    string
	RefreshKey string
	// Switch is the boolean config key that turns the part on; "" means
	// always on.
	Switch string
	// BootstrapKeys are the operator config keys the part is built from
	// when its Switch is off, instead of being loaded (the reference's
	// bootstrap config: the runtime config with enable_remote_config=false),
	// in Core and local mode alike. Store.LoadBootstrap builds such parts.
	BootstrapKeys []string
	// CoreOnly parts are never loaded in local mode (the embedded dataset
	// has none).
	CoreOnly bool
	// PublicOnly parts are refused to private operators by Core (403).
	PublicOnly bool
	// Name is how messages for people name the part ("sites").
	Name string

	// decode parses the data (FormatLocated: the file at the location;
	// FormatInline: the metadata document) into the setter that publishes
	// it and the data's version. Unused for FormatSalts.
	decode func(version int64, data []byte) (set func(*Snapshot), v int64, err error)
	// count returns the part's entry count in s, false when absent.
	count func(s *Snapshot) (int, bool)
	// bootstrap builds the part from config keys (BootstrapKeys).
	bootstrap func(cfg Settings) (set func(*Snapshot), err error)
}

// parts is the table of store parts, in load order: sites and keypairs
// before clients, keys before keysets, salts last of the required ones.
var parts = []PartSpec{
	{Part: PartSites, MetadataKey: KeySites, CorePath: "/sites/refresh", Dataset: "sites/metadata.json",
		PathKey: "sites_metadata_path", RefreshKey: "site_refresh_ms", Switch: "client_side_token_generate", PublicOnly: true, Name: "sites",
		decode: located(ParseSites, NewSites, func(s *Snapshot, v *Sites) { s.Sites = v }),
		count:  counted(func(s *Snapshot) *Sites { return s.Sites })},
	{Part: PartKeypairs, MetadataKey: KeyClientSideKeypairs, CorePath: "/client_side_keypairs/refresh", Dataset: "client_side_keypairs/metadata.json",
		PathKey: "client_side_keypairs_metadata_path", RefreshKey: "client_side_keypairs_refresh_ms", Switch: "client_side_token_generate", PublicOnly: true, Name: "keypairs",
		decode: located(ParseClientSideKeypairs, NewClientSideKeypairs, func(s *Snapshot, v *ClientSideKeypairs) { s.Keypairs = v }),
		count:  counted(func(s *Snapshot) *ClientSideKeypairs { return s.Keypairs })},
	{Part: PartRuntime, Format: FormatInline, CorePath: "/operator/config", Dataset: "runtime_config/metadata.json",
		PathKey: "runtime_config_metadata_path", RefreshKey: "config_scan_period_ms", Switch: "enable_remote_config", Name: "runtime config",
		BootstrapKeys: RuntimeConfigKeys,
		decode:        inlineRuntimeConfig, bootstrap: bootstrapRuntimeConfig},
	{Part: PartClients, MetadataKey: KeyClients, CorePath: "/clients/refresh", Dataset: "clients/metadata.json",
		PathKey: "clients_metadata_path", RefreshKey: "auth_refresh_ms", Name: "clients",
		decode: located(ParseClients, NewClients, func(s *Snapshot, v *Clients) { s.Clients = v }),
		count:  counted(func(s *Snapshot) *Clients { return s.Clients })},
	{Part: PartKeys, MetadataKey: KeyKeysetKeys, CorePath: "/key/keyset-keys/refresh", Dataset: "keyset_keys/metadata.json",
		PathKey: "keyset_keys_metadata_path", RefreshKey: "keysetkey_refresh_ms", Name: "keyset keys",
		decode: located(ParseKeysetKeys, NewKeysetKeys, func(s *Snapshot, v *KeysetKeys) { s.Keys = v }),
		count:  counted(func(s *Snapshot) *KeysetKeys { return s.Keys })},
	{Part: PartKeysets, MetadataKey: KeyKeysets, CorePath: "/key/keyset/refresh", Dataset: "keysets/metadata.json",
		PathKey: "keysets_metadata_path", RefreshKey: "keyset_refresh_ms", Name: "keysets",
		decode: located(ParseKeysets, NewKeysets, func(s *Snapshot, v *Keysets) { s.Keysets = v }),
		count:  counted(func(s *Snapshot) *Keysets { return s.Keysets })},
	{Part: PartSalts, Format: FormatSalts, CorePath: "/salt/refresh", Dataset: "salts/metadata.json",
		PathKey: "salts_metadata_path", RefreshKey: "salt_refresh_ms", Name: "salts"},
	{Part: PartServices, MetadataKey: KeyServices, CorePath: "/services/refresh", Dataset: "services/metadata.json",
		PathKey: "services_metadata_path", RefreshKey: "service_refresh_ms", Switch: "validate_service_links", CoreOnly: true, PublicOnly: true, Name: "services",
		decode: located(ParseServices, NewServices, func(s *Snapshot, v *Services) { s.Services = v }),
		count:  counted(func(s *Snapshot) *Services { return s.Services })},
	{Part: PartServiceLinks, MetadataKey: KeyServiceLinks, CorePath: "/service_links/refresh", Dataset: "service_links/metadata.json",
		PathKey: "service_links_metadata_path", RefreshKey: "service_link_refresh_ms", Switch: "validate_service_links", CoreOnly: true, PublicOnly: true, Name: "service links",
		decode: located(ParseServiceLinks, NewServiceLinks, func(s *Snapshot, v *ServiceLinks) { s.ServiceLinks = v }),
		count:  counted(func(s *Snapshot) *ServiceLinks { return s.ServiceLinks })},
}

// Parts returns the table of store parts in load order. The slice is a
// copy; callers may not change the table.
func Parts() []PartSpec {
	out := make([]PartSpec, len(parts))
	copy(out, parts)
	return out
}

// Spec returns part's row of the table.
func Spec(part Part) (PartSpec, bool) {
	for _, p := range parts {
		if p.Part == part {
			return p, true
		}
	}
	return PartSpec{}, false
}

// DatasetPaths returns the dataset path of each named part, or with none
// named, of every part local mode can load (all but CoreOnly ones).
func DatasetPaths(names ...Part) Paths {
	out := Paths{}
	for _, p := range parts {
		if (len(names) == 0 && !p.CoreOnly) || slices.Contains(names, p.Part) {
			out[p.Part] = p.Dataset
		}
	}
	return out
}

// CorePaths returns the metadata URL below coreURL of each named part, or
// with none named, of every part.
func CorePaths(coreURL string, names ...Part) Paths {
	out := Paths{}
	base := strings.TrimRight(coreURL, "/")
	for _, p := range parts {
		if len(names) == 0 || slices.Contains(names, p.Part) {
			out[p.Part] = base + p.CorePath
		}
	}
	return out
}

// located builds the decoder of a FormatLocated part: parse the file, wrap
// the list with its metadata version, publish it with set.
func located[T any, V any](parse func([]byte) ([]T, error), build func(int64, []T) V, set func(*Snapshot, V)) func(int64, []byte) (func(*Snapshot), int64, error) {
	return func(version int64, data []byte) (func(*Snapshot), int64, error) {
		list, err := parse(data)
		if err != nil {
			return nil, 0, err
		}
		v := build(version, list)
		return func(s *Snapshot) { set(s, v) }, version, nil
	}
}

// inlineRuntimeConfig decodes the runtime config document, which carries
// its own version.
func inlineRuntimeConfig(_ int64, data []byte) (func(*Snapshot), int64, error) {
	rc, err := ParseRuntimeConfig(data)
	if err != nil {
		return nil, 0, err
	}
	return func(s *Snapshot) { s.Runtime = &rc }, rc.Version, nil
}

// bootstrapRuntimeConfig builds the runtime config from the operator
// config keys.
func bootstrapRuntimeConfig(cfg Settings) (func(*Snapshot), error) {
	rc, err := RuntimeConfigFromSettings(cfg)
	if err != nil {
		return nil, err
	}
	return func(s *Snapshot) { s.Runtime = &rc }, nil
}

// Bootstrapped reports whether cfg turns the part off and it is built from
// config keys instead (BootstrapKeys), so it is not loaded from a source.
func (p PartSpec) Bootstrapped(cfg Settings) bool {
	return p.bootstrap != nil && p.Switch != "" && !cfg.Bool(p.Switch)
}

// LoadBootstrap builds every part cfg bootstraps (PartSpec.Bootstrapped)
// from its config keys and publishes it, before any loading; it returns
// the parts it published. An error names the part and the key, and
// publishes nothing.
func (s *Store) LoadBootstrap(cfg Settings) ([]Part, error) {
	var done []Part
	var sets []func(*Snapshot)
	for _, p := range parts {
		if !p.Bootstrapped(cfg) {
			continue
		}
		set, err := p.bootstrap(cfg)
		if err != nil {
			return nil, fmt.Errorf("%s from the operator config (%s is false): %w", p.Name, p.Switch, err)
		}
		done, sets = append(done, p.Part), append(sets, set)
	}
	for i, p := range done {
		s.update(p, sets[i])
	}
	return done, nil
}

// counted returns the entry counter of a part whose value has Len.
func counted[V interface {
	comparable
	Len() int
}](get func(*Snapshot) V) func(*Snapshot) (int, bool) {
	return func(s *Snapshot) (int, bool) {
		var zero V
		v := get(s)
		if v == zero {
			return 0, false
		}
		return v.Len(), true
	}
}

// EntryCounts calls yield with the entry count of each loaded part that has
// entries (salts and the runtime config have none), in table order.
func (s *Snapshot) EntryCounts(yield func(Part, int)) {
	for _, p := range parts {
		if p.count == nil {
			continue
		}
		if n, ok := p.count(s); ok {
			yield(p.Part, n)
		}
	}
}

// loadSalts fetches every salt file of a salts metadata document and
// builds the set (core-and-optout.md §2.4.1).
func loadSalts(ctx context.Context, src Source, md salts.Metadata, now time.Time) (*SaltSet, error) {
	tables := make([]*salts.Table, len(md.Files))
	for i, f := range md.Files {
		b, err := src.Fetch(ctx, f.Location)
		if err != nil {
			return nil, fmt.Errorf("file %d: %w", i, err)
		}
		if tables[i], err = salts.ParseFileBytes(b, f.Size); err != nil {
			return nil, fmt.Errorf("file %d: %w", i, err)
		}
	}
	set, err := salts.NewSet(md, tables, now)
	if err != nil {
		return nil, err
	}
	return NewSaltSet(set), nil
}
