package backend

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"math/bits"
	"strings"
	"testing"
)

// TestStopsFlagFirstSpecialByte: for every byte value at every position
// of a word of plain bytes, and with a second special byte after it,
// keyStops and valueStops flag exactly the bytes str must look at (what
// strClass says), and the lowest flag is that byte's.
func TestStopsFlagFirstSpecialByte(t *testing.T) {
	for _, c := range []struct {
		name  string
		stops func(uint64) uint64
		stop  func(byte) bool
	}{
		{"key", keyStops, func(b byte) bool { return strClass[b] != cPlain }},
		{"value", valueStops, func(b byte) bool { return strClass[b] != cPlain && strClass[b] != cHTML }},
	} {
		t.Run(c.name, func(t *testing.T) {
			for b := range 256 {
				for p := range 8 {
					for _, after := range []byte{'a', '"', 0x00, 0xff, ' '} {
						w := bytes.Repeat([]byte{'a'}, 8)
						w[p] = byte(b)
						if p < 7 {
							w[7] = after
						}
						m := c.stops(binary.LittleEndian.Uint64(w))
						first := -1
						for i, x := range w {
							if c.stop(x) {
								first = i
								break
							}
						}
						got := -1
						if m != 0 {
							got = bits.TrailingZeros64(m) >> 3
						}
						if got != first {
							t.Fatalf("word %q: first stop at %d, want %d", w, got, first)
						}
					}
				}
			}
		})
	}
}

// TestScanStringsAtEveryOffset: the single pass agrees with the
// reference path for strings holding each kind of byte str stops at,
// at every offset across the 8-byte words it skips and the bytewise
// tail, in keys and in values.
func TestScanStringsAtEveryOffset(t *testing.T) {
	for _, c := range []struct{ name, b string }{
		{"escape", `\n`}, {"unicode-escape", `\u00e9`}, {"quote-escape", `\"`}, {"control", "\x01"},
		{"del", "\x7f"}, {"two-byte", "é"}, {"three-byte", "日"}, {"four-byte", "𝄞"}, {"invalid", "\xff"},
		{"truncated", "\xe6\x97"}, {"lt", "<"}, {"gt", ">"}, {"amp", "&"}, {"line-separator", "\u2028"},
		{"space", " "}, {"tab", "\t"},
	} {
		for off := range 20 {
			s := strings.Repeat("k", off) + c.b + strings.Repeat("v", 19-off)
			for _, in := range []string{
				fmt.Sprintf(`{"%s": 1, "x": "%s"}`, s, s),
				fmt.Sprintf(`{"a": {"%s": "%s"}}`, s, s),
				fmt.Sprintf(`{"a": "%s"}`, s), // the string ends near the input's end
			} {
				t.Run(fmt.Sprintf("%s/%d", c.name, off), func(t *testing.T) { agree(t, []byte(in)) })
			}
		}
	}
}
