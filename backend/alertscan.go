package backend

import (
	"bytes"
	"encoding/binary"
	"math"
	"math/bits"
	"unicode/utf8"
)

// This file is the single pass that reads an alert: it validates the
// JSON, checks UTF-8, refuses duplicate top-level keys, compacts, and
// notes where the typed fields are, all in one walk over the input
// bytes. It replaces, on the common path, the four passes DecodeAlert
// used to make (utf8.Valid, json.Compact, a split into members with a
// string per key, and a validation that looked every typed field up by
// name). Anything it does not handle on its own, it leaves to the
// reference path (splitObject in jsonscan.go), which is also what
// classifies every error: scanAlert never decides that an input is
// invalid, only that it is not the easy case. FuzzScanAgreesWithReference
// holds the two to the same results.
//
// Why a hand-written scanner and not a library: of the JSON libraries
// measured (backends/internal/servertest/jsonlib: TestGuarantees,
// BenchmarkJSONLibraries), only encoding/json's token API and
// encoding/json/v2 (an experiment behind GOEXPERIMENT=jsonv2) refuse
// duplicate keys and invalid UTF-8, at 5 to 15 times the cost of this
// pass; goccy/go-json, sonic, fastjson and gjson keep the last duplicate
// or need a second walk to find it, none refuses invalid UTF-8, and
// fastjson takes 01 for a number. Their validators alone are faster than
// this pass, but the keys, the compaction and the index would still need
// it.

// span locates a value in an alert's compact encoding: enc[off:end].
// The zero span is "absent" (no value of an object ends at 0).
type span struct{ off, end int32 }

func (s span) ok() bool { return s.end > 0 }

func (s span) of(enc []byte) []byte { return enc[s.off:s.end:s.end] }

// The typed fields an alert indexes, in fieldIndex order.
const (
	fID = iota
	fTimestamp
	fSeverity
	fEntity
	fEntityType
	fEventType
	fMessage
	fScore
	fSource
	fSourceType // source.type, inside the source object
	numFields
)

// fieldIndex is where each typed field's value is in the encoding.
type fieldIndex [numFields]span

// typedField is the index of a top-level key among the typed fields, or
// -1. The switch on string(key) does not allocate.
func typedField[K string | []byte](key K) int {
	switch string(key) {
	case FieldID:
		return fID
	case FieldTimestamp:
		return fTimestamp
	case FieldSeverity:
		return fSeverity
	case FieldEntity:
		return fEntity
	case FieldEntityType:
		return fEntityType
	case FieldEventType:
		return fEventType
	case FieldMessage:
		return fMessage
	case FieldScore:
		return fScore
	case FieldSource:
		return fSource
	}
	return -1
}

// identitySpare is the room left after a decoded alert's bytes for the
// id and timestamp members a Store adds (44 and 41 bytes), so that adding
// them appends in place.
const identitySpare = 96

// maxNestingDepth is encoding/json's limit (json.Valid refuses deeper
// nesting); the reference path uses json.Compact, so the scanner must
// refuse what it refuses.
const maxNestingDepth = 10000

// byte classes inside a string.
const (
	cPlain   = iota // copied as is
	cQuote          // ends the string
	cEscape         // a backslash
	cControl        // < 0x20: invalid in a string
	cHigh           // >= 0x80: a UTF-8 sequence to check
	cHTML           // < > &: fine, but a key holding one is re-quoted by quote()
)

var strClass = func() (t [256]uint8) {
	for i := range t {
		switch {
		case i < 0x20:
			t[i] = cControl
		case i >= 0x80:
			t[i] = cHigh
		case i == '"':
			t[i] = cQuote
		case i == '\\':
			t[i] = cEscape
		case i == '<' || i == '>' || i == '&':
			t[i] = cHTML
		}
	}
	return t
}()

var spaceTable = [256]bool{' ': true, '\t': true, '\n': true, '\r': true}

// scanner is the state of one scanAlert.
type scanner struct {
	data []byte
	i    int
	// out is the compacted copy; nil until the first whitespace is
	// dropped, then len(data)+identitySpare bytes long, of which the
	// first w are written (see flush). run is where the bytes not yet
	// copied to out start, and removed counts the whitespace bytes
	// dropped before i, so that input position p is output position
	// p-removed.
	out     []byte
	w       int
	run     int
	removed int
	// requote is set by str when the string holds a byte that makes
	// quote() write it differently (an escape, < > &, U+2028/U+2029).
	requote bool
	// keys are the top-level keys seen so far (input positions, quotes
	// excluded), compared one by one up to smallObject keys, then
	// through keyMap, so that the check stays linear (see keySet).
	keys   [smallObject]span
	nkeys  int
	keyMap map[string]struct{}
	// keyBloom has bit keyBit(k) set for every key k in keys: a key
	// whose bit is clear is new without comparing it with the others.
	keyBloom uint64
	// depth is the nesting depth of the object whose member value()
	// scans: 1 for the alert, 2 inside "source".
	depth int
	// srcDone is set by sourceObject when it checked the source object
	// as sourceType would, srcType being where its type's value is.
	srcDone bool
	srcType span
}

