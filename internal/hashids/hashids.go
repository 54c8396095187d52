// Package hashids encodes non-negative integers with the hashids v1
// algorithm, as org.hashids:hashids 1.0.3 (and hashids.js v1) do. The
// operator uses it to turn salt-bucket ids into bucket_id strings
// (operator-api.md §3.6).
//
// Only what the operator needs is here: the default alphabet and separators,
// one number per hash, encoding only.
package hashids

import (
	"errors"
	"math"
	"strings"
	"unicode/utf16"
)

// DefaultAlphabet and DefaultSeparators are the library defaults that bucket
// ids use (§3.6).
const (
	DefaultAlphabet   = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ1234567890"
	DefaultSeparators = "cfhistuCFHISTU"
)

// MaxNumber is the largest number the Java library encodes (2^53, the
// largest integer JavaScript represents exactly). It rejects larger ones.
const MaxNumber = 1 << 53

const (
	minAlphabetLength = 16
	sepDiv            = 3.5 // the target ratio of alphabet to separators
	guardDiv          = 12  // one guard per this many alphabet characters

	// maxAlphabet bounds the alphabet (ASCII only, no repeats), so that the
	// per-call copies of it fit in stack arrays.
	maxAlphabet = 128
	// workSize is the stack space for building one hash; longer minimum
	// lengths still work but allocate.
	workSize = 256
)

// Encoder encodes numbers with one salt and minimum length. It is immutable
// and safe for concurrent use; build it once with New.
type Encoder struct {
	salt      []uint16 // UTF-16 code units: Java shuffles by char values
	minLength int
	alphabet  []byte // shuffled by the salt; separators and guards removed
	seps      []byte
	guards    []byte
}

// New returns an Encoder with the default alphabet and separators, the given
// salt, and hashes padded to at least minLength characters (a negative
// minLength counts as 0). Bucket ids use minLength 9 (§3.6).
func New(salt string, minLength int) *Encoder {
	return build(salt, minLength, DefaultAlphabet)
}

// Errors for custom alphabets, which only the tests use: the library's own
// vectors include some.
var (
	errAlphabetTooShort = errors.New("hashids: alphabet must contain at least 16 unique characters")
	errAlphabetSpace    = errors.New("hashids: alphabet must not contain spaces")
	errAlphabetNonASCII = errors.New("hashids: alphabet must be ASCII")
)

// newWithAlphabet is New with a custom alphabet, with the library's checks.
func newWithAlphabet(salt string, minLength int, alphabet string) (*Encoder, error) {
	var seen [maxAlphabet]bool
	unique := 0
	for i := 0; i < len(alphabet); i++ {
		c := alphabet[i]
		if c >= maxAlphabet {
			return nil, errAlphabetNonASCII
		}
		if !seen[c] {
			seen[c] = true
			unique++
		}
	}
	if unique < minAlphabetLength {
		return nil, errAlphabetTooShort
	}
	if seen[' '] {
		return nil, errAlphabetSpace
	}
	return build(salt, minLength, alphabet), nil
}

// build sets up the alphabet, separators and guards exactly as the library's
// constructor does; alphabet must have passed the newWithAlphabet checks.
func build(salt string, minLength int, alphabet string) *Encoder {
	e := &Encoder{
		salt:      utf16.Encode([]rune(salt)),
		minLength: max(minLength, 0),
	}

	// Unique characters, first occurrence wins.
	var alpha []byte
	for i := 0; i < len(alphabet); i++ {
		if strings.IndexByte(string(alpha), alphabet[i]) < 0 {
			alpha = append(alpha, alphabet[i])
		}
	}

	// Separators are the default separators present in the alphabet, in the
	// separators' order; they leave the alphabet.
	var seps []byte
	for i := 0; i < len(DefaultSeparators); i++ {
		c := DefaultSeparators[i]
		if j := strings.IndexByte(string(alpha), c); j >= 0 {
			seps = append(seps, c)
			alpha = append(alpha[:j], alpha[j+1:]...)
		}
	}
	shuffle(seps, e.salt)

	// Too few separators: take more from the front of the alphabet. Too many:
	// keep the first ones.
	if len(seps) == 0 || float64(len(alpha))/float64(len(seps)) > sepDiv {
		n := int(math.Ceil(float64(len(alpha)) / sepDiv))
		if n == 1 {
			n = 2
		}
		if n > len(seps) {
			diff := n - len(seps)
			seps = append(seps, alpha[:diff]...)
			alpha = alpha[diff:]
		} else {
			seps = seps[:n]
		}
	}

	shuffle(alpha, e.salt)

	// Guards pad short hashes. They come from the alphabet unless it is tiny.
	guardCount := int(math.Ceil(float64(len(alpha)) / guardDiv))
	var guards []byte
	if len(alpha) < 3 {
		guards = seps[:guardCount]
		seps = seps[guardCount:]
	} else {
		guards = alpha[:guardCount]
		alpha = alpha[guardCount:]
	}

	// Own copies, so that no two fields share a backing array.
	e.alphabet = append([]byte(nil), alpha...)
	e.seps = append([]byte(nil), seps...)
	e.guards = append([]byte(nil), guards...)
	return e
}

