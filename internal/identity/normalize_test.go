package identity_test

import (
	"encoding/base64"
	"testing"

	"github.com/uid2-private-operator/uid2-operator/internal/identity"
)

func b64(b []byte) string { return base64.StdEncoding.EncodeToString(b) }

func hashB64(h identity.Hash) string { return b64(h.Bytes()) }

// Invalid emails: OPT InputNormalizationTest.java testInvalidEmailNormalization
// (operator-api.md §6 K-7).
var invalidEmails = []string{
	"",
	" @",
	"@",
	"a@",
	"@b",
	"@b.com",
	"+",
	" ",
	"+@gmail.com",
	".+@gmail.com",
	"a@ba@z.com",
}

// Valid emails with normalized form and b64 SHA-256: OPT
// InputNormalizationTest.java testValidEmailNormalization (K-7). The last three
// use U+1F60A, written "\uD83D\uDE0A" in the Java source.
var validEmails = []struct {
	in, norm, hash string
}{
	{"TEst.TEST@Test.com ", "test.test@test.com", "dvECjPKZHya0/SIhSGwP0m8SgTv1vzLxPULUOsm880M="},
	{"test.test@test.com", "test.test@test.com", "dvECjPKZHya0/SIhSGwP0m8SgTv1vzLxPULUOsm880M="},
	{"test.test@gmail.com", "testtest@gmail.com", "LkLfFrut8Tc3h/fIvYDiBKSbaMiau/DtaLBPQYszdMw="},
	{"test+test@test.com", "test+test@test.com", "rQ4yzdOz4uG8N54326QyZD6/JwqrXn4lmy34cVCojB8="},
	{"+test@test.com", "+test@test.com", "weFizOVVWKlLfyorbBU8oxYDv4HJtTZCPMyZ4THzUQE="},
	{"test+test@gmail.com", "test@gmail.com", "h5JGBrQTGorO7q6IaFMfu5cSqqB6XTp1aybOD11spnQ="},
	{"testtest@test.com", "testtest@test.com", "d1Lr/s4GLLX3SvQVMoQdIMfbQPMAGZYry+2V+0pZlQg="},
	{" testtest@test.com", "testtest@test.com", "d1Lr/s4GLLX3SvQVMoQdIMfbQPMAGZYry+2V+0pZlQg="},
	{"testtest@test.com ", "testtest@test.com", "d1Lr/s4GLLX3SvQVMoQdIMfbQPMAGZYry+2V+0pZlQg="},
	{" testtest@test.com ", "testtest@test.com", "d1Lr/s4GLLX3SvQVMoQdIMfbQPMAGZYry+2V+0pZlQg="},
	{"  testtest@test.com  ", "testtest@test.com", "d1Lr/s4GLLX3SvQVMoQdIMfbQPMAGZYry+2V+0pZlQg="},
	{" test.test@gmail.com", "testtest@gmail.com", "LkLfFrut8Tc3h/fIvYDiBKSbaMiau/DtaLBPQYszdMw="},
	{"test.test@gmail.com ", "testtest@gmail.com", "LkLfFrut8Tc3h/fIvYDiBKSbaMiau/DtaLBPQYszdMw="},
	{" test.test@gmail.com ", "testtest@gmail.com", "LkLfFrut8Tc3h/fIvYDiBKSbaMiau/DtaLBPQYszdMw="},
	{"  test.test@gmail.com  ", "testtest@gmail.com", "LkLfFrut8Tc3h/fIvYDiBKSbaMiau/DtaLBPQYszdMw="},
	{"TEstTEst@gmail.com  ", "testtest@gmail.com", "LkLfFrut8Tc3h/fIvYDiBKSbaMiau/DtaLBPQYszdMw="},
	{"TEstTEst@GMail.Com  ", "testtest@gmail.com", "LkLfFrut8Tc3h/fIvYDiBKSbaMiau/DtaLBPQYszdMw="},
	{" TEstTEst@GMail.Com  ", "testtest@gmail.com", "LkLfFrut8Tc3h/fIvYDiBKSbaMiau/DtaLBPQYszdMw="},
	{"TEstTEst@GMail.Com", "testtest@gmail.com", "LkLfFrut8Tc3h/fIvYDiBKSbaMiau/DtaLBPQYszdMw="},
	{"TEst.TEst@GMail.Com", "testtest@gmail.com", "LkLfFrut8Tc3h/fIvYDiBKSbaMiau/DtaLBPQYszdMw="},
	{"TEst.TEst+123@GMail.Com", "testtest@gmail.com", "LkLfFrut8Tc3h/fIvYDiBKSbaMiau/DtaLBPQYszdMw="},
	{"TEst.TEST@Test.com ", "test.test@test.com", "dvECjPKZHya0/SIhSGwP0m8SgTv1vzLxPULUOsm880M="},
	{"TEst.TEST@Test.com ", "test.test@test.com", "dvECjPKZHya0/SIhSGwP0m8SgTv1vzLxPULUOsm880M="},
	{"\U0001F60Atesttest@test.com", "\U0001F60Atesttest@test.com", "fAFEUqApQ0V/M9mLj/IO54CgKgtQuARKsOMqtFklD4k="},
	{"testtest@\U0001F60Atest.com", "testtest@\U0001F60Atest.com", "tcng5pttf7Y2z4ylZTROvIMw1+IVrMpR4D1KeXSrdiM="},
	{"testtest@test.com\U0001F60A", "testtest@test.com\U0001F60A", "0qI21FPLkuez/8RswfmircHPYz9Dtf7/Nch1rSWEQf0="},
}

