package salts

import (
	"errors"
	"fmt"
)

// Errors wrapped by *LineError. They never contain salt or key text, because
// error strings get logged.
var (
	ErrTooFewFields  = errors.New("fewer than 11 fields")
	ErrLineTooLong   = errors.New("line too long")
	ErrMissing       = errors.New("missing")
	ErrInteger       = errors.New("invalid integer")
	ErrKeyLength     = errors.New("key must be 16, 24 or 32 bytes")
	ErrTooManyLines  = errors.New("more lines than the metadata size")
	ErrTooFewLines   = errors.New("fewer lines than the metadata size")
	ErrFileTooLarge  = errors.New("salt file too large")
	ErrFieldTooLarge = errors.New("salt too long")
)

// LineError reports a salt file line that cannot be loaded. Line is 1-based;
// Field names the column (e.g. "refreshFrom") or is empty for whole-line
// problems.
type LineError struct {
	Line  int
	Field string
	Err   error
}

func (e *LineError) Error() string {
	if e.Field == "" {
		return fmt.Sprintf("salts: line %d: %v", e.Line, e.Err)
	}
	return fmt.Sprintf("salts: line %d: %s: %v", e.Line, e.Field, e.Err)
}

func (e *LineError) Unwrap() error { return e.Err }

// FieldError reports a bad or missing field of the salts metadata document.
// Field is a path such as "salts[1].size".
type FieldError struct {
	Field string
	Err   error
}

func (e *FieldError) Error() string {
	return fmt.Sprintf("salts metadata: %s: %v", e.Field, e.Err)
}

func (e *FieldError) Unwrap() error { return e.Err }
