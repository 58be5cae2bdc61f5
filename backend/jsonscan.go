package backend

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strings"
)

// splitObject splits a JSON object into its members without building a
// generic tree: json.Compact validates and compacts the whole text in one
// pass, then a small scanner, which may assume valid compact JSON, finds
// each key and the extent of each value. Member values are sub-slices of
// one compacted buffer. This is the hot path of every read: decoding with
// json.Decoder's token API cost ten times more.
//
// It is linear in the size of data, whatever the data: duplicate keys are
// found through a keySet, and no step looks back over earlier members.
func splitObject(data []byte) ([]member, error) {
	var keys keySet
	return scanObject(data, &keys)
}

// scanObject is splitObject with the key set given, so that a test can
// count its probes.
func scanObject(data []byte, keys *keySet) ([]member, error) {
	i := 0
	for i < len(data) && isSpace(data[i]) {
		i++
	}
	if i == len(data) {
		return nil, fmt.Errorf("%w (empty input)", ErrNotObject)
	}
	if data[i] != '{' {
		if !json.Valid(data) {
			return nil, fmt.Errorf("%w (and not valid JSON)", ErrNotObject)
		}
		return nil, fmt.Errorf("%w (got %s)", ErrNotObject, describeJSON(data[i]))
	}
	var buf bytes.Buffer
	buf.Grow(len(data))
	if err := json.Compact(&buf, data); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrMalformedJSON, err)
	}
	c := buf.Bytes()
	members := make([]member, 0, 16)
	p := 1 // after '{'
	if c[p] == '}' {
		return members, nil
	}
	for {
		kend := stringEnd(c, p)
		key, err := unquote(c[p:kend])
		if err != nil {
			return nil, err
		}
		if keys.seen(members, key) {
			return nil, fmt.Errorf("%w %q", ErrDuplicateKey, key)
		}
		p = kend + 1 // skip ':'
		vend := valueEnd(c, p)
		members = append(members, member{key: key, raw: c[p:vend:vend]})
		p = vend
		if c[p] == '}' {
			return members, nil
		}
		p++ // skip ','
	}
}

// smallObject is the member count up to which keySet compares a new key
// with the earlier ones; beyond it, it switches to a map. Real alerts have
// about ten top-level keys, for which comparing is cheaper than hashing.
const smallObject = 16

// keySet finds a repeated key among an object's members in time linear in
// their number. Comparing each key with every earlier one (what it
// replaced) is quadratic: one entry of 256 KiB holds some 40,000 keys, and
// three such entries, pushed by anyone who may RPUSH to the list, made a
// List take seconds. Go's map hashing is seeded per process, so keys
// cannot be chosen to collide.
type keySet struct {
	m map[string]struct{}
	// probes counts key comparisons and map operations, for the test that
	// checks the growth is linear.
	probes int
}

// seen reports whether key is among members (the keys before it) and
// records it.
func (s *keySet) seen(members []member, key string) bool {
	if s.m == nil {
		if len(members) < smallObject {
			for _, m := range members {
				s.probes++
				if m.key == key {
					return true
				}
			}
			return false
		}
		s.m = make(map[string]struct{}, 2*len(members))
		for _, m := range members {
			s.probes++
			s.m[m.key] = struct{}{}
		}
	}
	s.probes++
	if _, dup := s.m[key]; dup {
		return true
	}
	s.m[key] = struct{}{}
	return false
}

func isSpace(b byte) bool { return b == ' ' || b == '\t' || b == '\n' || b == '\r' }

func describeJSON(b byte) string {
	switch b {
	case '[':
		return "an array"
	case '"':
		return "a string"
	case 'n':
		return "null"
	case 't', 'f':
		return "a boolean"
	}
	return "a number"
}

// stringEnd returns the index just past the string starting at c[p] == '"'.
func stringEnd(c []byte, p int) int {
	for i := p + 1; i < len(c); i++ {
		switch c[i] {
		case '\\':
			i++
		case '"':
			return i + 1
		}
	}
	return len(c)
}

