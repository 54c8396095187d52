package store

import (
	"context"
	"fmt"
	"io/fs"
	"path"
	"strings"
	"sync"
	"time"

	"github.com/uid2-private-operator/uid2-operator/internal/salts"
)

// Source fetches a metadata document or data file by location: a dataset
// path in local mode, a URL in Core mode.
type Source interface {
	Fetch(ctx context.Context, location string) ([]byte, error)
}

// FSSource reads locations from a file system (the embedded dataset or a
// dataset directory). Leading slashes are ignored.
type FSSource struct{ FS fs.FS }

// Fetch reads location from the file system.
func (s FSSource) Fetch(_ context.Context, location string) ([]byte, error) {
	p := path.Clean(strings.TrimLeft(location, "/"))
	if !fs.ValidPath(p) {
		return nil, fmt.Errorf("invalid dataset path %q", location)
	}
	return fs.ReadFile(s.FS, p)
}

// Paths are the metadata locations of each store. An empty path disables
// that store.
type Paths struct {
	Clients       string
	Keysets       string
	KeysetKeys    string
	Salts         string
	Sites         string
	Keypairs      string
	RuntimeConfig string
	Services      string
	ServiceLinks  string
}

// Loader loads stores from a Source into a Store, reloading a store only
// when its metadata version grows (core-and-optout.md §2.1).
type Loader struct {
	Src   Source
	Store *Store
	Paths Paths
	Now   func() time.Time

	mu       sync.Mutex
	versions map[Part]int64
}

// Parts returns the enabled parts in load order.
func (l *Loader) Parts() []Part {
	var out []Part
	for _, p := range []struct {
		part Part
		path string
	}{
		{PartSites, l.Paths.Sites}, {PartKeypairs, l.Paths.Keypairs}, {PartRuntime, l.Paths.RuntimeConfig},
		{PartClients, l.Paths.Clients}, {PartKeys, l.Paths.KeysetKeys}, {PartKeysets, l.Paths.Keysets},
		{PartSalts, l.Paths.Salts}, {PartServices, l.Paths.Services}, {PartServiceLinks, l.Paths.ServiceLinks},
	} {
		if p.path != "" {
			out = append(out, p.part)
		}
	}
	return out
}

// LoadAll loads every enabled part once and fails on the first error.
func (l *Loader) LoadAll(ctx context.Context) error {
	for _, p := range l.Parts() {
		if _, err := l.Load(ctx, p); err != nil {
			return err
		}
	}
	return nil
}

// Load fetches part's metadata and, if its version is newer than the one
// loaded, its data; the new part is validated and swapped in whole. It
// reports whether the part changed. On error the previous part stays.
func (l *Loader) Load(ctx context.Context, part Part) (bool, error) {
	mdPath := l.path(part)
	md, err := l.Src.Fetch(ctx, mdPath)
	if err != nil {
		return false, fmt.Errorf("%s: metadata: %w", part, err)
	}
	if part == PartRuntime {
		rc, err := ParseRuntimeConfig(md)
		if err != nil {
			return false, fmt.Errorf("%s: %w", part, err)
		}
		if !l.newer(part, rc.Version) {
			return false, nil
		}
		l.Store.SetRuntimeConfig(&rc)
		l.setVersion(part, rc.Version)
		return true, nil
	}
	if part == PartSalts {
		return l.loadSalts(ctx, md)
	}
	m, err := ParseMetadata(md, metadataKey(part))
	if err != nil {
		return false, fmt.Errorf("%s: %w", part, err)
	}
	if !l.newer(part, m.Version) {
		return false, nil
	}
	data, err := l.Src.Fetch(ctx, m.Location)
	if err != nil {
		return false, fmt.Errorf("%s: data: %w", part, err)
	}
	if err := l.apply(part, m.Version, data); err != nil {
		return false, fmt.Errorf("%s: %w", part, err)
	}
	l.setVersion(part, m.Version)
	return true, nil
}