// keyBit is a bit for key among 64, from its length and its first and
// last bytes (which differ between most keys of an alert).
func keyBit(key []byte) uint64 {
	h := uint(len(key))
	if len(key) > 0 {
		h += uint(key[0])*7 + uint(key[len(key)-1])*31
	}
	return 1 << (h & 63)
}

// scanAlert reads data as one alert in a single pass. On the easy case
// (valid JSON, valid UTF-8, an object whose top-level keys are unique and
// written as quote() writes them) it returns the alert's compact
// encoding, a fresh buffer with identitySpare bytes to spare, and where
// its typed fields are. source.type is among them only when srcDone is
// set: the source object, with plain keys, was found free of duplicate
// keys and with a string type or none (see sourceObject); otherwise
// Alert.check looks at the source. It returns ok false otherwise, and
// the caller takes the reference path.
// With alias set, an input that is already compact is not copied: enc is
// data itself, and aliased is set (what a List does with stored entries,
// which drivers do not modify once returned).
func scanAlert(data []byte, alias bool) (enc []byte, idx fieldIndex, aliased, srcDone, ok bool) {
	if len(data) > math.MaxInt32-identitySpare {
		return nil, idx, false, false, false
	}
	s := scanner{data: data, depth: 1}
	s.ws()
	if s.i >= len(data) || data[s.i] != '{' {
		return nil, idx, false, false, false
	}
	s.i++
	s.ws()
	if s.i < len(data) && data[s.i] == '}' {
		s.i++
	} else {
		for {
			if s.i >= len(data) || data[s.i] != '"' {
				return nil, idx, false, false, false
			}
			k0 := s.i + 1
			s.requote = false
			if !s.str(true) || s.requote {
				return nil, idx, false, false, false
			}
			key := data[k0 : s.i-1]
			if s.seen(key, k0) {
				return nil, idx, false, false, false
			}
			s.ws()
			if s.i >= len(data) || data[s.i] != ':' {
				return nil, idx, false, false, false
			}
			s.i++
			s.ws()
			v0 := s.i - s.removed
			f := typedField(key)
			if f == fSource && s.i < len(data) && data[s.i] == '{' {
				if !s.sourceObject() {
					return nil, idx, false, false, false
				}
				if s.srcDone {
					idx[fSourceType] = s.srcType
				}
			} else if !s.value() {
				return nil, idx, false, false, false
			}
			if f >= 0 {
				idx[f] = span{int32(v0), int32(s.i - s.removed)}
			}
			s.ws()
			if s.i >= len(data) {
				return nil, idx, false, false, false
			}
			if data[s.i] == '}' {
				s.i++
				break
			}
			if data[s.i] != ',' {
				return nil, idx, false, false, false
			}
			s.i++
			s.ws()
		}
	}
	end := s.i
	for s.i < len(data) && spaceTable[data[s.i]] { // trailing: nothing to copy
		s.i++
	}
	if s.i != len(data) {
		return nil, idx, false, false, false
	}
	switch {
	case s.out == nil && alias:
		enc, aliased = data[s.run:end:end], true
	case s.out == nil:
		enc = make([]byte, 0, end-s.run+identitySpare)
		enc = append(enc, data[s.run:end]...)
	default:
		n := copy(s.out[s.w:], data[s.run:end])
		enc = s.out[: s.w+n : len(s.out)]
	}
	return enc, idx, aliased, s.srcDone, true
}

// ws skips white space, copying the bytes before it to out. The check
// for none is kept small enough to inline: most calls find none.
func (s *scanner) ws() {
	if s.i < len(s.data) && !spaceTable[s.data[s.i]] {
		return
	}
	s.skipWS()
}

// skipWS is kept out of line (go:noinline) so that ws, its caller at
// every token, stays small enough to inline.
//
//go:noinline
func (s *scanner) skipWS() {
	d, i := s.data, s.i
	j := i
	for j < len(d) && spaceTable[d[j]] {
		j++
	}
	if j == i {
		return
	}
	if s.out == nil {
		s.out = make([]byte, len(d)+identitySpare)
	}
	s.flush(i)
	s.removed += j - i
	s.run, s.i = j, j
}