// Email hashes from other references (K-7): JST InputUtilTests.java (which
// takes them from the normalization docs), DOC gs-normalization-encoding.md,
// and the spec's test-identity hashes.
var emailHashes = []struct {
	in, hash string
}{
	// JST InputUtilTests.java emailProducesCorrectHash.
	{"MyEmail@example.com", "FsGNM28LJQ8OLZB0Us65ZYp07NrovJSGTCMSKnLMJ6U="},
	{"MYEMAIL@example.com", "FsGNM28LJQ8OLZB0Us65ZYp07NrovJSGTCMSKnLMJ6U="},
	{"JANESAOIRSE@example.com", "1mcOepIAfxtf94Xx/IHlOqbT170GvfXEc83HKGwoS20="},
	{"JaneSaoirse@example.com", "1mcOepIAfxtf94Xx/IHlOqbT170GvfXEc83HKGwoS20="},
	{"JaneSaoirse+UID2@example.com", "bhQ2aMIGWT1ey4p7JyavdNlIQ4pe11/rrcv0u1jrxCc="},
	{"JANE.SAOIRSE@gmail.com", "ku4mBX7Z3qJTXWyLFB1INzkyR2WZGW4ANSJUiW21iI8="},
	{"Jane.Saoirse@gmail.com", "ku4mBX7Z3qJTXWyLFB1INzkyR2WZGW4ANSJUiW21iI8="},
	{"JaneSaoirse+UID2@gmail.com", "ku4mBX7Z3qJTXWyLFB1INzkyR2WZGW4ANSJUiW21iI8="},
	{"janesaoirse@gmail.com", "ku4mBX7Z3qJTXWyLFB1INzkyR2WZGW4ANSJUiW21iI8="},
	// DOC gs-normalization-encoding.md.
	{"user@example.com", "tMmiiTI7IaAcPpQPFQ65uMVCWH8av9jw4cwf/F5HVRQ="},
	// Test identities (§2.15, K-7 [DER]).
	{"optout@example.com", "DYsnJ8r5+cjRDHue98gIGDKvLIMuqAm/RRLODrjqK50="},
	{"validate@example.com", "ntI244ZRTXwAwpki6/M5cyBYW7h/Wq576lnN3l9+W/c="},
	{"refresh-optout@example.com", "NaNI8RU0bL1Jpp1jJLC5aJO/lchc6gGhgXQIAwJ7cV4="},
	{"test@example.com", "lz3+Rj7IV4X1+Vr1ujkG7tstkxwk5pgkqJ6mXbpOgTs="},
}

