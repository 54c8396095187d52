package salts

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
)

// WriteFile writes entries in Core's salt file format, one line per entry
// ended by "\n", so that ParseFile reads them back unchanged. It is for the
// dataset generator and the stand-in Core. It fails, naming the entry, if a
// value cannot survive the round trip: an id outside the int32 range, a string
// with a comma, line break or surrounding blanks, valid key material with a
// key that is not 16, 24 or 32 bytes, or a line over MaxLineLen.
func WriteFile(w io.Writer, entries []Entry) error {
	bw := bufio.NewWriterSize(w, 64<<10)
	var line []byte
	for i, e := range entries {
		var err error
		if line, err = appendLine(line[:0], e); err != nil {
			return fmt.Errorf("salts: entry %d: %w", i, err)
		}
		if _, err := bw.Write(line); err != nil {
			return fmt.Errorf("salts: write: %w", err)
		}
	}
	if err := bw.Flush(); err != nil {
		return fmt.Errorf("salts: write: %w", err)
	}
	return nil
}

func appendLine(b []byte, e Entry) ([]byte, error) {
	if e.ID < -1<<31 || e.ID > 1<<31-1 {
		return nil, errors.New("id: outside the int32 range")
	}
	b = strconv.AppendInt(b, e.ID, 10)
	b = append(b, ',')
	b = strconv.AppendInt(b, e.LastUpdated, 10)
	b = append(b, ',')
	var err error
	if b, err = appendField(b, "currentSalt", e.CurrentSalt); err != nil {
		return nil, err
	}
	b = append(b, ',')
	b = strconv.AppendInt(b, e.RefreshFrom, 10)
	b = append(b, ',')
	if b, err = appendField(b, "previousSalt", e.PreviousSalt); err != nil {
		return nil, err
	}
	b = append(b, ',')
	if b, err = appendKey(b, "currentKey", e.CurrentKey); err != nil {
		return nil, err
	}
	b = append(b, ',')
	if b, err = appendKey(b, "previousKey", e.PreviousKey); err != nil {
		return nil, err
	}
	if len(b) > MaxLineLen {
		return nil, ErrLineTooLong
	}
	return append(b, '\n'), nil
}

func appendKey(b []byte, name string, k KeyMaterial) ([]byte, error) {
	if !k.Valid {
		return append(b, ",,"...), nil
	}
	switch len(k.Key) {
	case 16, 24, 32:
	default:
		return nil, fmt.Errorf("%s: %w", name, ErrKeyLength)
	}
	b = strconv.AppendInt(b, int64(k.ID), 10)
	b = append(b, ',')
	var err error
	if b, err = appendField(b, name, k.Key); err != nil {
		return nil, err
	}
	b = append(b, ',')
	return appendField(b, name+"Salt", k.Salt)
}

func appendField(b []byte, name, s string) ([]byte, error) {
	if strings.ContainsAny(s, ",\n\r") || (s != "" && (s[0] <= ' ' || s[len(s)-1] <= ' ')) {
		return nil, fmt.Errorf("%s: contains a comma, line break or surrounding blank", name)
	}
	return append(b, s...), nil
}