// flush copies data[run:i] to out at w. Runs between white space are
// short (Python's json.dumps puts a space after every ':' and ','), so
// one of up to 16 bytes is copied as one 16-byte block rather than
// through memmove: the bytes written past the run are overwritten by the
// next one or lie past the encoding's end. The block stays within out,
// since w <= run and len(out) > len(data).
func (s *scanner) flush(i int) {
	if n := i - s.run; n <= 16 && s.run+16 <= len(s.data) {
		*(*[16]byte)(s.out[s.w:]) = *(*[16]byte)(s.data[s.run:])
		s.w += n
		return
	}
	s.w += copy(s.out[s.w:], s.data[s.run:i])
}

// seen reports whether key (a plain top-level key at input position k0)
// was seen before, and records it.
func (s *scanner) seen(key []byte, k0 int) bool {
	if s.keyMap == nil {
		bit := keyBit(key)
		if s.keyBloom&bit != 0 {
			for _, k := range s.keys[:s.nkeys] {
				if string(s.data[k.off:k.end]) == string(key) {
					return true
				}
			}
		}
		s.keyBloom |= bit
		if s.nkeys < smallObject {
			s.keys[s.nkeys] = span{int32(k0), int32(k0 + len(key))}
			s.nkeys++
			return false
		}
		s.keyMap = make(map[string]struct{}, 4*smallObject)
		for _, k := range s.keys[:s.nkeys] {
			s.keyMap[string(s.data[k.off:k.end])] = struct{}{}
		}
	}
	if _, dup := s.keyMap[string(key)]; dup {
		return true
	}
	s.keyMap[string(key)] = struct{}{}
	return false
}

// Word-at-a-time (SWAR) tests on 8 input bytes loaded as a little-endian
// uint64: each sets the high bit of every byte it flags. The lowest set
// bit is always a flagged byte (a borrow only propagates upwards from
// one), so TrailingZeros64/8 is the first byte to look at; bits above it
// may be spurious and are never used.
const (
	lsb = 0x0101010101010101
	msb = 0x8080808080808080
)

// zeroBytes flags the zero bytes of x.
func zeroBytes(x uint64) uint64 { return (x - lsb) & ^x & msb }

// valueStops flags the bytes that end a run of plain bytes in a string
// value: '"', '\\', control bytes (< 0x20) and bytes >= 0x80.
func valueStops(x uint64) uint64 {
	return zeroBytes(x^(lsb*'"')) | zeroBytes(x^(lsb*'\\')) | (x|(x-lsb*0x20))&msb
}

// keyStops is valueStops plus '<', '>' and '&', which make quote() write
// a top-level key differently (x|2 is 0x3e for both '<' and '>').
func keyStops(x uint64) uint64 {
	return valueStops(x) | zeroBytes((x|lsb*2)^(lsb*'>')) | zeroBytes(x^(lsb*'&'))
}

// str scans the string at s.i (a '"'), leaving s.i just past it. With
// key set it also notes in requote a byte that quote() would write
// differently; strings are skipped 8 plain bytes at a time.
func (s *scanner) str(key bool) bool {
	d := s.data
	i := s.i + 1
	for i < len(d) {
		for i+8 <= len(d) {
			x := binary.LittleEndian.Uint64(d[i:])
			var m uint64
			if key {
				m = keyStops(x)
			} else {
				m = valueStops(x)
			}
			if m != 0 {
				i += bits.TrailingZeros64(m) >> 3
				break
			}
			i += 8
		}
		if i >= len(d) {
			break
		}
		switch strClass[d[i]] {
		case cPlain:
			i++
		case cQuote:
			s.i = i + 1
			return true
		case cEscape:
			s.requote = true
			if i+1 >= len(d) {
				return false
			}
			switch d[i+1] {
			case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
				i += 2
			case 'u':
				if i+6 > len(d) || !isHex(d[i+2]) || !isHex(d[i+3]) || !isHex(d[i+4]) || !isHex(d[i+5]) {
					return false
				}
				i += 6
			default:
				return false
			}
		case cControl:
			return false
		case cHigh:
			r, n := utf8.DecodeRune(d[i:])
			if r == utf8.RuneError && n == 1 {
				return false
			}
			if r == '\u2028' || r == '\u2029' {
				s.requote = true
			}
			i += n
		case cHTML:
			s.requote = true
			i++
		}
	}
	return false
}

func isHex(c byte) bool {
	return c >= '0' && c <= '9' || c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F'
}

func isDigit(c byte) bool { return c >= '0' && c <= '9' }

