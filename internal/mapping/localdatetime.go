package mapping

// ParseLocalDateTime parses s the way Java's
// LocalDateTime.parse(s, ISO_LOCAL_DATE_TIME) does (strict resolver), read as
// UTC, and returns Instant.toEpochMilli of it:
//
//	[+|-]yyyy-MM-dd('T'|'t')HH:mm[:ss[.f{0,9}]]
//
// The year has 4 digits, or 5 to 10 digits after a mandatory '+' (a '-' may
// precede any width but not zero), within ±999,999,999. ok is false if s
// does not parse; overflow is true if the instant does not fit epoch
// milliseconds (Java throws ArithmeticException).
func ParseLocalDateTime(s []byte) (ms int64, ok, overflow bool) {
	i := 0
	neg, plus := false, false
	if len(s) > 0 && (s[0] == '+' || s[0] == '-') {
		neg, plus = s[0] == '-', s[0] == '+'
		i++
	}
	ystart := i
	var year int64
	for i < len(s) && i-ystart < 10 && isDigit(s[i]) {
		year = year*10 + int64(s[i]-'0')
		i++
	}
	switch n := i - ystart; {
	case n < 4:
		return 0, false, false
	case !neg && !plus && n > 4, plus && n <= 4, neg && year == 0:
		return 0, false, false
	}
	if year > 999_999_999 {
		return 0, false, false
	}
	if neg {
		year = -year
	}
	month, i, ok1 := twoDigits(s, i, '-')
	day, i, ok2 := twoDigits(s, i, '-')
	if !ok1 || !ok2 || i >= len(s) || (s[i] != 'T' && s[i] != 't') {
		return 0, false, false
	}
	hour, i, ok3 := twoDigits(s, i+1, 0)
	minute, i, ok4 := twoDigits(s, i, ':')
	if !ok3 || !ok4 {
		return 0, false, false
	}
	var second, nanos int64
	if i < len(s) && s[i] == ':' {
		var ok5 bool
		if second, i, ok5 = twoDigits(s, i, ':'); !ok5 {
			return 0, false, false
		}
		if i < len(s) && s[i] == '.' {
			i++
			digits := 0
			for i < len(s) && digits < 9 && isDigit(s[i]) {
				nanos = nanos*10 + int64(s[i]-'0')
				i++
				digits++
			}
			for ; digits < 9; digits++ {
				nanos *= 10
			}
		}
	}
	if i != len(s) || month < 1 || month > 12 || day < 1 || day > daysIn(year, month) ||
		hour > 23 || minute > 59 || second > 59 {
		return 0, false, false
	}
	secs := daysFromCivil(year, month, day)*86400 + hour*3600 + minute*60 + second
	// Instant.toEpochMilli, with its overflow checks.
	if secs < 0 && nanos > 0 {
		m, ok := mulExact(secs+1, 1000)
		if !ok {
			return 0, true, true
		}
		return m + nanos/1_000_000 - 1000, true, false
	}
	m, ok := mulExact(secs, 1000)
	if !ok || m > maxInt64-nanos/1_000_000 {
		return 0, true, true
	}
	return m + nanos/1_000_000, true, false
}

const maxInt64 = 1<<63 - 1

func mulExact(a, b int64) (int64, bool) {
	c := a * b
	if a != 0 && (c/a != b || (a == -1 && b == -1<<63)) {
		return 0, false
	}
	return c, true
}

func isDigit(c byte) bool { return '0' <= c && c <= '9' }

// twoDigits reads an optional one-byte separator sep (0 for none) and two
// ASCII digits at s[i:].
func twoDigits(s []byte, i int, sep byte) (int64, int, bool) {
	if sep != 0 {
		if i >= len(s) || s[i] != sep {
			return 0, i, false
		}
		i++
	}
	if i+2 > len(s) || !isDigit(s[i]) || !isDigit(s[i+1]) {
		return 0, i, false
	}
	return int64(s[i]-'0')*10 + int64(s[i+1]-'0'), i + 2, true
}

func daysIn(year, month int64) int64 {
	switch month {
	case 2:
		if year%4 == 0 && (year%100 != 0 || year%400 == 0) {
			return 29
		}
		return 28
	case 4, 6, 9, 11:
		return 30
	}
	return 31
}

// daysFromCivil returns the days since 1970-01-01 of a proleptic Gregorian
// date (Howard Hinnant's algorithm), exact for the whole ±999,999,999 range.
func daysFromCivil(y, m, d int64) int64 {
	if m <= 2 {
		y--
	}
	era := y / 400
	if y < 0 && y%400 != 0 {
		era--
	}
	yoe := y - era*400
	mp := (m + 9) % 12
	doy := (153*mp+2)/5 + d - 1
	doe := yoe*365 + yoe/4 - yoe/100 + doy
	return era*146097 + doe - 719468
}