// Space handling verified against the operator's method (§2.14.1).
var spaceEmails = []struct {
	in, norm string
}{
	{"te st@test.com", "test@test.com"},
	{" Jo hn.Doe @ Gmail.com ", "john.doe@ gmail.com"}, // kept space defeats the gmail rule
	{"a@b c.com ", "a@b c.com"},
}

func TestNormalizeEmailInvalid(t *testing.T) {
	for _, s := range invalidEmails {
		if got, ok := identity.NormalizeEmail(s); ok {
			t.Errorf("NormalizeEmail(%q) = %q, true; want invalid", s, got)
		}
		if h, ok := identity.EmailHash(s); ok || h.Len() != 0 {
			t.Errorf("EmailHash(%q) = %s, %v; want invalid", s, hashB64(h), ok)
		}
		dst := []byte("keep")
		if got, ok := identity.AppendNormalizedEmail(dst, s); ok || string(got) != "keep" {
			t.Errorf("AppendNormalizedEmail(%q, %q) = %q, %v; want dst unchanged, false", dst, s, got, ok)
		}
	}
}

func TestNormalizeEmailValid(t *testing.T) {
	for _, tt := range validEmails {
		got, ok := identity.NormalizeEmail(tt.in)
		if !ok || got != tt.norm {
			t.Errorf("NormalizeEmail(%q) = %q, %v; want %q, true", tt.in, got, ok, tt.norm)
		}
		h, ok := identity.EmailHash(tt.in)
		if !ok || hashB64(h) != tt.hash {
			t.Errorf("EmailHash(%q) = %s, %v; want %s", tt.in, hashB64(h), ok, tt.hash)
		}
		app, ok := identity.AppendNormalizedEmail([]byte("x:"), tt.in)
		if !ok || string(app) != "x:"+tt.norm {
			t.Errorf("AppendNormalizedEmail(%q, %q) = %q, %v; want %q", "x:", tt.in, app, ok, "x:"+tt.norm)
		}
	}
}

func TestNormalizeEmailSpaces(t *testing.T) {
	for _, tt := range spaceEmails {
		if got, ok := identity.NormalizeEmail(tt.in); !ok || got != tt.norm {
			t.Errorf("NormalizeEmail(%q) = %q, %v; want %q, true", tt.in, got, ok, tt.norm)
		}
	}
}

// TestNormalizeEmailEdges pins behaviour the Java code has and a "sensible"
// normalizer would not.
func TestNormalizeEmailEdges(t *testing.T) {
	tests := []struct {
		name, in, want string
		ok             bool
	}{
		{"no other syntax check", "a@b", "a@b", true},
		{"googlemail is not gmail", "A.B+c@GoogleMail.com", "a.b+c@googlemail.com", true},
		{"gmail dots after plus", "a+b.c@gmail.com", "a@gmail.com", true},
		{"gmail only dots", "...@gmail.com", "", false},
		{"gmail plus then local", "+a@gmail.com", "", false},
		{"non-gmail keeps plus only", "+@b.com", "+@b.com", true},
		{"domain spaces kept inside", "a@ b .com", "a@ b .com", true},
		{"domain only spaces", "a@   ", "", false},
		{"tab is not a space", "\ta@b.com\t", "\ta@b.com\t", true},
		{"gmail with trailing tab", "a.b@gmail.com\t", "a.b@gmail.com\t", true},
		{"no unicode folding", "ÄB@X.COM", "Äb@x.com", true},
		{"kelvin sign kept", "\u212A@gmail.com", "\u212A@gmail.com", true},
		{"second at in trailing spaces", "a@b.com @", "", false},
		{"no at", "abc", "", false},
	}
	for _, tt := range tests {
		got, ok := identity.NormalizeEmail(tt.in)
		if got != tt.want || ok != tt.ok {
			t.Errorf("%s: NormalizeEmail(%q) = %q, %v; want %q, %v", tt.name, tt.in, got, ok, tt.want, tt.ok)
		}
	}
}