// number scans a JSON number at s.i.
func (s *scanner) number() bool {
	d, i := s.data, s.i
	if i < len(d) && d[i] == '-' {
		i++
	}
	switch {
	case i >= len(d):
		return false
	case d[i] == '0':
		i++
	case d[i] >= '1' && d[i] <= '9':
		for i++; i < len(d) && isDigit(d[i]); i++ {
		}
	default:
		return false
	}
	if i < len(d) && d[i] == '.' {
		i++
		if i >= len(d) || !isDigit(d[i]) {
			return false
		}
		for i++; i < len(d) && isDigit(d[i]); i++ {
		}
	}
	if i < len(d) && (d[i] == 'e' || d[i] == 'E') {
		i++
		if i < len(d) && (d[i] == '+' || d[i] == '-') {
			i++
		}
		if i >= len(d) || !isDigit(d[i]) {
			return false
		}
		for i++; i < len(d) && isDigit(d[i]); i++ {
		}
	}
	s.i = i
	return true
}

func (s *scanner) literal(lit string) bool {
	if !bytes.HasPrefix(s.data[s.i:], []byte(lit)) {
		return false
	}
	s.i += len(lit)
	return true
}

// value scans one member's value at s.i, nested containers included,
// without recursion: stack holds one byte per open container ('{' or
// '['), on the goroutine's stack unless the nesting is deep. The
// top-level object counts as depth 1, as in encoding/json.
func (s *scanner) value() bool {
	d := s.data
	var buf [32]byte
	stack := buf[:0]
	for {
		// At the start of a value.
		if s.i >= len(d) {
			return false
		}
		switch c := d[s.i]; c {
		case '{', '[':
			if s.depth+len(stack)+1 > maxNestingDepth {
				return false
			}
			s.i++
			s.ws()
			if s.i < len(d) && d[s.i] == c+2 { // '}' or ']'
				s.i++
				break
			}
			stack = append(stack, c)
			if c == '{' && !s.member() {
				return false
			}
			continue
		case '"':
			if !s.str(false) {
				return false
			}
		case 't':
			if !s.literal("true") {
				return false
			}
		case 'f':
			if !s.literal("false") {
				return false
			}
		case 'n':
			if !s.literal("null") {
				return false
			}
		default:
			if !s.number() {
				return false
			}
		}
		// After a value: close containers until one continues.
		for {
			if len(stack) == 0 {
				return true
			}
			s.ws()
			if s.i >= len(d) {
				return false
			}
			top := stack[len(stack)-1]
			c := d[s.i]
			if c == ',' {
				s.i++
				s.ws()
				if top == '{' && !s.member() {
					return false
				}
				break
			}
			if c != top+2 {
				return false
			}
			s.i++
			stack = stack[:len(stack)-1]
		}
	}
}

// sourceObject scans the value of the top-level "source" at s.i, an
// object, as value() would, and checks it as sourceType would, so that
// Alert.check need not walk it again: when its keys are plain (no
// escape, nothing quote() writes differently), at most smallObject and
// distinct, and its "type" (if any) is a string, it sets srcDone and
// srcType (output positions). Otherwise it leaves srcDone unset and the
// check, with its errors, to sourceType. It returns false only where
// value() would.
func (s *scanner) sourceObject() bool {
	d := s.data
	var keys [smallObject]span
	n := 0
	done := true
	var typ span
	s.i++
	s.ws()
	if s.i < len(d) && d[s.i] == '}' {
		s.i++
		s.srcDone, s.srcType = true, span{}
		return true
	}
	for {
		if s.i >= len(d) || d[s.i] != '"' {
			return false
		}
		k0 := s.i + 1
		s.requote = false
		if !s.str(true) {
			return false
		}
		key := d[k0 : s.i-1]
		if s.requote || n == len(keys) {
			done = false
		} else {
			for _, k := range keys[:n] {
				if string(d[k.off:k.end]) == string(key) {
					done = false
				}
			}
			keys[n] = span{int32(k0), int32(s.i - 1)}
			n++
		}
		s.ws()
		if s.i >= len(d) || d[s.i] != ':' {
			return false
		}
		s.i++
		s.ws()
		v0 := s.i - s.removed
		isString := s.i < len(d) && d[s.i] == '"'
		s.depth = 2
		ok := s.value()
		s.depth = 1
		if !ok {
			return false
		}
		if string(key) == sourceTypeKey {
			done = done && isString
			typ = span{int32(v0), int32(s.i - s.removed)}
		}
		s.ws()
		if s.i >= len(d) {
			return false
		}
		if d[s.i] == '}' {
			s.i++
			break
		}
		if d[s.i] != ',' {
			return false
		}
		s.i++
		s.ws()
	}
	s.srcDone, s.srcType = done, typ
	return true
}

// member scans a nested object's key and colon, leaving s.i at the value.
func (s *scanner) member() bool {
	if s.i >= len(s.data) || s.data[s.i] != '"' || !s.str(false) {
		return false
	}
	s.ws()
	if s.i >= len(s.data) || s.data[s.i] != ':' {
		return false
	}
	s.i++
	s.ws()
	return true
}