func (l *Loader) apply(part Part, version int64, data []byte) error {
	switch part {
	case PartClients:
		list, err := ParseClients(data)
		if err != nil {
			return err
		}
		l.Store.SetClients(NewClients(version, list))
	case PartKeysets:
		list, err := ParseKeysets(data)
		if err != nil {
			return err
		}
		l.Store.SetKeysets(NewKeysets(version, list))
	case PartKeys:
		list, err := ParseKeysetKeys(data)
		if err != nil {
			return err
		}
		l.Store.SetKeysetKeys(NewKeysetKeys(version, list))
	case PartSites:
		list, err := ParseSites(data)
		if err != nil {
			return err
		}
		l.Store.SetSites(NewSites(version, list))
	case PartKeypairs:
		list, err := ParseClientSideKeypairs(data)
		if err != nil {
			return err
		}
		l.Store.SetClientSideKeypairs(NewClientSideKeypairs(version, list))
	case PartServices:
		list, err := ParseServices(data)
		if err != nil {
			return err
		}
		l.Store.SetServices(NewServices(version, list))
	case PartServiceLinks:
		list, err := ParseServiceLinks(data)
		if err != nil {
			return err
		}
		l.Store.SetServiceLinks(NewServiceLinks(version, list))
	default:
		return fmt.Errorf("unknown store part %q", part)
	}
	return nil
}

func (l *Loader) loadSalts(ctx context.Context, mdBytes []byte) (bool, error) {
	md, err := salts.ParseMetadata(mdBytes)
	if err != nil {
		return false, fmt.Errorf("%s: %w", PartSalts, err)
	}
	if !l.newer(PartSalts, md.Version) {
		return false, nil
	}
	tables := make([]*salts.Table, len(md.Files))
	for i, f := range md.Files {
		b, err := l.Src.Fetch(ctx, f.Location)
		if err != nil {
			return false, fmt.Errorf("%s: file %d: %w", PartSalts, i, err)
		}
		if tables[i], err = salts.ParseFileBytes(b, f.Size); err != nil {
			return false, fmt.Errorf("%s: file %d: %w", PartSalts, i, err)
		}
	}
	now := time.Now
	if l.Now != nil {
		now = l.Now
	}
	set, err := salts.NewSet(md, tables, now())
	if err != nil {
		return false, fmt.Errorf("%s: %w", PartSalts, err)
	}
	l.Store.SetSalts(NewSaltSet(set))
	l.setVersion(PartSalts, md.Version)
	return true, nil
}

func (l *Loader) newer(part Part, v int64) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	cur, ok := l.versions[part]
	return !ok || v > cur
}

func (l *Loader) setVersion(part Part, v int64) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.versions == nil {
		l.versions = map[Part]int64{}
	}
	l.versions[part] = v
}

// Version returns the loaded metadata version of part (0 when not loaded).
func (l *Loader) Version(part Part) int64 {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.versions[part]
}

func (l *Loader) path(part Part) string {
	switch part {
	case PartClients:
		return l.Paths.Clients
	case PartKeysets:
		return l.Paths.Keysets
	case PartKeys:
		return l.Paths.KeysetKeys
	case PartSalts:
		return l.Paths.Salts
	case PartSites:
		return l.Paths.Sites
	case PartKeypairs:
		return l.Paths.Keypairs
	case PartRuntime:
		return l.Paths.RuntimeConfig
	case PartServices:
		return l.Paths.Services
	case PartServiceLinks:
		return l.Paths.ServiceLinks
	}
	return ""
}

func metadataKey(part Part) string {
	switch part {
	case PartClients:
		return KeyClients
	case PartKeysets:
		return KeyKeysets
	case PartKeys:
		return KeyKeysetKeys
	case PartSites:
		return KeySites
	case PartKeypairs:
		return KeyClientSideKeypairs
	case PartServices:
		return KeyServices
	case PartServiceLinks:
		return KeyServiceLinks
	}
	return ""
}