func TestEmailHashOtherReferences(t *testing.T) {
	for _, tt := range emailHashes {
		h, ok := identity.EmailHash(tt.in)
		if !ok || hashB64(h) != tt.hash {
			t.Errorf("EmailHash(%q) = %s, %v; want %s", tt.in, hashB64(h), ok, tt.hash)
		}
	}
}

func TestEmailHashLong(t *testing.T) {
	// Longer than the stack buffer: still correct, just allocates.
	long := make([]byte, 600)
	for i := range long {
		long[i] = 'A'
	}
	in := string(long) + "@Example.com"
	want := make([]byte, 600)
	for i := range want {
		want[i] = 'a'
	}
	if got, ok := identity.NormalizeEmail(in); !ok || got != string(want)+"@example.com" {
		t.Errorf("NormalizeEmail(600×A@Example.com) = %d bytes, %v; want 612 bytes", len(got), ok)
	}
	h, ok := identity.EmailHash(in)
	h2, _ := identity.EmailHash(string(want) + "@example.com")
	if !ok || h != h2 {
		t.Errorf("EmailHash(600×A@Example.com) differs from the hash of its normalized form")
	}
}

// Phones: OPT InputNormalizationTest.java testPhoneNumberIsNormalizedNegative
// (except null) and ...Positive (K-7).
var invalidPhones = []string{
	"",
	"asdaksjdakfj",
	"DH5qQFhi5ALrdqcPiib8cy0Hwykx6frpqxWCkR0uijs",
	"QFhi5ALrdqcPiib8cy0Hwykx6frpqxWCkR0uijs",
	"06a418f467a14e1631a317b107548a1039d26f12ea45301ab14e7684b36ede58",
	"0C7E6A405862E402EB76A70F8A26FC732D07C32931E9FAE9AB1582911D2E8A3B",
	"+",
	"12345678",
	"123456789",
	"1234567890",
	"+12345678",
	"+123456789",
	"+ 12345678",
	"+ 123456789",
	"+ 1234 5678",
	"+ 1234 56789",
	"+1234567890123456",
	"+1234567890A",
	"+1234567890 ",
	"+1234567890+",
	"+12345+67890",
	"555-555-5555",
	"(555) 555-5555",
}

var validPhones = []string{
	"+1234567890",
	"+12345678901",
	"+123456789012",
	"+1234567890123",
	"+12345678901234",
	"+123456789012345",
}

func TestValidPhone(t *testing.T) {
	for _, s := range invalidPhones {
		if identity.ValidPhone(s) {
			t.Errorf("ValidPhone(%q) = true; want false", s)
		}
		if _, ok := identity.PhoneHash(s); ok {
			t.Errorf("PhoneHash(%q) ok; want invalid", s)
		}
	}
	for _, s := range validPhones {
		if !identity.ValidPhone(s) {
			t.Errorf("ValidPhone(%q) = false; want true", s)
		}
	}
	// Not in the reference table: a non-ASCII digit is not a digit.
	if identity.ValidPhone("+123456789\u0660") {
		t.Errorf("ValidPhone with ARABIC-INDIC DIGIT ZERO = true; want false")
	}
}

func TestPhoneHash(t *testing.T) {
	tests := []struct{ in, hash string }{
		{"+12345678901", "EObwtHBUqDNZR33LNSMdtt5cafsYFuGmuY4ZLenlue4="}, // DOC gs-normalization-encoding.md
		{"+00000000000", "313yQvZOTb0vjjEU7sTO/UWxGPzVppIbCyQEJEnfxLo="}, // test identity, K-7 [DER]
		{"+00000000002", "0VoxsIuk88qt7TnZaTC//C9Vur3pR1zBMIr1cJe7xjE="}, // test identity, K-7 [DER]
	}
	for _, tt := range tests {
		h, ok := identity.PhoneHash(tt.in)
		if !ok || hashB64(h) != tt.hash {
			t.Errorf("PhoneHash(%q) = %s, %v; want %s", tt.in, hashB64(h), ok, tt.hash)
		}
	}
}

// masterHash is SHA-256("foo@bar.com"): OPT InputNormalizationTest.java
// testValidHashNormalization (K-7).
const masterHash = "DH5qQFhi5ALrdqcPiib8cy0Hwykx6frpqxWCkR0uijs="

