package standin

import (
	"encoding/json"
	"fmt"
	"io/fs"
	"net/http"
	"path"
	"strconv"
	"strings"

	"github.com/uid2-private-operator/uid2-operator/internal/store"
)

// serveStoreMetadata returns the refresh endpoint of store part p: its
// metadata document from the dataset, with every location rewritten to a
// URL of the stand-in (encrypted for operators that ask for it).
func (s *Server) serveStoreMetadata(p store.PartSpec) func(http.ResponseWriter, *http.Request, *Operator) error {
	switch p.Format {
	case store.FormatSalts:
		return func(w http.ResponseWriter, r *http.Request, op *Operator) error {
			return s.serveSaltsMetadata(w, r, op, p.Dataset)
		}
	case store.FormatInline:
		return func(w http.ResponseWriter, _ *http.Request, _ *Operator) error {
			return s.serveDatasetFile(w, p.Dataset, "application/json")
		}
	default:
		return func(w http.ResponseWriter, r *http.Request, op *Operator) error {
			return s.serveMetadata(w, r, op, p.Dataset, p.MetadataKey)
		}
	}
}

// serveFile is GET /files/{path}: a dataset file as it is.
func (s *Server) serveFile(w http.ResponseWriter, r *http.Request) error {
	return s.serveDatasetFile(w, r.PathValue("path"), "application/octet-stream")
}

func (s *Server) serveDatasetFile(w http.ResponseWriter, p, ctype string) error {
	b, err := fs.ReadFile(s.opt.Dataset, path.Clean(p))
	if err != nil {
		return notFound()
	}
	w.Header().Set("Content-Type", ctype)
	w.Header().Set("Content-Length", strconv.Itoa(len(b)))
	w.Write(b)
	return nil
}

// location rewrites a dataset path to the URL that serves it: plain, or
// encrypted with the operator site's newest cloud key.
func (s *Server) location(r *http.Request, op *Operator, p string) (string, error) {
	if r.Header.Get("Encrypted") != "true" {
		return baseURL(r) + "/files/" + p, nil
	}
	k := s.siteKey(op.SiteID)
	if k == nil {
		return "", jsonError(http.StatusInternalServerError, "error", fmt.Sprintf("no cloud encryption key for site %d", op.SiteID))
	}
	return fmt.Sprintf("%s/efiles/%d/%s", baseURL(r), k.ID, p), nil
}

func (s *Server) serveMetadata(w http.ResponseWriter, r *http.Request, op *Operator, file, key string) error {
	failed := jsonError(http.StatusInternalServerError, "error", "error processing "+key+" refresh")
	b, err := fs.ReadFile(s.opt.Dataset, file)
	if err != nil {
		return failed
	}
	md, err := store.ParseMetadata(b, key)
	if err != nil {
		return failed
	}
	var doc map[string]any
	json.Unmarshal(b, &doc)
	loc, err := s.location(r, op, md.Location)
	if err != nil {
		return err
	}
	doc[key] = map[string]string{"location": loc}
	writeJSON(w, http.StatusOK, doc)
	return nil
}

func (s *Server) serveSaltsMetadata(w http.ResponseWriter, r *http.Request, op *Operator, file string) error {
	failed := jsonError(http.StatusInternalServerError, "error", "error processing salts refresh")
	b, err := fs.ReadFile(s.opt.Dataset, file)
	var doc map[string]any
	if err == nil {
		dec := json.NewDecoder(strings.NewReader(string(b)))
		dec.UseNumber()
		err = dec.Decode(&doc)
	}
	files, _ := doc["salts"].([]any)
	if err != nil || len(files) == 0 {
		return failed
	}
	for _, f := range files {
		entry, _ := f.(map[string]any)
		p, _ := entry["location"].(string)
		if entry == nil || p == "" {
			return failed
		}
		if entry["location"], err = s.location(r, op, p); err != nil {
			return err
		}
	}
	writeJSON(w, http.StatusOK, doc)
	return nil
}

// serveCloudKeys is /cloud_encryption_keys/retrieve: the operator site's keys.
func (s *Server) serveCloudKeys(w http.ResponseWriter, _ *http.Request, op *Operator) error {
	var keys []store.CloudEncryptionKey
	for _, k := range s.opt.CloudKeys {
		if k.SiteID == op.SiteID {
			keys = append(keys, k)
		}
	}
	if len(keys) == 0 {
		return jsonError(http.StatusInternalServerError, "error", "no cloud encryption keys for the site")
	}
	writeJSON(w, http.StatusOK, map[string]any{"cloud_encryption_keys": keys})
	return nil
}

// serveEncrypted is GET /efiles/{key}/{path}: a dataset file sealed with
// cloud encryption key {key} (§2.5).
func (s *Server) serveEncrypted(w http.ResponseWriter, r *http.Request) error {
	var key *store.CloudEncryptionKey
	if id, err := strconv.ParseInt(r.PathValue("key"), 10, 32); err == nil {
		key = s.keyByID(id)
	}
	b, err := fs.ReadFile(s.opt.Dataset, path.Clean(r.PathValue("path")))
	if key == nil || err != nil {
		return notFound()
	}
	out, err := store.EncryptFile(key.ID, key.Secret, b)
	if err != nil {
		return fmt.Errorf("encrypt %s: %w", r.PathValue("path"), err)
	}
	w.Header().Set("Content-Type", "application/json")
	w.Write(out)
	return nil
}
