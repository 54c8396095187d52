package salts_test

import (
	"bytes"
	"errors"
	"io"
	"strings"
	"testing"

	"github.com/uid2-private-operator/uid2-operator/internal/salts"
)

// Keys must be AES key sized, so these stand in for the short placeholders of
// the reference SaltFileParserTest.
const (
	key1    = "key_1key_1key_1key_1key_1key_1ke" // 32 bytes
	oldKey1 = "old_key_1old_key_1old_key_1old_k"
	key2    = "key_2key_2key_2key_2key_2key_2ke"
	oldKey2 = "old_key_2old_key_2old_key_2old_k"
	curKey  = "current_key_key_current_key_key_"
	prevKey = "previous_key_key_previous_key_ke"
)

func km(id int32, key, salt string) salts.KeyMaterial {
	return salts.KeyMaterial{ID: id, Key: key, Salt: salt, Valid: true}
}

// parseBoth parses in with both entry points, checks that they agree and
// returns the table.
func parseBoth(t *testing.T, in string, size int) (*salts.Table, error) {
	t.Helper()
	tb, err := salts.ParseFileBytes([]byte(in), size)
	tr, errR := salts.ParseFile(strings.NewReader(in), size)
	if (err == nil) != (errR == nil) || (err != nil && err.Error() != errR.Error()) {
		t.Fatalf("ParseFileBytes error %v, ParseFile error %v; want the same", err, errR)
	}
	if err != nil {
		return nil, err
	}
	if tb.Len() != tr.Len() {
		t.Fatalf("ParseFileBytes Len %d, ParseFile Len %d", tb.Len(), tr.Len())
	}
	for i := range tb.Len() {
		if tb.Entry(i) != tr.Entry(i) {
			t.Fatalf("bucket %d: ParseFileBytes %#v, ParseFile %#v", i, tb.Entry(i), tr.Entry(i))
		}
	}
	return tb, nil
}

func checkEntries(t *testing.T, tb *salts.Table, want []salts.Entry) {
	t.Helper()
	if tb.Len() != len(want) {
		t.Fatalf("Len() = %d; want %d", tb.Len(), len(want))
	}
	for i, w := range want {
		if got := tb.Entry(i); got != w {
			t.Errorf("Entry(%d) =\n  %#v\nwant\n  %#v", i, got, w)
		}
	}
}