func TestParseHashValid(t *testing.T) {
	for _, s := range []string{
		masterHash,
		"0C7E6A405862E402EB76A70F8A26FC732D07C32931E9FAE9AB1582911D2E8A3B",
		"0c7e6a405862e402eb76a70f8a26fc732d07c32931e9fae9ab1582911d2e8a3b",
		"0c7E6a405862e402eb76A70F8a26fc732d07c32931e9fae9ab1582911d2e8a3B", // mixed case: Java decodes per character
	} {
		h, ok := identity.ParseHash(s)
		if !ok || h.Len() != 32 || hashB64(h) != masterHash {
			t.Errorf("ParseHash(%q) = %s (%d bytes), %v; want %s", s, hashB64(h), h.Len(), ok, masterHash)
		}
	}
}

// TestParseHashRoundTrip uses reference hashes that contain '+' and '/'.
func TestParseHashRoundTrip(t *testing.T) {
	for _, tt := range validEmails {
		h, ok := identity.ParseHash(tt.hash)
		if got := string(h.AppendBase64(nil)); !ok || got != tt.hash {
			t.Errorf("ParseHash(%q) = %s, %v; want the same text back", tt.hash, got, ok)
		}
	}
}

func TestParseHashInvalid(t *testing.T) {
	for _, s := range []string{
		// OPT InputNormalizationTest.java testInvalidHashNormalization (K-7).
		"",
		"asdaksjdakfj",
		"DH5qQFhi5ALrdqcPiib8cy0Hwykx6frpqxWCkR0uijs",
		"QFhi5ALrdqcPiib8cy0Hwykx6frpqxWCkR0uijs",
		"0Z7E6A405862E402EB76A70F8A26FC732D07C32931E9FAE9AB1582911D2E8A3B",
		"0C7E6A405862E402EB76A70F8A26FC732D07C32931E9FAE9AB1582911D2E8A3B00",
		"000C7E6A405862E402EB76A70F8A26FC732D07C32931E9FAE9AB1582911D2E8A3B",
		// Java's basic decoder rules (§2.14.3).
		"DH5qQFhi5ALrdqcPiib8cy0Hwykx6frpqxWCkR0ui===",  // third '=' leaves too few bits
		"DH5qQFhi5ALrdqcPiib8cy0Hwykx6frpqxWCkR0uij=A",  // data after padding
		"DH5qQFhi5ALrdqcPiib8cy0Hwykx6frpqxWCkR0uijs\n", // Go's decoder would skip '\n'; Java rejects it
		"DH5qQFhi5ALrdqcPiib8cy0Hwykx6frpqxWCkR0uij\r\n",
		"DH5qQFhi5ALrdqcPiib8cy0Hwykx6frpqxWCkR0uijs ",
		"DH5qQFhi5ALrdqcPiib8cy0Hwykx6frpqxWCkR0uij-_", // URL-safe alphabet
		"DH5qQFhi5ALrdqcPiib=cy0Hwykx6frpqxWCkR0uijs=", // padding in the middle
		"0c7e6a405862e402eb76a70f8a26fc732d07c32931e9fae9ab1582911d2e8a3g",
		"0c7e6a405862e402eb76a70f8a26fc732d07c32931e9fae9ab1582911d2e8a3 ",
		"0x7e6a405862e402eb76a70f8a26fc732d07c32931e9fae9ab1582911d2e8a3b",
	} {
		if h, ok := identity.ParseHash(s); ok {
			t.Errorf("ParseHash(%q) = %s, true; want invalid", s, hashB64(h))
		}
	}
}

