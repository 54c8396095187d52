package standin

import (
	"bytes"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/uid2-private-operator/uid2-operator/internal/optout"
)

// deltaFile is one published opt-out file.
type deltaFile struct {
	// name is <folder>delta/<date>/optout-delta-000_<ts>_<hex>.dat or
	// <folder>partition/optout-partition-000_<ts>_<hex>.dat.
	name string
	typ  string // "delta" or "partition"
	data []byte
	from int64
	to   int64
}

// reservedHashes are first-level hashes Opt-Out refuses: all zeros and all
// ones, which the opt-out file format uses as sentinels.
var reservedHashes = [][32]byte{{}, allFF}

var allFF = [32]byte{0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF,
	0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF}

// handleReplicate is POST /optout/replicate (§3.5): the record goes into
// the next delta file.
func (s *Server) handleReplicate(w http.ResponseWriter, r *http.Request) error {
	if s.operator(r) == nil {
		return unauthorized("unrecognized_key")
	}
	q := r.URL.Query()
	if len(q["identity_hash"]) != 1 || len(q["advertising_id"]) != 1 {
		return jsonError(http.StatusBadRequest, "client_error", "identity_hash and advertising_id are required")
	}
	h, err1 := base64.StdEncoding.DecodeString(q.Get("identity_hash"))
	ad, err2 := base64.StdEncoding.DecodeString(q.Get("advertising_id"))
	if err1 != nil || err2 != nil || len(h) != 32 || (len(ad) != 32 && len(ad) != 33) {
		return jsonError(http.StatusBadRequest, "client_error", "bad identity_hash or advertising_id")
	}
	var rec optout.Record
	copy(rec.FLH[:], h)
	if slices.Contains(reservedHashes, rec.FLH) {
		return jsonError(http.StatusBadRequest, "client_error", "reserved identity_hash")
	}
	rec.AdIDLen = uint8(copy(rec.AdvertisingID[:], ad))
	now := s.opt.Now().Unix()
	rec.Timestamp = now
	s.mu.Lock()
	s.pending = optout.AppendRecord(s.pending, &rec)
	s.mu.Unlock()
	w.Header().Set("Content-Type", "text/plain")
	io.WriteString(w, strconv.FormatInt(now, 10))
	return nil
}

// AddPartition publishes a partition file named for time at: recs sorted
// by first-level hash, as Opt-Out writes them (§3.3). The core subcommand
// publishes the dataset's opt-outs this way.
func (s *Server) AddPartition(at time.Time, recs ...optout.Record) {
	at = at.UTC().Truncate(time.Second)
	sorted := slices.Clone(recs)
	slices.SortFunc(sorted, func(a, b optout.Record) int { return bytes.Compare(a.FLH[:], b.FLH[:]) })
	var data []byte
	for i := range sorted {
		data = optout.AppendRecord(data, &sorted[i])
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.deltas = append(s.deltas, deltaFile{name: s.optoutName("partition", at), typ: "partition", data: data, from: at.Unix(), to: at.Unix()})
}

// addDelta publishes a delta file named for time at, holding recs between
// the delta sentinels.
func (s *Server) addDelta(at time.Time, recs ...optout.Record) {
	at = at.UTC().Truncate(time.Second)
	data := optout.AppendSentinel(nil, false, at.Unix())
	for i := range recs {
		data = optout.AppendRecord(data, &recs[i])
	}
	data = optout.AppendSentinel(data, true, at.Unix())
	s.mu.Lock()
	defer s.mu.Unlock()
	s.deltas = append(s.deltas, deltaFile{name: s.optoutName("delta", at), typ: "delta", data: data, from: at.Unix(), to: at.Unix()})
}

// addPending appends recs to the next delta file.
func (s *Server) addPending(recs ...optout.Record) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for i := range recs {
		s.pending = optout.AppendRecord(s.pending, &recs[i])
	}
}

// optoutName returns the S3 key of a delta or partition file (§3.2).
func (s *Server) optoutName(typ string, at time.Time) string {
	var rnd [4]byte
	rand.Read(rnd[:])
	file := fmt.Sprintf("optout-%s-000_%s_%s.dat", typ, strings.ReplaceAll(at.Format("2006-01-02T15:04:05Z"), ":", "."), hex.EncodeToString(rnd[:]))
	if typ == "partition" {
		return s.opt.OptoutFolder + "partition/" + file
	}
	return s.opt.OptoutFolder + "delta/" + at.Format("2006-01-02") + "/" + file
}

// rotate writes pending records into a new delta file that covers the
// time since the last file. Callers hold s.mu.
func (s *Server) rotate() {
	if len(s.pending) == 0 {
		return
	}
	now := s.opt.Now().UTC()
	from := now.Unix()
	if n := len(s.deltas); n > 0 {
		from = s.deltas[n-1].to
	}
	data := optout.AppendSentinel(nil, false, from)
	data = append(data, s.pending...)
	data = optout.AppendSentinel(data, true, now.Unix())
	s.pending = nil
	s.deltas = append(s.deltas, deltaFile{name: s.optoutName("delta", now), typ: "delta", data: data, from: from, to: now.Unix()})
}

// serveOptoutListing is GET /optout/refresh: pending records become a
// delta, then every file is listed with its time range.
func (s *Server) serveOptoutListing(w http.ResponseWriter, r *http.Request, _ *Operator) error {
	s.mu.Lock()
	s.rotate()
	logs := make([]map[string]any, 0, len(s.deltas))
	var version int64
	for _, d := range s.deltas {
		logs = append(logs, map[string]any{"type": d.typ, "from": d.from, "to": d.to, "location": baseURL(r) + "/optout/files/" + d.name})
		version = max(version, d.to)
	}
	s.mu.Unlock()
	if version == 0 {
		version = s.opt.Now().Unix()
	}
	writeJSON(w, http.StatusOK, map[string]any{"version": version, "generated": s.opt.Now().Unix(), "optout_logs": logs})
	return nil
}

// serveOptoutFile is GET /optout/files/{name}: one listed file.
func (s *Server) serveOptoutFile(w http.ResponseWriter, r *http.Request) error {
	name := r.PathValue("path")
	s.mu.Lock()
	var data []byte
	for _, d := range s.deltas {
		if d.name == name {
			data = d.data
		}
	}
	s.mu.Unlock()
	if data == nil {
		return notFound()
	}
	w.Header().Set("Content-Type", "application/octet-stream")
	w.Header().Set("Content-Length", strconv.Itoa(len(data)))
	w.Write(data)
	return nil
}
