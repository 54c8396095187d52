package localdata

import (
	"bytes"
	"embed"
	"encoding/json"
	"fmt"
	"io"
	"io/fs"
	"strconv"
	"time"
)

//go:generate go run ../../cmd/uid2-operator local generate --dir dataset

//go:embed dataset
var embedded embed.FS

// Embedded returns the dataset exactly as generated, without re-basing.
func Embedded() fs.FS {
	sub, err := fs.Sub(embedded, "dataset")
	if err != nil {
		panic(err) // the directory is embedded at build time
	}
	return sub
}

// Open returns the embedded dataset with salt timestamps moved forward by the
// whole days between Generated and now, so bucket rotation ages stay as
// generated relative to the current date.
func Open(now time.Time) (fs.FS, error) {
	return Rebase(Embedded(), now)
}

// ReadCredentials returns the demo credentials of the embedded dataset.
func ReadCredentials() (Credentials, error) {
	var c Credentials
	b, err := fs.ReadFile(Embedded(), CredentialsFile)
	if err != nil {
		return c, err
	}
	if err := json.Unmarshal(b, &c); err != nil {
		return c, fmt.Errorf("%s: %w", CredentialsFile, err)
	}
	return c, nil
}

// Rebase returns fsys with the salts metadata and salt files shifted by the
// whole days between Generated and now (never backwards).
func Rebase(fsys fs.FS, now time.Time) (fs.FS, error) {
	shift := now.UTC().Truncate(24 * time.Hour).Sub(Generated).Milliseconds()
	if shift <= 0 {
		return fsys, nil
	}
	md, err := fs.ReadFile(fsys, SaltsMetadata)
	if err != nil {
		return nil, err
	}
	var doc map[string]any
	dec := json.NewDecoder(bytes.NewReader(md))
	dec.UseNumber()
	if err := dec.Decode(&doc); err != nil {
		return nil, fmt.Errorf("%s: %w", SaltsMetadata, err)
	}
	files, _ := doc["salts"].([]any)
	over := overlay{base: fsys, files: map[string][]byte{}}
	for _, f := range files {
		entry, _ := f.(map[string]any)
		if entry == nil {
			return nil, fmt.Errorf("%s: salts: entry is not an object", SaltsMetadata)
		}
		for _, k := range []string{"effective", "expires"} {
			if n, ok := entry[k].(json.Number); ok {
				v, err := n.Int64()
				if err != nil {
					return nil, fmt.Errorf("%s: %s: %w", SaltsMetadata, k, err)
				}
				entry[k] = v + shift
			}
		}
		loc, _ := entry["location"].(string)
		body, err := fs.ReadFile(fsys, loc)
		if err != nil {
			return nil, err
		}
		shifted, err := shiftSaltTimes(body, shift)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", loc, err)
		}
		over.files[loc] = shifted
	}
	out, err := json.Marshal(doc)
	if err != nil {
		return nil, err
	}
	over.files[SaltsMetadata] = out
	return over, nil
}

// shiftSaltTimes adds shift to the lastUpdated (1) and refreshFrom (3) columns.
func shiftSaltTimes(body []byte, shift int64) ([]byte, error) {
	var out bytes.Buffer
	out.Grow(len(body) + len(body)/40)
	for n := 1; len(body) > 0; n++ {
		line := body
		if i := bytes.IndexByte(body, '\n'); i >= 0 {
			line, body = body[:i], body[i+1:]
		} else {
			body = nil
		}
		cols := bytes.Split(line, []byte{','})
		for _, c := range []int{1, 3} {
			if c >= len(cols) || len(bytes.TrimSpace(cols[c])) == 0 {
				continue
			}
			v, err := strconv.ParseInt(string(bytes.TrimSpace(cols[c])), 10, 64)
			if err != nil {
				return nil, fmt.Errorf("line %d column %d: %w", n, c, err)
			}
			cols[c] = strconv.AppendInt(nil, v+shift, 10)
		}
		out.Write(bytes.Join(cols, []byte{','}))
		out.WriteByte('\n')
	}
	return out.Bytes(), nil
}

// overlay serves replaced files from memory and the rest from base.
type overlay struct {
	base  fs.FS
	files map[string][]byte
}

func (o overlay) Open(name string) (fs.File, error) {
	if b, ok := o.files[name]; ok {
		return &memFile{name: name, r: bytes.NewReader(b), size: int64(len(b))}, nil
	}
	return o.base.Open(name)
}

type memFile struct {
	name string
	r    *bytes.Reader
	size int64
}

func (f *memFile) Stat() (fs.FileInfo, error) { return memInfo{f}, nil }
func (f *memFile) Read(p []byte) (int, error) { return f.r.Read(p) }
func (f *memFile) Close() error               { return nil }

var _ io.Reader = (*memFile)(nil)

type memInfo struct{ f *memFile }

func (i memInfo) Name() string       { return i.f.name }
func (i memInfo) Size() int64        { return i.f.size }
func (i memInfo) Mode() fs.FileMode  { return 0o444 }
func (i memInfo) ModTime() time.Time { return time.Time{} }
func (i memInfo) IsDir() bool        { return false }
func (i memInfo) Sys() any           { return nil }
