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

// Paths are the metadata locations of each part. A part without a path
// (or with "") is not loaded.
type Paths map[Part]string

// Loader loads stores from a Source into a Store, reloading a part only
// when its metadata version grows (core-and-optout.md §2.1). What it does
// for each part comes from the table of parts (Parts).
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
	for _, p := range parts {
		if l.Paths[p.Part] != "" {
			out = append(out, p.Part)
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
	spec, ok := Spec(part)
	if !ok {
		return false, fmt.Errorf("unknown store part %q", part)
	}
	md, err := l.Src.Fetch(ctx, l.Paths[part])
	if err != nil {
		return false, fmt.Errorf("%s: metadata: %w", part, err)
	}
	changed, err := l.load(ctx, spec, md)
	if err != nil {
		return false, fmt.Errorf("%s: %w", part, err)
	}
	return changed, nil
}

func (l *Loader) load(ctx context.Context, spec PartSpec, md []byte) (bool, error) {
	var (
		set     func(*Snapshot)
		version int64
	)
	switch spec.Format {
	case FormatInline:
		var err error
		if set, version, err = spec.decode(0, md); err != nil {
			return false, err
		}
		if !l.newer(spec.Part, version) {
			return false, nil
		}
	case FormatSalts:
		m, err := salts.ParseMetadata(md)
		if err != nil {
			return false, err
		}
		if !l.newer(spec.Part, m.Version) {
			return false, nil
		}
		now := time.Now
		if l.Now != nil {
			now = l.Now
		}
		v, err := loadSalts(ctx, l.Src, m, now())
		if err != nil {
			return false, err
		}
		set, version = func(s *Snapshot) { s.Salts = v }, m.Version
	default:
		m, err := ParseMetadata(md, spec.MetadataKey)
		if err != nil {
			return false, err
		}
		if !l.newer(spec.Part, m.Version) {
			return false, nil
		}
		data, err := l.Src.Fetch(ctx, m.Location)
		if err != nil {
			return false, fmt.Errorf("data: %w", err)
		}
		if set, version, err = spec.decode(m.Version, data); err != nil {
			return false, err
		}
	}
	l.Store.update(spec.Part, set)
	l.setVersion(spec.Part, version)
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