func TestParseFile(t *testing.T) {
	curKM, prevKM := km(0, curKey, "current_key_salt"), km(1, prevKey, "previous_key_salt")
	tests := []struct {
		name string
		in   string
		want []salts.Entry
	}{
		{
			name: "all fields",
			in: "1,100,salt1,1000,old_salt1,10," + key1 + ",key_salt_1,100," + oldKey1 + ",old_key_1_salt\n" +
				"2,200,salt2,2000,old_salt2,20," + key2 + ",key_salt_2,200," + oldKey2 + ",old_key_2_salt\n",
			want: []salts.Entry{
				{1, 100, 1000, "salt1", "old_salt1", km(10, key1, "key_salt_1"), km(100, oldKey1, "old_key_1_salt")},
				{2, 200, 2000, "salt2", "old_salt2", km(20, key2, "key_salt_2"), km(200, oldKey2, "old_key_2_salt")},
			},
		},
		{
			name: "empty optional fields",
			in: "1,100,salt1,1000,,10," + key1 + ",key_salt_1,,,\n" +
				"2,200,salt2,2000,,20," + key2 + ",key_salt_2,,,\n",
			want: []salts.Entry{
				{ID: 1, LastUpdated: 100, RefreshFrom: 1000, CurrentSalt: "salt1", CurrentKey: km(10, key1, "key_salt_1")},
				{ID: 2, LastUpdated: 200, RefreshFrom: 2000, CurrentSalt: "salt2", CurrentKey: km(20, key2, "key_salt_2")},
			},
		},
		{
			name: "empty key fields",
			in:   "1,100,salt1,1000,old_salt1,,,,,,\n2,200,salt2,2000,,,,,,,\n",
			want: []salts.Entry{
				{ID: 1, LastUpdated: 100, RefreshFrom: 1000, CurrentSalt: "salt1", PreviousSalt: "old_salt1"},
				{ID: 2, LastUpdated: 200, RefreshFrom: 2000, CurrentSalt: "salt2"},
			},
		},
		{
			name: "mixed salt and key buckets",
			in: "1,100,,1000,old_salt,,,,,,\n" +
				"2,200,,2000,old_salt,0," + curKey + ",current_key_salt,,,\n" +
				"3,300,,3000,,0," + curKey + ",current_key_salt,,,\n" +
				"4,400,,4000,,0," + curKey + ",current_key_salt,1," + prevKey + ",previous_key_salt\n" +
				"5,500,salt,5000,,,,,1," + prevKey + ",previous_key_salt\n",
			want: []salts.Entry{
				{ID: 1, LastUpdated: 100, RefreshFrom: 1000, PreviousSalt: "old_salt"},
				{ID: 2, LastUpdated: 200, RefreshFrom: 2000, PreviousSalt: "old_salt", CurrentKey: curKM},
				{ID: 3, LastUpdated: 300, RefreshFrom: 3000, CurrentKey: curKM},
				{ID: 4, LastUpdated: 400, RefreshFrom: 4000, CurrentKey: curKM, PreviousKey: prevKM},
				{ID: 5, LastUpdated: 500, RefreshFrom: 5000, CurrentSalt: "salt", PreviousKey: prevKM},
			},
		},
		{
			name: "crlf and no final newline",
			in:   "1,100,a,1000,b,,,,,,\r\n2,200,c,2000,,,,,,,\r\n3,300,d,3000,,,,,,,",
			want: []salts.Entry{
				{ID: 1, LastUpdated: 100, RefreshFrom: 1000, CurrentSalt: "a", PreviousSalt: "b"},
				{ID: 2, LastUpdated: 200, RefreshFrom: 2000, CurrentSalt: "c"},
				{ID: 3, LastUpdated: 300, RefreshFrom: 3000, CurrentSalt: "d"},
			},
		},
		{
			name: "values trimmed, blanks absent",
			in:   " 7 ,\t100 ,  s  , 1000,   , 3 , " + key1 + " , ks ,  , " + oldKey1 + " ,x \n",
			want: []salts.Entry{
				{ID: 7, LastUpdated: 100, RefreshFrom: 1000, CurrentSalt: "s", CurrentKey: km(3, key1, "ks")},
			},
		},
		{
			name: "key id without key and key without id are absent",
			in:   "1,100,s,1000,,5,,ks,," + key1 + ",ks\n",
			want: []salts.Entry{{ID: 1, LastUpdated: 100, RefreshFrom: 1000, CurrentSalt: "s"}},
		},
		{
			name: "key material with blank salt",
			in:   "1,100,,1000,,5," + key1 + ",,,,\n",
			want: []salts.Entry{{ID: 1, LastUpdated: 100, RefreshFrom: 1000, CurrentKey: km(5, key1, "")}},
		},
		{
			name: "16 and 24 byte keys, extra columns ignored, signs",
			in:   "-1,-100,,-1000,,-5,0123456789abcdef,s,6,0123456789abcdef01234567,t,extra,columns\n",
			want: []salts.Entry{{ID: -1, LastUpdated: -100, RefreshFrom: -1000,
				CurrentKey: km(-5, "0123456789abcdef", "s"), PreviousKey: km(6, "0123456789abcdef01234567", "t")}},
		},
		{
			name: "int limits",
			in:   "+2147483647,9223372036854775807,s,-9223372036854775808,,-2147483648," + key1 + ",s,,,\n",
			want: []salts.Entry{{ID: 2147483647, LastUpdated: 9223372036854775807, RefreshFrom: -9223372036854775808,
				CurrentSalt: "s", CurrentKey: km(-2147483648, key1, "s")}},
		},
		{
			name: "same key id with different material is kept apart",
			in:   "1,1,,1,,9," + key1 + ",a,9," + key2 + ",a\n2,1,,1,,9," + key2 + ",a,9," + key1 + ",a\n",
			want: []salts.Entry{
				{ID: 1, LastUpdated: 1, RefreshFrom: 1, CurrentKey: km(9, key1, "a"), PreviousKey: km(9, key2, "a")},
				{ID: 2, LastUpdated: 1, RefreshFrom: 1, CurrentKey: km(9, key2, "a"), PreviousKey: km(9, key1, "a")},
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tb, err := parseBoth(t, tt.in, len(tt.want))
			if err != nil {
				t.Fatalf("ParseFile: %v", err)
			}
			checkEntries(t, tb, tt.want)
		})
	}
}

func TestParseFileInterns(t *testing.T) {
	var b strings.Builder
	for i := range 100 {
		b.WriteString("1,1,,1,,")
		if i%2 == 0 {
			b.WriteString("7," + key1 + ",salt7,8," + key2 + ",salt8\n")
		} else {
			b.WriteString("8," + key2 + ",salt8,,,\n")
		}
	}
	tb, err := salts.ParseFileBytes([]byte(b.String()), 100)
	if err != nil {
		t.Fatal(err)
	}
	if got := tb.KeyMaterialCount(); got != 2 {
		t.Errorf("KeyMaterialCount() = %d; want 2", got)
	}
}