// TestParseHashJavaLengths covers the §2.14.3 quirk: Java accepts any
// 44-character base64, so the decoded length depends on the padding, and the
// first-level hash is computed over the re-encoded bytes.
func TestParseHashJavaLengths(t *testing.T) {
	tests := []struct {
		name, in string
		n        int
		reenc    string // b64 of the decoded bytes, what §3.2 hashes
	}{
		{"no padding gives 33 bytes", "DH5qQFhi5ALrdqcPiib8cy0Hwykx6frpqxWCkR0uijsA", 33, "DH5qQFhi5ALrdqcPiib8cy0Hwykx6frpqxWCkR0uijsA"},
		{"one pad gives 32 bytes", masterHash, 32, masterHash},
		{"two pads give 31 bytes", "DH5qQFhi5ALrdqcPiib8cy0Hwykx6frpqxWCkR0uiA==", 31, "DH5qQFhi5ALrdqcPiib8cy0Hwykx6frpqxWCkR0uiA=="},
		{"unused bits ignored", "DH5qQFhi5ALrdqcPiib8cy0Hwykx6frpqxWCkR0uijt=", 32, masterHash},
		{"unused bits ignored, two pads", "DH5qQFhi5ALrdqcPiib8cy0Hwykx6frpqxWCkR0uiB==", 31, "DH5qQFhi5ALrdqcPiib8cy0Hwykx6frpqxWCkR0uiA=="},
	}
	for _, tt := range tests {
		h, ok := identity.ParseHash(tt.in)
		if !ok || h.Len() != tt.n || string(h.AppendBase64(nil)) != tt.reenc {
			t.Errorf("%s: ParseHash(%q) = %s (%d bytes), %v; want %s (%d bytes)", tt.name, tt.in, h.AppendBase64(nil), h.Len(), ok, tt.reenc, tt.n)
		}
	}
}

func TestInputKind(t *testing.T) {
	tests := []struct {
		kind identity.InputKind
		name string
		typ  identity.Type
		in   string
		hash string
	}{
		{identity.KindEmail, "email", identity.TypeEmail, "test@example.com", "lz3+Rj7IV4X1+Vr1ujkG7tstkxwk5pgkqJ6mXbpOgTs="},
		{identity.KindEmailHash, "email_hash", identity.TypeEmail, masterHash, masterHash},
		{identity.KindPhone, "phone", identity.TypePhone, "+12345678901", "EObwtHBUqDNZR33LNSMdtt5cafsYFuGmuY4ZLenlue4="},
		{identity.KindPhoneHash, "phone_hash", identity.TypePhone, "0c7e6a405862e402eb76a70f8a26fc732d07c32931e9fae9ab1582911d2e8a3b", masterHash},
	}
	for _, tt := range tests {
		if got := tt.kind.String(); got != tt.name {
			t.Errorf("InputKind(%d).String() = %q; want %q", tt.kind, got, tt.name)
		}
		if got := tt.kind.Type(); got != tt.typ {
			t.Errorf("%s.Type() = %v; want %v", tt.kind, got, tt.typ)
		}
		if got, ok := identity.ParseInputKind(tt.name); !ok || got != tt.kind {
			t.Errorf("ParseInputKind(%q) = %v, %v; want %v, true", tt.name, got, ok, tt.kind)
		}
		h, ok := identity.Parse(tt.kind, tt.in)
		if !ok || hashB64(h) != tt.hash {
			t.Errorf("Parse(%s, %q) = %s, %v; want %s", tt.kind, tt.in, hashB64(h), ok, tt.hash)
		}
	}
	// Each kind rejects the others' inputs.
	if _, ok := identity.Parse(identity.KindPhone, "test@example.com"); ok {
		t.Errorf("Parse(phone, email) ok; want invalid")
	}
	if _, ok := identity.Parse(identity.KindEmailHash, "test@example.com"); ok {
		t.Errorf("Parse(email_hash, email) ok; want invalid")
	}
	if _, ok := identity.Parse(identity.KindEmail, "+12345678901"); ok {
		t.Errorf("Parse(email, phone) ok; want invalid")
	}
	var zero identity.InputKind
	if _, ok := identity.Parse(zero, "test@example.com"); ok || zero.String() != "" {
		t.Errorf("zero InputKind: Parse ok = %v, String = %q; want invalid, \"\"", ok, zero.String())
	}
	if _, ok := identity.ParseInputKind("Email"); ok {
		t.Errorf("ParseInputKind(%q) ok; want false", "Email")
	}
}
