package salts

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
)

// Bounds on the metadata document. Production files have 1,048,576 buckets;
// the bounds only keep a broken or hostile document from sizing huge tables.
const (
	MaxSize  = 1 << 21 // most buckets a salt file may declare
	MaxFiles = 32      // most entries in "salts"
)

// Metadata is the salts metadata document Core returns from /salt/refresh
// (core-and-optout.md §2.4.1). Times are epoch milliseconds except Generated,
// which is epoch seconds.
type Metadata struct {
	Version    int64
	Generated  int64 // 0 when missing; the operator does not use it
	FirstLevel string
	IDPrefix   string
	IDSecret   string
	Files      []File
}

// File is one entry of "salts": a salt file and its validity window.
type File struct {
	Effective int64 // epoch ms
	Expires   int64 // epoch ms; 0 when missing (NewSet then uses load time + 365 days)
	Location  string
	Size      int // number of buckets (lines)
}

var (
	errWrongType = errors.New("wrong JSON type")
	errEmpty     = errors.New("must not be empty")
)

// ParseMetadata decodes and validates a salts metadata document. version,
// first_level, id_prefix, id_secret and a non-empty salts array with
// effective, location and size in each entry are required; generated and
// expires are optional; unknown fields are ignored. An explicit null counts as
// missing, and an explicit "expires": 0 is treated like a missing one.
func ParseMetadata(b []byte) (Metadata, error) {
	var top map[string]json.RawMessage
	if err := json.Unmarshal(b, &top); err != nil {
		return Metadata{}, fmt.Errorf("salts metadata: %w", err)
	}
	if top == nil {
		return Metadata{}, errors.New("salts metadata: not a JSON object")
	}
	var md Metadata
	var err error
	if md.Version, _, err = getInt(top, "version", "version", true); err != nil {
		return Metadata{}, err
	}
	if md.Generated, _, err = getInt(top, "generated", "generated", false); err != nil {
		return Metadata{}, err
	}
	if md.FirstLevel, err = getString(top, "first_level", "first_level"); err != nil {
		return Metadata{}, err
	}
	if md.FirstLevel == "" {
		// An empty first-level salt would make first-level hashes guessable.
		return Metadata{}, &FieldError{Field: "first_level", Err: errEmpty}
	}
	if md.IDPrefix, err = getString(top, "id_prefix", "id_prefix"); err != nil {
		return Metadata{}, err
	}
	if md.IDSecret, err = getString(top, "id_secret", "id_secret"); err != nil {
		return Metadata{}, err
	}

	raw, ok := present(top, "salts")
	if !ok {
		return Metadata{}, &FieldError{Field: "salts", Err: ErrMissing}
	}
	var files []json.RawMessage
	if err := json.Unmarshal(raw, &files); err != nil {
		return Metadata{}, &FieldError{Field: "salts", Err: errWrongType}
	}
	if len(files) == 0 {
		// Java's getSnapshot fails on an empty list; refuse it up front.
		return Metadata{}, &FieldError{Field: "salts", Err: errEmpty}
	}
	if len(files) > MaxFiles {
		return Metadata{}, &FieldError{Field: "salts", Err: fmt.Errorf("more than %d entries (got %d)", MaxFiles, len(files))}
	}
	md.Files = make([]File, len(files))
	for i, fr := range files {
		f, err := parseFileEntry(fr, fmt.Sprintf("salts[%d]", i))
		if err != nil {
			return Metadata{}, err
		}
		md.Files[i] = f
	}
	return md, nil
}

func parseFileEntry(raw json.RawMessage, path string) (File, error) {
	var obj map[string]json.RawMessage
	if err := json.Unmarshal(raw, &obj); err != nil || obj == nil {
		return File{}, &FieldError{Field: path, Err: errWrongType}
	}
	var f File
	var err error
	if f.Effective, _, err = getInt(obj, "effective", path+".effective", true); err != nil {
		return File{}, err
	}
	if f.Expires, _, err = getInt(obj, "expires", path+".expires", false); err != nil {
		return File{}, err
	}
	if f.Location, err = getString(obj, "location", path+".location"); err != nil {
		return File{}, err
	}
	if f.Location == "" {
		return File{}, &FieldError{Field: path + ".location", Err: errEmpty}
	}
	size, _, err := getInt(obj, "size", path+".size", true)
	if err != nil {
		return File{}, err
	}
	if size < 1 || size > MaxSize {
		return File{}, &FieldError{Field: path + ".size", Err: fmt.Errorf("must be 1..%d (got %d)", MaxSize, size)}
	}
	f.Size = int(size)
	return f, nil
}

// present returns the raw value of key unless it is absent or null.
func present(obj map[string]json.RawMessage, key string) (json.RawMessage, bool) {
	v, ok := obj[key]
	if !ok || bytes.Equal(bytes.TrimSpace(v), []byte("null")) {
		return nil, false
	}
	return v, true
}

func getInt(obj map[string]json.RawMessage, key, path string, required bool) (int64, bool, error) {
	v, ok := present(obj, key)
	if !ok {
		if required {
			return 0, false, &FieldError{Field: path, Err: ErrMissing}
		}
		return 0, false, nil
	}
	var n int64
	if err := json.Unmarshal(v, &n); err != nil {
		return 0, false, &FieldError{Field: path, Err: errors.New("must be an integer")}
	}
	return n, true, nil
}

func getString(obj map[string]json.RawMessage, key, path string) (string, error) {
	v, ok := present(obj, key)
	if !ok {
		return "", &FieldError{Field: path, Err: ErrMissing}
	}
	var s string
	if err := json.Unmarshal(v, &s); err != nil {
		return "", &FieldError{Field: path, Err: errors.New("must be a string")}
	}
	return s, nil
}

type jsonFile struct {
	Effective int64  `json:"effective"`
	Expires   int64  `json:"expires,omitempty"`
	Location  string `json:"location"`
	Size      int    `json:"size"`
}

type jsonMetadata struct {
	Version    int64      `json:"version"`
	Generated  int64      `json:"generated"`
	FirstLevel string     `json:"first_level"`
	IDPrefix   string     `json:"id_prefix"`
	IDSecret   string     `json:"id_secret"`
	Salts      []jsonFile `json:"salts"`
}

// MarshalJSON writes the document in Core's format, with the field names of
// core-and-optout.md §2.4.1. An Expires of 0 is omitted.
func (m Metadata) MarshalJSON() ([]byte, error) {
	j := jsonMetadata{
		Version:    m.Version,
		Generated:  m.Generated,
		FirstLevel: m.FirstLevel,
		IDPrefix:   m.IDPrefix,
		IDSecret:   m.IDSecret,
		Salts:      make([]jsonFile, len(m.Files)),
	}
	for i, f := range m.Files {
		j.Salts[i] = jsonFile(f)
	}
	return json.Marshal(j)
}