func TestParseFileErrors(t *testing.T) {
	const ok = "1,100,s,1000,,,,,,,\n"
	tests := []struct {
		name      string
		in        string
		size      int
		wantLine  int
		wantField string
		wantErr   error
	}{
		{"empty file", "", 1, 1, "", salts.ErrTooFewLines},
		{"fewer lines", ok + ok, 3, 3, "", salts.ErrTooFewLines},
		{"more lines", ok + ok + ok, 2, 3, "", salts.ErrTooManyLines},
		{"trailing blank line", ok + ok + "\n", 2, 3, "", salts.ErrTooManyLines},
		{"blank line inside", ok + "\n" + ok, 3, 2, "", salts.ErrTooFewFields},
		{"short line", ok + "1,100,s,1000,,,,,,\n", 2, 2, "", salts.ErrTooFewFields},
		{"old three-column format", "1,100,s\n", 1, 1, "", salts.ErrTooFewFields},
		{"bad id", "x,100,s,1000,,,,,,,\n", 1, 1, "id", salts.ErrInteger},
		{"blank id", ",100,s,1000,,,,,,,\n", 1, 1, "id", salts.ErrMissing},
		{"id over int32", "2147483648,100,s,1000,,,,,,,\n", 1, 1, "id", salts.ErrInteger},
		{"bad lastUpdated", ok + "1,1e3,s,1000,,,,,,,\n", 2, 2, "lastUpdated", salts.ErrInteger},
		{"lastUpdated overflow", "1,9223372036854775808,s,1000,,,,,,,\n", 1, 1, "lastUpdated", salts.ErrInteger},
		{"sign only", "1,-,s,1000,,,,,,,\n", 1, 1, "lastUpdated", salts.ErrInteger},
		{"missing refreshFrom", "1,100,s,,,,,,,,\n", 1, 1, "refreshFrom", salts.ErrMissing},
		{"bad refreshFrom", "1,100,s,1 000,,,,,,,\n", 1, 1, "refreshFrom", salts.ErrInteger},
		{"bad current key id", "1,100,,1000,,k," + key1 + ",s,,,\n", 1, 1, "currentKeyId", salts.ErrInteger},
		{"short current key", "1,100,,1000,,1,short,s,,,\n", 1, 1, "currentKey", salts.ErrKeyLength},
		{"33-byte previous key", "1,100,s,1000,,,,,2," + key1 + "x,s\n", 1, 1, "previousKey", salts.ErrKeyLength},
		{"salt too long", "1,100," + strings.Repeat("s", salts.MaxSaltLen+1) + ",1000,,,,,,,\n", 1, 1, "currentSalt", salts.ErrFieldTooLarge},
		{"previous salt too long", "1,100,,1000," + strings.Repeat("s", salts.MaxSaltLen+1) + ",,,,,,\n", 1, 1, "previousSalt", salts.ErrFieldTooLarge},
		{"line too long", "1,100," + strings.Repeat("s", salts.MaxLineLen) + ",1000,,,,,,,\n", 1, 1, "", salts.ErrLineTooLong},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := parseBoth(t, tt.in, tt.size)
			var le *salts.LineError
			if !errors.As(err, &le) {
				t.Fatalf("ParseFile(%q) error = %v; want *LineError", tt.in, err)
			}
			if le.Line != tt.wantLine || le.Field != tt.wantField || !errors.Is(err, tt.wantErr) {
				t.Errorf("ParseFile(%q) = line %d field %q err %v; want line %d field %q err %v",
					tt.in, le.Line, le.Field, le.Err, tt.wantLine, tt.wantField, tt.wantErr)
			}
		})
	}
}

func TestParseFileErrorHidesSecrets(t *testing.T) {
	_, err := salts.ParseFileBytes([]byte("1,100,s,1000,,1,secretsecret,ks,,,\n"), 1)
	if err == nil || strings.Contains(err.Error(), "secret") {
		t.Errorf("error %q; want one that does not echo the key", err)
	}
	if got, want := err.Error(), "salts: line 1: currentKey: key must be 16, 24 or 32 bytes"; got != want {
		t.Errorf("error %q; want %q", got, want)
	}
}

func TestParseFileBadSize(t *testing.T) {
	for _, size := range []int{0, -1, salts.MaxSize + 1} {
		if _, err := salts.ParseFileBytes([]byte("1,1,s,1,,,,,,,\n"), size); err == nil {
			t.Errorf("ParseFileBytes(size %d) succeeded; want error", size)
		}
		if _, err := salts.ParseFile(strings.NewReader(""), size); err == nil {
			t.Errorf("ParseFile(size %d) succeeded; want error", size)
		}
	}
}

// failAfterReader returns its data and then err.
type failAfterReader struct {
	data []byte
	err  error
}

func (r *failAfterReader) Read(p []byte) (int, error) {
	if len(r.data) == 0 {
		return 0, r.err
	}
	n := copy(p, r.data)
	r.data = r.data[n:]
	return n, nil
}