// valueEnd returns the index just past the value starting at c[p].
func valueEnd(c []byte, p int) int {
	switch c[p] {
	case '"':
		return stringEnd(c, p)
	case '{', '[':
		depth := 0
		for i := p; i < len(c); i++ {
			switch c[i] {
			case '"':
				i = stringEnd(c, i) - 1
			case '{', '[':
				depth++
			case '}', ']':
				depth--
				if depth == 0 {
					return i + 1
				}
			}
		}
		return len(c)
	}
	i := p
	for i < len(c) && c[i] != ',' && c[i] != '}' && c[i] != ']' {
		i++
	}
	return i
}

// unquote decodes a JSON string literal; the common case, no escapes, is a
// plain conversion.
func unquote(lit []byte) (string, error) {
	if len(lit) < 2 || lit[0] != '"' {
		return "", fmt.Errorf("%w: want a string", ErrBadFieldType)
	}
	if bytes.IndexByte(lit, '\\') < 0 {
		return string(lit[1 : len(lit)-1]), nil
	}
	var s string
	if err := json.Unmarshal(lit, &s); err != nil {
		return "", fmt.Errorf("%w: %v", ErrMalformedJSON, err)
	}
	return s, nil
}

// isNumber reports whether a valid JSON value is a number.
func isNumber(raw []byte) bool {
	return len(raw) > 0 && (raw[0] == '-' || raw[0] >= '0' && raw[0] <= '9')
}

// quote encodes s as a JSON string literal.
func quote(s string) []byte {
	if !strings.ContainsAny(s, "\"\\<>&\u2028\u2029") && isPlainASCII(s) {
		b := make([]byte, 0, len(s)+2)
		b = append(b, '"')
		b = append(b, s...)
		return append(b, '"')
	}
	b, _ := json.Marshal(s)
	return b
}

func isPlainASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < 0x20 || s[i] >= 0x7f {
			return false
		}
	}
	return true
}

// splitCompact splits a valid compact JSON object, such as an alert's
// encoding, into members whose values are sub-slices of c.
func splitCompact(c []byte) []member {
	if len(c) <= 2 {
		return nil
	}
	members := make([]member, 0, 16)
	for p := 1; ; p++ {
		kend := stringEnd(c, p)
		key, _ := unquote(c[p:kend])
		p = kend + 1
		vend := valueEnd(c, p)
		members = append(members, member{key: key, raw: c[p:vend:vend]})
		p = vend
		if c[p] == '}' {
			return members
		}
	}
}

// lookupCompact finds a top-level key in a valid compact JSON object
// without splitting it.
func lookupCompact(c []byte, key string) (json.RawMessage, bool) {
	if len(c) <= 2 {
		return nil, false
	}
	for p := 1; ; p++ {
		kend := stringEnd(c, p)
		k := c[p+1 : kend-1]
		match := string(k) == key
		if !match && bytes.IndexByte(k, '\\') >= 0 {
			u, _ := unquote(c[p:kend])
			match = u == key
		}
		p = kend + 1
		vend := valueEnd(c, p)
		if match {
			return c[p:vend:vend], true
		}
		p = vend
		if c[p] == '}' {
			return nil, false
		}
	}
}

// withoutMember returns the valid compact JSON object c without its
// top-level member key (written as quote() writes it), in a new buffer;
// c itself when it has no such member.
func withoutMember(c []byte, key string) []byte {
	if len(c) <= 2 {
		return c
	}
	for p := 1; ; p++ {
		start := p
		kend := stringEnd(c, p)
		vend := valueEnd(c, kend+1)
		if string(c[p+1:kend-1]) == key {
			out := make([]byte, 0, len(c)-(vend-start))
			if start == 1 { // the first member: drop the comma after it
				if c[vend] == ',' {
					vend++
				}
				out = append(out, '{')
			} else { // drop the comma before it
				out = append(out, c[:start-1]...)
			}
			return append(out, c[vend:]...)
		}
		p = vend
		if c[p] == '}' {
			return c
		}
	}
}
