package hashids

import (
	"errors"
	"testing"
)

// Vectors of hashids-java HashidsTest.java that use a custom alphabet. The
// operator never does; they check the constructor's separator and guard
// logic on alphabets where it takes other branches.
func TestCustomAlphabetVectors(t *testing.T) {
	tests := []struct {
		name      string
		salt      string
		minLength int
		alphabet  string
		n         int64
		want      string
	}{
		{"test_specifying_custom_hash_alphabet", "this is my salt", 0, "0123456789abcdef", 1234567, "b332db5"},
		{"test_issue23", "MyCamelCaseSalt", 10, "ABCDEFGHIJKLMNPQRSTUVWXYZ123456789", 1145, "9Q7MJ3LVGW"},
	}
	for _, tt := range tests {
		e, err := newWithAlphabet(tt.salt, tt.minLength, tt.alphabet)
		if err != nil {
			t.Fatalf("%s: %v", tt.name, err)
		}
		if got := e.Encode(tt.n); got != tt.want {
			t.Errorf("%s: Encode(%d) = %q; want %q", tt.name, tt.n, got, tt.want)
		}
	}
}

func TestCustomAlphabetErrors(t *testing.T) {
	tests := []struct {
		alphabet string
		want     error
	}{
		{"0123456789abcde", errAlphabetTooShort},
		{"0123456789abcdeeeee", errAlphabetTooShort},
		{"0123456789abcdef ", errAlphabetSpace},
		{"0123456789abcdefé", errAlphabetNonASCII},
	}
	for _, tt := range tests {
		if _, err := newWithAlphabet("", 0, tt.alphabet); !errors.Is(err, tt.want) {
			t.Errorf("newWithAlphabet(%q) error = %v; want %v", tt.alphabet, err, tt.want)
		}
	}
}

// TestDefaultSetup pins the constructor's split of the default alphabet:
// 62 characters, 14 separators, ceil(48/12) = 4 guards, 44 left.
func TestDefaultSetup(t *testing.T) {
	e := New("this is my salt", 0)
	if len(e.alphabet) != 44 || len(e.seps) != 14 || len(e.guards) != 4 {
		t.Errorf("alphabet/seps/guards = %d/%d/%d; want 44/14/4", len(e.alphabet), len(e.seps), len(e.guards))
	}
}