func TestParseFileReadError(t *testing.T) {
	boom := errors.New("boom")
	_, err := salts.ParseFile(&failAfterReader{data: []byte("1,1,s,1,,,,,,,\n"), err: boom}, 2)
	if !errors.Is(err, boom) {
		t.Errorf("ParseFile error = %v; want it to wrap %v", err, boom)
	}
}

func TestParseFileHugeLineNoNewline(t *testing.T) {
	r := io.MultiReader(strings.NewReader("1,1,"), bytes.NewReader(bytes.Repeat([]byte("s"), 1<<20)))
	_, err := salts.ParseFile(r, 1)
	if !errors.Is(err, salts.ErrLineTooLong) {
		t.Errorf("ParseFile error = %v; want ErrLineTooLong", err)
	}
}

func TestEntryDoesNotAllocate(t *testing.T) {
	tb, err := salts.ParseFileBytes([]byte("1,100,a,1000,b,1,"+key1+",s,2,"+key2+",t\n"), 1)
	if err != nil {
		t.Fatal(err)
	}
	var sink salts.Entry
	if n := testing.AllocsPerRun(100, func() { sink = tb.Entry(0) }); n != 0 {
		t.Errorf("Entry allocates %v times; want 0", n)
	}
	_ = sink
}

func TestModifiedSince(t *testing.T) {
	in := "10,500,a,1,,,,,,,\n11,100,b,1,,,,,,,\n12,499,c,1,,,,,,,\n13,900,d,1,,,,,,,\n"
	tb, err := salts.ParseFileBytes([]byte(in), 4)
	if err != nil {
		t.Fatal(err)
	}
	var got []int64
	tb.ModifiedSince(500, func(i int, e salts.Entry) {
		if e != tb.Entry(i) {
			t.Errorf("callback entry %d differs from Entry(%d)", i, i)
		}
		got = append(got, e.ID)
	})
	if want := []int64{10, 13}; !equalInts(got, want) {
		t.Errorf("ModifiedSince(500) ids = %v; want %v", got, want)
	}
}

func equalInts(a, b []int64) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func TestStringRedacts(t *testing.T) {
	e := salts.Entry{ID: 1, CurrentSalt: "topsalt", CurrentKey: km(3, key1, "keysalt")}
	for _, s := range []string{e.String(), e.LogValue().String(), e.CurrentKey.String()} {
		if strings.Contains(s, "topsalt") || strings.Contains(s, "key_1") || strings.Contains(s, "keysalt") {
			t.Errorf("String() = %q; leaks a secret", s)
		}
	}
}

func TestWriteFileRoundTrip(t *testing.T) {
	entries := genEntries(2000, 1)
	var buf bytes.Buffer
	if err := salts.WriteFile(&buf, entries); err != nil {
		t.Fatal(err)
	}
	tb, err := parseBoth(t, buf.String(), len(entries))
	if err != nil {
		t.Fatal(err)
	}
	checkEntries(t, tb, entries)
}

func TestWriteFileFormat(t *testing.T) {
	var buf bytes.Buffer
	err := salts.WriteFile(&buf, []salts.Entry{
		{ID: 1, LastUpdated: 100, RefreshFrom: 1000, CurrentSalt: "s", PreviousSalt: "p"},
		{ID: 2, LastUpdated: 200, RefreshFrom: 2000, CurrentKey: km(5, key1, "k"), PreviousKey: km(6, key2, "")},
	})
	if err != nil {
		t.Fatal(err)
	}
	want := "1,100,s,1000,p,,,,,,\n2,200,,2000,,5," + key1 + ",k,6," + key2 + ",\n"
	if buf.String() != want {
		t.Errorf("WriteFile wrote %q; want %q", buf.String(), want)
	}
}

func TestWriteFileRejects(t *testing.T) {
	tests := []struct {
		name string
		e    salts.Entry
	}{
		{"id under int32", salts.Entry{ID: -1<<31 - 1}},
		{"id over int32", salts.Entry{ID: 1 << 31}},
		{"comma in salt", salts.Entry{CurrentSalt: "a,b"}},
		{"newline in salt", salts.Entry{PreviousSalt: "a\nb"}},
		{"surrounding blank", salts.Entry{CurrentSalt: " a"}},
		{"short key", salts.Entry{CurrentKey: km(1, "short", "s")}},
		{"valid key material without key", salts.Entry{PreviousKey: salts.KeyMaterial{ID: 1, Valid: true}}},
		{"comma in key salt", salts.Entry{CurrentKey: km(1, key1, "a,b")}},
		{"line too long", salts.Entry{CurrentSalt: strings.Repeat("x", salts.MaxLineLen)}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if err := salts.WriteFile(io.Discard, []salts.Entry{tt.e}); err == nil {
				t.Errorf("WriteFile(%#v) succeeded; want error", tt.e)
			}
		})
	}
}
