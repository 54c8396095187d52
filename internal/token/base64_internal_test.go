package token

import "testing"

// TestIsBase64Std: exactly the 64 standard base64 characters and '=' count.
func TestIsBase64Std(t *testing.T) {
	n := 0
	for c := range 256 {
		want := 'A' <= c && c <= 'Z' || 'a' <= c && c <= 'z' || '0' <= c && c <= '9' || c == '+' || c == '/' || c == '='
		if isBase64Std(byte(c)) != want {
			t.Errorf("isBase64Std(%q) = %v", rune(c), !want)
		}
		if want {
			n++
		}
	}
	if n != 65 {
		t.Errorf("%d characters; want 65", n)
	}
}
