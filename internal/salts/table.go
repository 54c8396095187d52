package salts

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"strconv"
)

// MaxLineLen bounds one salt file line in bytes, excluding the line ending. A
// production line is about 300 bytes.
const MaxLineLen = 2048

// numCols is how many columns a line must have; extra columns are ignored.
const numCols = 11

// Column names used in errors, in file order (core-and-optout.md §2.4.1).
var colNames = [numCols]string{
	"id", "lastUpdated", "currentSalt", "refreshFrom", "previousSalt",
	"currentKeyId", "currentKey", "currentKeySalt",
	"previousKeyId", "previousKey", "previousKeySalt",
}

// Arena layout: salt strings live in chunks of at most 1 MiB, and a record's
// 32-bit offset is chunk<<chunkBits | position. Chunks avoid the 2x peak of
// growing one big buffer, and a line never straddles two of them because
// MaxLineLen is far below the chunk size.
const (
	chunkBits = 20
	chunkSize = 1 << chunkBits
	chunkMask = chunkSize - 1
	maxChunks = 1 << (32 - chunkBits)
)

// KeyMaterial is the key a key-based bucket uses to build v4 raw UIDs
// (operator-api.md §3.4). Key and Salt are used as their raw ASCII bytes; Key
// is 16, 24 or 32 bytes. Salt may be empty (the file left it blank). Valid is
// false when the bucket has no such key material.
type KeyMaterial struct {
	ID    int32
	Key   string
	Salt  string
	Valid bool
}

// String redacts the key and salt.
func (k KeyMaterial) String() string {
	if !k.Valid {
		return "KeyMaterial{}"
	}
	return fmt.Sprintf("KeyMaterial{ID:%d Key:[redacted] Salt:[redacted]}", k.ID)
}

// LogValue redacts the key and salt.
func (k KeyMaterial) LogValue() slog.Value { return slog.StringValue(k.String()) }

// Entry is one salt bucket. An empty CurrentSalt or PreviousSalt means the
// file left it blank (Java null). A bucket without a current salt uses
// CurrentKey; if that is not Valid either, the reference operator fails the
// request, and so should callers.
type Entry struct {
	ID           int64 // column 0, the number hashed into the bucket id (§3.6)
	LastUpdated  int64 // epoch ms
	RefreshFrom  int64 // epoch ms
	CurrentSalt  string
	PreviousSalt string
	CurrentKey   KeyMaterial
	PreviousKey  KeyMaterial
}

// String redacts salts and keys.
func (e Entry) String() string {
	return fmt.Sprintf("Entry{ID:%d LastUpdated:%d RefreshFrom:%d CurrentSalt:%s PreviousSalt:%s CurrentKey:%v PreviousKey:%v}",
		e.ID, e.LastUpdated, e.RefreshFrom, redacted(e.CurrentSalt), redacted(e.PreviousSalt), e.CurrentKey, e.PreviousKey)
}

// LogValue redacts salts and keys.
func (e Entry) LogValue() slog.Value { return slog.StringValue(e.String()) }

func redacted(s string) string {
	if s == "" {
		return `""`
	}
	return "[redacted]"
}

// MaxSaltLen bounds a salt string in bytes; production salts are 44 bytes.
const MaxSaltLen = 1<<lenBits - 1

// record is the fixed-size storage of one bucket: 32 bytes, 8 fewer than
// separate length and key index fields would take. The previous salt follows
// the current salt in the arena. cur and prev each pack a salt length (top
// lenBits bits) and 1 + an index into Table.keys (0 = no key material); a file
// of MaxSize lines has at most 2*MaxSize key materials, which fits keyBits.
type record struct {
	lastUpdated int64
	refreshFrom int64
	id          int32
	off         uint32
	cur         uint32
	prev        uint32
}

const (
	keyBits = 23
	lenBits = 32 - keyBits
	keyMask = 1<<keyBits - 1
)

func pack(saltLen int, key int32) uint32 { return uint32(saltLen)<<keyBits | uint32(key) }

// Table is one parsed salt file: bucket i is line i of the file. The zero
// value is an empty table. A Table is immutable and safe for concurrent use.
type Table struct {
	recs   []record
	chunks []string
	keys   []KeyMaterial // interned; shared by many buckets
}

// Len returns the number of buckets.
func (t *Table) Len() int { return len(t.recs) }

// Entry returns bucket i. It does not allocate; the strings share the table's
// storage. It panics if i is out of range, as a slice index would.
func (t *Table) Entry(i int) Entry {
	r := &t.recs[i]
	e := Entry{ID: int64(r.id), LastUpdated: r.lastUpdated, RefreshFrom: r.refreshFrom}
	curLen, prevLen := int(r.cur>>keyBits), int(r.prev>>keyBits)
	if curLen+prevLen > 0 {
		c := t.chunks[r.off>>chunkBits]
		p := int(r.off & chunkMask)
		e.CurrentSalt = c[p : p+curLen]
		e.PreviousSalt = c[p+curLen : p+curLen+prevLen]
	}
	if k := r.cur & keyMask; k != 0 {
		e.CurrentKey = t.keys[k-1]
	}
	if k := r.prev & keyMask; k != 0 {
		e.PreviousKey = t.keys[k-1]
	}
	return e
}