// shuffle is the library's deterministic "consistent shuffle" of alphabet in
// place, keyed by the char values of key. An empty key leaves it unchanged.
func shuffle(alphabet []byte, key []uint16) {
	if len(key) == 0 {
		return
	}
	for i, v, p := len(alphabet)-1, 0, 0; i > 0; i, v = i-1, v+1 {
		if v == len(key) { // v cycles through the key: the library's v %= len(key)
			v = 0
		}
		c := int(key[v])
		p += c
		j := (c + v + p) % i
		alphabet[i], alphabet[j] = alphabet[j], alphabet[i]
	}
}

// Encode returns the hash of n, or "" if n is negative or above MaxNumber
// (the Java library returns "" for negatives and throws above MaxNumber).
func (e *Encoder) Encode(n int64) string {
	var buf [64]byte
	return string(e.AppendEncode(buf[:0], n))
}

// AppendEncode appends the hash of n to dst and returns the extended buffer.
// If n is negative or above MaxNumber it returns dst unchanged. It allocates
// only if dst must grow (or for a minimum length above about 100).
func (e *Encoder) AppendEncode(dst []byte, n int64) []byte {
	if n < 0 || n > MaxNumber {
		return dst
	}

	// Each call shuffles its own copy of the alphabet.
	var alphaBuf [maxAlphabet]byte
	alpha := alphaBuf[:len(e.alphabet)]
	copy(alpha, e.alphabet)

	// With one number the "numbers hash" is n mod 100; it picks the lottery
	// character that starts the hash and keys everything after.
	hashInt := int(n % 100)
	lottery := alpha[hashInt%len(alpha)]

	// Reshuffle by the first len(alphabet) chars of lottery + salt + alphabet.
	var keyBuf [maxAlphabet]uint16
	key := keyBuf[:len(alpha)]
	key[0] = uint16(lottery)
	i := 1 + copy(key[1:], e.salt)
	for j := 0; i < len(key); i, j = i+1, j+1 {
		key[i] = uint16(alpha[j])
	}
	shuffle(alpha, key)

	// n in base len(alpha), most significant digit first.
	var digits [64]byte
	d := len(digits)
	for x := n; ; {
		d--
		digits[d] = alpha[x%int64(len(alpha))]
		x /= int64(len(alpha))
		if x == 0 {
			break
		}
	}

	var bufA, bufB [workSize]byte
	ret, next := bufA[:0], bufB[:0]
	if need := e.minLength + len(alpha) + len(digits) + 2; need > workSize {
		ret, next = make([]byte, 0, need), make([]byte, 0, need)
	}
	ret = append(ret, lottery)
	ret = append(ret, digits[d:]...)

	// Short hashes get a guard in front, then one at the back.
	if len(ret) < e.minLength {
		g := e.guards[(hashInt+int(ret[0]))%len(e.guards)]
		ret = append(ret, 0)
		copy(ret[1:], ret)
		ret[0] = g
		if len(ret) < e.minLength {
			ret = append(ret, e.guards[(hashInt+int(ret[2]))%len(e.guards)])
		}
	}

	// Still short: wrap in halves of the alphabet, reshuffled by itself each
	// time, and keep the middle minLength characters.
	half := len(alpha) / 2
	for len(ret) < e.minLength {
		var selfKey [maxAlphabet]uint16
		for i, c := range alpha {
			selfKey[i] = uint16(c)
		}
		shuffle(alpha, selfKey[:len(alpha)])

		next = append(next[:0], alpha[half:]...)
		next = append(next, ret...)
		next = append(next, alpha[:half]...)
		if excess := len(next) - e.minLength; excess > 0 {
			start := excess / 2
			next = next[start : start+e.minLength]
		}
		ret, next = next, ret[:0]
	}
	return append(dst, ret...)
}
