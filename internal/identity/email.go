package identity

import (
	"slices"
	"strings"
)

// gmailDomain is the only domain whose local part is canonicalized (§2.14.1).
// googlemail.com is deliberately not special: the operator does not treat it so.
const gmailDomain = "gmail.com"

// NormalizeEmail returns the normalized form of the email s the way the
// operator computes it (operator-api.md §2.14.1, Java InputUtil
// normalizeEmailString), or ok=false if s is not a valid email.
//
// This is the operator's (and Java SDK's) algorithm, not the Python SDK's:
//   - Only ASCII A–Z are lower-cased; everything else is kept verbatim.
//   - In the local part (before the first '@') every space is dropped.
//   - In the domain, trailing spaces are dropped but any other space is kept
//     (so "a@ b.com" normalizes to "a@ b.com"); a second '@' is invalid.
//   - If the domain is exactly "gmail.com", the local part loses its dots and
//     everything from the first '+' on; otherwise it is kept as is.
//   - An empty domain or an empty resulting local part is invalid.
//
// There is no other syntax check: "a@b" is valid. NormalizeEmail does not
// allocate when s is already normalized (and at most 256 bytes long).
func NormalizeEmail(s string) (string, bool) {
	var buf [emailBufSize]byte
	norm, ok := AppendNormalizedEmail(buf[:0], s)
	if !ok {
		return "", false
	}
	if string(norm) == s {
		return s, true
	}
	return string(norm), true
}

// AppendNormalizedEmail appends the normalized form of the email s (see
// NormalizeEmail) to dst and returns the extended buffer. If s is invalid it
// returns dst unchanged and false. It allocates only if dst must grow.
//
// The Java code walks UTF-16 code units; every character it treats specially
// is ASCII and UTF-8 never uses ASCII bytes inside a multi-byte sequence, so
// walking the UTF-8 bytes gives the same result.
func AppendNormalizedEmail(dst []byte, s string) ([]byte, bool) {
	at := strings.IndexByte(s, '@')
	if at < 0 {
		// The domain is never entered, so it is empty.
		return dst, false
	}
	local, domain := s[:at], s[at+1:]
	if strings.IndexByte(domain, '@') >= 0 {
		return dst, false
	}
	// Spaces in the domain are held back until a non-space follows, so only
	// trailing ones disappear.
	domain = strings.TrimRight(domain, " ")
	if domain == "" {
		return dst, false
	}

	gmail := equalLowerASCII(domain, gmailDomain)
	if !hasLocalChar(local, gmail) {
		return dst, false
	}
	// The output is at most len(local)+1+len(domain) bytes: grow once and
	// write by index rather than append byte by byte.
	n0 := len(dst)
	dst = slices.Grow(dst, len(local)+1+len(domain))
	out := dst[n0 : n0+len(local)+1+len(domain)]
	k := 0
	for i := 0; i < len(local); i++ {
		c := local[i]
		switch {
		case c == ' ':
			continue
		case gmail && c == '.':
			continue
		case gmail && c == '+':
			// The rest is the "+tag" extension, dropped for gmail.
			i = len(local)
			continue
		}
		out[k] = lowerASCII(c)
		k++
	}
	out[k] = '@'
	k++
	for i := 0; i < len(domain); i++ {
		out[k] = lowerASCII(domain[i])
		k++
	}
	return dst[:n0+k], true
}

// hasLocalChar reports whether the local part that would be emitted is
// non-empty, so that AppendNormalizedEmail can leave dst untouched on failure.
func hasLocalChar(local string, gmail bool) bool {
	for i := 0; i < len(local); i++ {
		switch c := local[i]; {
		case c == ' ':
		case gmail && c == '.':
		case gmail && c == '+':
			return false
		default:
			return true
		}
	}
	return false
}

// lowerASCII lower-cases A–Z only, as the operator does (no Unicode folding).
func lowerASCII(c byte) byte {
	if c-'A' < 26 { // one unsigned compare for 'A' <= c && c <= 'Z'
		return c + ('a' - 'A')
	}
	return c
}

// equalLowerASCII reports whether lowerASCII applied to every byte of s gives
// lower, which must be lower-case already.
func equalLowerASCII(s, lower string) bool {
	if len(s) != len(lower) {
		return false
	}
	for i := 0; i < len(s); i++ {
		if lowerASCII(s[i]) != lower[i] {
			return false
		}
	}
	return true
}