// LastUpdated returns bucket i's lastUpdated (epoch ms) without building an
// Entry.
func (t *Table) LastUpdated(i int) int64 { return t.recs[i].lastUpdated }

// ModifiedSince calls fn, in file order, for every bucket whose lastUpdated is
// at or after sinceMs (the /v2/identity/buckets filter, operator-api.md §2.7).
func (t *Table) ModifiedSince(sinceMs int64, fn func(i int, e Entry)) {
	for i := range t.recs {
		if t.recs[i].lastUpdated >= sinceMs {
			fn(i, t.Entry(i))
		}
	}
}

// KeyMaterialCount returns how many distinct key materials the table holds
// after interning.
func (t *Table) KeyMaterialCount() int { return len(t.keys) }

// ParseFile reads a salt file of exactly size lines from r. Lines end in "\n"
// or "\r\n"; a final line ending is optional. See ParseFileBytes for the line
// format.
func ParseFile(r io.Reader, size int) (*Table, error) {
	p, err := newParser(size)
	if err != nil {
		return nil, err
	}
	br := bufio.NewReaderSize(r, 64<<10)
	for line := 1; ; line++ {
		b, err := br.ReadSlice('\n')
		if errors.Is(err, bufio.ErrBufferFull) {
			return nil, &LineError{Line: line, Err: ErrLineTooLong}
		}
		if err != nil && err != io.EOF {
			return nil, fmt.Errorf("salts: read: %w", err)
		}
		if err == io.EOF && len(b) == 0 {
			return p.finish(line)
		}
		if perr := p.line(line, b); perr != nil {
			return nil, perr
		}
		if err == io.EOF {
			return p.finish(line + 1)
		}
	}
}

// ParseFileBytes parses a salt file held in memory, such as a decrypted file
// (core-and-optout.md §2.5). The file must have exactly size lines, one per
// bucket, ended by "\n" or "\r\n" (the last one optional). Each line has at
// least 11 comma-separated columns: id, lastUpdated, currentSalt, refreshFrom,
// previousSalt, then id, key and salt of the current and of the previous key
// material. Values are trimmed and blank means absent; id, lastUpdated and
// refreshFrom are required; key material exists only when its id and key are
// both present. b is not retained.
func ParseFileBytes(b []byte, size int) (*Table, error) {
	p, err := newParser(size)
	if err != nil {
		return nil, err
	}
	line := 1
	for len(b) > 0 {
		var l []byte
		if i := bytes.IndexByte(b, '\n'); i >= 0 {
			l, b = b[:i+1], b[i+1:]
		} else {
			l, b = b, nil
		}
		if err := p.line(line, l); err != nil {
			return nil, err
		}
		line++
	}
	return p.finish(line)
}

// parser builds a Table line by line.
type parser struct {
	t        Table
	size     int
	n        int    // lines parsed
	buf      []byte // arena chunk being filled
	byID     map[int32]int32
	byTriple map[string]int32 // for an id seen with different key/salt
	scratch  []byte
}

func newParser(size int) (*parser, error) {
	if size < 1 || size > MaxSize {
		return nil, fmt.Errorf("salts: size must be 1..%d (got %d)", MaxSize, size)
	}
	return &parser{
		t:    Table{recs: make([]record, size)},
		size: size,
		// About 88 bytes of salts per bucket in production.
		buf:  make([]byte, 0, min(chunkSize, size*96)),
		byID: make(map[int32]int32),
	}, nil
}

func (p *parser) finish(nextLine int) (*Table, error) {
	if p.n != p.size {
		return nil, &LineError{Line: nextLine, Err: fmt.Errorf("%w (want %d lines, got %d)", ErrTooFewLines, p.size, p.n)}
	}
	if len(p.buf) > 0 || len(p.t.chunks) == 0 {
		p.t.chunks = append(p.t.chunks, string(p.buf))
	}
	p.buf = nil
	t := p.t
	return &t, nil
}

