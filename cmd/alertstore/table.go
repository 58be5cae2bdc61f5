package main

import (
	"fmt"
	"strings"
	"unicode"
	"unicode/utf8"
)

// escapeCell makes a table cell safe to print on a terminal: a detector
// (or anyone who can write to the store) controls alert text, and a
// control character in it could move the cursor, erase the rows printed
// before it or recolour them, and a bidirectional override could make an
// entity read as another. Every such character is shown as an escape
// instead: C0 controls, DEL and C1 controls as \xNN (\t, \n, \r by their
// names), and invisible format characters (Unicode category Cf: the bidi
// embeddings, overrides and isolates U+202A-U+202E and U+2066-U+2069, the
// marks U+200E, U+200F and U+061C, zero-width characters, the byte order
// mark...), line and paragraph separators and invalid UTF-8 as \uXXXX or
// \xNN. Everything else, non-Latin text included, is kept as written.
func escapeCell(s string) string {
	if s == "" || !needsEscape(s) {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); {
		r, size := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == utf8.RuneError && size == 1:
			fmt.Fprintf(&b, `\x%02x`, s[i])
		case r == '\t':
			b.WriteString(`\t`)
		case r == '\n':
			b.WriteString(`\n`)
		case r == '\r':
			b.WriteString(`\r`)
		case r < 0x20 || r == 0x7f || (r >= 0x80 && r <= 0x9f):
			fmt.Fprintf(&b, `\x%02x`, r)
		case unsafeRune(r):
			fmt.Fprintf(&b, `\u%04x`, r)
		default:
			b.WriteRune(r)
		}
		i += size
	}
	return b.String()
}

func needsEscape(s string) bool {
	for i := 0; i < len(s); {
		r, size := utf8.DecodeRuneInString(s[i:])
		if (r == utf8.RuneError && size == 1) || r < 0x20 || r == 0x7f || (r >= 0x80 && r <= 0x9f) || unsafeRune(r) {
			return true
		}
		i += size
	}
	return false
}

// unsafeRune reports the invisible characters that change how text around
// them is shown: format characters (Cf, which holds every bidi control)
// and the line and paragraph separators.
func unsafeRune(r rune) bool {
	return unicode.Is(unicode.Cf, r) || r == '\u2028' || r == '\u2029'
}
