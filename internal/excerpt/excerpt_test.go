package excerpt

import (
	"strings"
	"testing"
)

func TestQuoteCapsAndEscapes(t *testing.T) {
	long := strings.Repeat("A", 500)
	if q := Quote(long); len(q) > Max+5 || !strings.HasSuffix(q, `"...`) {
		t.Fatalf("Quote(500 A) = %q", q)
	}
	env := "PATH=/bin\x00AWS_SECRET_ACCESS_KEY=Canary\x00HOME=/root"
	if q := QuoteN(env, 12); strings.Contains(q, "Canary") || strings.ContainsRune(q, 0) {
		t.Fatalf("QuoteN = %q", q)
	}
	if q := Quote("a\x1b]0;pwned\x07b"); strings.ContainsAny(q, "\x1b\x07") {
		t.Fatalf("Quote kept control bytes: %q", q)
	}
}

func TestLine(t *testing.T) {
	for in, want := range map[string]string{
		"plain line\twith tab": "plain line\twith tab",
		"über 7 ans":           "über 7 ans",
		"\x1b[31mred\x1b[0m":   `\x1b[31mred\x1b[0m`,
		"title\x1b]0;x\x07":    `title\x1b]0;x\x07`,
		"c1 \u009b31m":         `c1 \u009b31m`,
		"bad \xff utf8":        `bad \xff utf8`,
		"del\x7f":              `del\x7f`,
		"cr\rover":             `cr\x0dover`,
	} {
		if got := Line(in); got != want {
			t.Errorf("Line(%q) = %q, want %q", in, got, want)
		}
	}
	if got := Clean(strings.Repeat("é", 10), 3); got != "ééé..." {
		t.Errorf("Clean = %q", got)
	}
}