// line parses one line, with its "\n" or "\r\n" ending if any.
func (p *parser) line(lineNo int, l []byte) error {
	if p.n == p.size {
		return &LineError{Line: lineNo, Err: fmt.Errorf("%w (want %d lines)", ErrTooManyLines, p.size)}
	}
	l = bytes.TrimSuffix(l, []byte{'\n'})
	l = bytes.TrimSuffix(l, []byte{'\r'})
	if len(l) > MaxLineLen {
		return &LineError{Line: lineNo, Err: ErrLineTooLong}
	}
	var f [numCols][]byte
	n := 0
	for rest := l; n < numCols; {
		i := bytes.IndexByte(rest, ',')
		if i < 0 {
			f[n] = trim(rest)
			n++
			break
		}
		f[n] = trim(rest[:i])
		n++
		rest = rest[i+1:]
	}
	if n < numCols {
		return &LineError{Line: lineNo, Err: ErrTooFewFields}
	}

	var r record
	id, err := parseInt(f[0], 32)
	if err != nil {
		return &LineError{Line: lineNo, Field: colNames[0], Err: err}
	}
	r.id = int32(id)
	if r.lastUpdated, err = parseInt(f[1], 64); err != nil {
		return &LineError{Line: lineNo, Field: colNames[1], Err: err}
	}
	if r.refreshFrom, err = parseInt(f[3], 64); err != nil {
		return &LineError{Line: lineNo, Field: colNames[3], Err: err}
	}
	curKey, err := p.keyMaterial(lineNo, f[5:8], 5)
	if err != nil {
		return err
	}
	prevKey, err := p.keyMaterial(lineNo, f[8:11], 8)
	if err != nil {
		return err
	}
	cur, prev := f[2], f[4]
	if len(cur) > MaxSaltLen {
		return &LineError{Line: lineNo, Field: colNames[2], Err: ErrFieldTooLarge}
	}
	if len(prev) > MaxSaltLen {
		return &LineError{Line: lineNo, Field: colNames[4], Err: ErrFieldTooLarge}
	}
	r.cur, r.prev = pack(len(cur), curKey), pack(len(prev), prevKey)
	if need := len(cur) + len(prev); need > 0 {
		if len(p.buf)+need > chunkSize {
			p.t.chunks = append(p.t.chunks, string(p.buf))
			p.buf = p.buf[:0]
		}
		if len(p.t.chunks) >= maxChunks {
			return &LineError{Line: lineNo, Err: ErrFileTooLarge}
		}
		r.off = uint32(len(p.t.chunks))<<chunkBits | uint32(len(p.buf))
		p.buf = append(p.buf, cur...)
		p.buf = append(p.buf, prev...)
	}
	p.t.recs[p.n] = r
	p.n++
	return nil
}

// keyMaterial interns the id/key/salt columns starting at col and returns
// 1 + its index, or 0 when the id or key is blank.
func (p *parser) keyMaterial(lineNo int, f [][]byte, col int) (int32, error) {
	if len(f[0]) == 0 || len(f[1]) == 0 {
		return 0, nil
	}
	id, err := parseInt(f[0], 32)
	if err != nil {
		return 0, &LineError{Line: lineNo, Field: colNames[col], Err: err}
	}
	key, salt := f[1], f[2]
	switch len(key) {
	case 16, 24, 32: // AES-128/192/256; the key text is the raw key
	default:
		return 0, &LineError{Line: lineNo, Field: colNames[col+1], Err: ErrKeyLength}
	}
	if i, ok := p.byID[int32(id)]; ok {
		if k := &p.t.keys[i]; k.Key == string(key) && k.Salt == string(salt) {
			return i + 1, nil
		}
		// Same id, different material: rare, so a slower map keyed by all three.
		p.scratch = strconv.AppendInt(p.scratch[:0], id, 10)
		p.scratch = append(p.scratch, ',')
		p.scratch = append(p.scratch, key...)
		p.scratch = append(p.scratch, ',')
		p.scratch = append(p.scratch, salt...)
		if i, ok := p.byTriple[string(p.scratch)]; ok {
			return i + 1, nil
		}
		if p.byTriple == nil {
			p.byTriple = make(map[string]int32)
		}
		p.byTriple[string(p.scratch)] = p.addKey(int32(id), key, salt)
		return int32(len(p.t.keys)), nil
	}
	i := p.addKey(int32(id), key, salt)
	p.byID[int32(id)] = i
	return i + 1, nil
}

func (p *parser) addKey(id int32, key, salt []byte) int32 {
	// One allocation holds both strings.
	s := string(key) + string(salt)
	p.t.keys = append(p.t.keys, KeyMaterial{ID: id, Key: s[:len(key)], Salt: s[len(key):], Valid: true})
	return int32(len(p.t.keys) - 1)
}

// trim removes leading and trailing bytes <= ' ', as Java's String.trim does.
func trim(b []byte) []byte {
	for len(b) > 0 && b[0] <= ' ' {
		b = b[1:]
	}
	for len(b) > 0 && b[len(b)-1] <= ' ' {
		b = b[:len(b)-1]
	}
	return b
}

// parseInt parses a decimal integer the way Java's Integer/Long.parseInt does
// (optional sign, ASCII digits), without allocating. A blank value is
// ErrMissing.
func parseInt(b []byte, bits uint) (int64, error) {
	if len(b) == 0 {
		return 0, ErrMissing
	}
	neg := false
	switch b[0] {
	case '-':
		neg = true
		b = b[1:]
	case '+':
		b = b[1:]
	}
	if len(b) == 0 {
		return 0, ErrInteger
	}
	// Accumulate negatively so the minimum value fits; cutoff keeps n*10 from
	// overflowing.
	limit := -(int64(1) << (bits - 1))
	if !neg {
		limit++
	}
	cutoff := limit / 10
	var n int64
	for _, c := range b {
		if c < '0' || c > '9' {
			return 0, ErrInteger
		}
		d := int64(c - '0')
		if n < cutoff {
			return 0, ErrInteger
		}
		n *= 10
		if n < limit+d {
			return 0, ErrInteger
		}
		n -= d
	}
	if neg {
		return n, nil
	}
	return -n, nil
}
