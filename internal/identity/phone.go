package identity

// maxPhoneLen is the longest valid phone number: '+' and 15 digits.
const maxPhoneLen = 1 + maxPhoneDigits

const (
	minPhoneDigits = 10
	maxPhoneDigits = 15
)

// ValidPhone reports whether s is a phone number in the normalized E.164 form
// the operator requires (§2.14.2): a '+' followed by 10 to 15 ASCII digits and
// nothing else. The operator never normalizes phones itself; a valid phone is
// hashed as given.
func ValidPhone(s string) bool {
	n := len(s) - 1
	if n < minPhoneDigits || n > maxPhoneDigits || s[0] != '+' {
		return false
	}
	for i := 1; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}
