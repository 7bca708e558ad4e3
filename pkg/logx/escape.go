package logx

import (
	"fmt"
	"io"
	"strings"
	"unicode/utf8"
)

// Escape makes text safe to print on a terminal or into a CI log: control
// characters other than newline and tab (ESC, NUL, carriage return, DEL,
// and the C1 controls U+0080-U+009F, which some terminals obey too) become
// visible escapes such as \x1b and \u009b, and bytes that are not UTF-8
// become \xNN. Text a test wrote can then neither move the cursor, recolour
// or clear a log, nor hide lines. It is the one helper for everything rrr
// prints for people: summaries, `rrr show`, progress, console logs.
func Escape(s string) string {
	if !needsEscape(s) {
		return s
	}
	var b strings.Builder
	b.Grow(len(s) + 16)
	for i := 0; i < len(s); {
		r, n := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == utf8.RuneError && n == 1:
			fmt.Fprintf(&b, `\x%02x`, s[i])
		case r == '\n' || r == '\t' || r == '\r' && strings.HasPrefix(s[i+1:], "\n"):
			b.WriteRune(r) // a CRLF line end hides nothing
		case r < 0x20 || r == 0x7f:
			fmt.Fprintf(&b, `\x%02x`, r)
		case r >= 0x80 && r <= 0x9f:
			fmt.Fprintf(&b, `\u%04x`, r)
		default:
			b.WriteString(s[i : i+n])
		}
		i += n
	}
	return b.String()
}

// needsEscape is the fast path: most text has nothing to escape. A U+FFFD
// here may be a literal one, which Escape keeps.
func needsEscape(s string) bool {
	for _, r := range s {
		if r < 0x20 && r != '\n' && r != '\t' || r == 0x7f || r >= 0x80 && r <= 0x9f || r == utf8.RuneError {
			return true
		}
	}
	return false
}

// EscapeWriter returns a writer that passes what is written to w through
// Escape. Each Write is escaped on its own, so write whole lines or texts
// (as fmt.Fprintf does), not runes cut in two.
func EscapeWriter(w io.Writer) io.Writer { return escapeWriter{w} }

type escapeWriter struct{ w io.Writer }

func (e escapeWriter) Write(p []byte) (int, error) {
	if _, err := io.WriteString(e.w, Escape(string(p))); err != nil {
		return 0, err
	}
	return len(p), nil
}
