package excerpt

import (
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"
)

// Max is the most runes of user data a message quotes.
const Max = 64

// Quote is s cut to Max runes (marked with "..."), Go-quoted: control bytes,
// invalid UTF-8 and quotes come out escaped.
func Quote(s string) string { return QuoteN(s, Max) }

// QuoteN is Quote with its own limit.
func QuoteN(s string, max int) string {
	cut, more := Cut(s, max)
	q := strconv.Quote(cut)
	if more {
		q += "..."
	}
	return q
}

// Cut returns s's first max runes and whether anything was left out.
func Cut(s string, max int) (string, bool) {
	if max < 0 {
		max = 0
	}
	n := 0
	for i := range s {
		if n == max {
			return s[:i], true
		}
		n++
	}
	return s, false
}

// Clean is s cut to max runes with every non-printable rune (control bytes,
// ESC, BEL, C1 codes, invalid UTF-8) written as \xNN or \uNNNN, unquoted.
func Clean(s string, max int) string {
	cut, more := Cut(s, max)
	out := Line(cut)
	if more {
		out += "..."
	}
	return out
}

// Line escapes what a terminal would act on in one line of output: ESC
// (and so CSI and OSC sequences), BEL, other C0 and C1 control codes, DEL
// and invalid UTF-8. Tabs stay. A line without any is returned as is.
func Line(s string) string {
	if !needsEscape(s) {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); {
		r, size := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == utf8.RuneError && size <= 1:
			b.WriteString(`\x` + hex2(s[i]))
		case r == '\t':
			b.WriteByte('\t')
		case r < 0x20 || r == 0x7f:
			b.WriteString(`\x` + hex2(byte(r)))
		case r >= 0x80 && r < 0xa0, !unicode.IsPrint(r) && !unicode.IsSpace(r), r == '\u2028', r == '\u2029':
			b.WriteString(`\u` + strconv.FormatInt(int64(r)|0x10000, 16)[1:])
		default:
			b.WriteString(s[i : i+size])
		}
		i += size
	}
	return b.String()
}

func needsEscape(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c < 0x20 && c != '\t' || c == 0x7f || c >= 0x80 {
			if c >= 0x80 {
				// Only non-ASCII that is invalid or non-printable needs work.
				for _, r := range s[i:] {
					if r == utf8.RuneError || r >= 0x80 && r < 0xa0 || r < 0x20 && r != '\t' || r == 0x7f ||
						!unicode.IsPrint(r) && !unicode.IsSpace(r) || r == '\u2028' || r == '\u2029' {
						return true
					}
				}
				return false
			}
			return true
		}
	}
	return false
}

func hex2(c byte) string {
	const digits = "0123456789abcdef"
	return string([]byte{digits[c>>4], digits[c&15]})
}
