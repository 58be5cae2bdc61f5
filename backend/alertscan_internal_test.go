package backend

import (
	"bytes"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"
	"unicode/utf8"
)

// referenceDecode is DecodeAlert as it was before the single pass, and
// as the reference path still does it: utf8.Valid, json.Compact and a
// split into members (splitObject), then every member re-encoded.
func referenceDecode(data []byte) (*Alert, error) {
	a, err := referenceSyntax(data)
	if err != nil {
		return nil, err
	}
	if err := a.check(); err != nil {
		return nil, err
	}
	return a, nil
}

// referenceSyntax is referenceDecode without the typed fields' checks:
// what scanAlert is to agree with.
func referenceSyntax(data []byte) (*Alert, error) {
	if !utf8.Valid(data) {
		return nil, &AlertError{Index: -1, Err: ErrInvalidUTF8}
	}
	members, err := splitObject(data)
	if err != nil {
		return nil, &AlertError{Index: -1, Err: err}
	}
	a := &Alert{}
	a.encode(members)
	return a, nil
}

// agree checks that scanAlert and DecodeAlert give what the reference
// path gives for data: the same error, or the same bytes and typed
// fields; and that the single pass takes every input it should.
func agree(t *testing.T, data []byte) {
	t.Helper()
	syn, synErr := referenceSyntax(data)
	ref, refErr := referenceDecode(data)
	for _, alias := range []bool{false, true} {
		enc, idx, aliased, srcDone, ok := scanAlert(data, alias)
		if ok {
			if synErr != nil {
				t.Fatalf("alias=%v: the single pass took %q, the reference refuses it: %v", alias, data, synErr)
			}
			if !bytes.Equal(enc, syn.enc) {
				t.Fatalf("alias=%v: single pass %q, reference %q", alias, enc, syn.enc)
			}
			for f := range fSourceType {
				if got, want := string(idx[f].of(enc)), string(syn.idx[f].of(syn.enc)); idx[f].ok() != syn.idx[f].ok() || got != want {
					t.Fatalf("alias=%v: field %s: single pass %q, reference %q", alias, fieldNames[f], got, want)
				}
			}
			if srcDone {
				// The single pass checked the source: the reference must
				// take it, and find the same type.
				var ae *AlertError
				if errors.As(refErr, &ae) && (ae.Field == FieldSource || ae.Field == "source.type") {
					t.Fatalf("alias=%v: the single pass checked the source of %q, the reference refuses it: %v", alias, data, refErr)
				}
				if ref != nil && string(idx[fSourceType].of(enc)) != string(ref.idx[fSourceType].of(ref.enc)) {
					t.Fatalf("alias=%v: source.type: single pass %q, reference %q", alias, idx[fSourceType].of(enc), ref.idx[fSourceType].of(ref.enc))
				}
			}
			if aliased && (!alias || !bytes.Equal(enc, bytes.TrimSpace(data))) {
				t.Fatalf("aliased %q with alias=%v", data, alias)
			}
		} else if synErr == nil && plainInput(data) {
			t.Fatalf("alias=%v: the single pass left %q to the reference path, which has nothing to re-quote in it", alias, data)
		}
		a, err := decodeAlert(data, 0, alias)
		if (err == nil) != (refErr == nil) || err != nil && err.Error() != refErr.Error() {
			t.Fatalf("alias=%v: DecodeAlert(%q) = %v; reference %v", alias, data, err, refErr)
		}
		if err != nil {
			continue
		}
		if !bytes.Equal(a.encoded(), ref.encoded()) || a.ID() != ref.ID() || !a.Time().Equal(ref.Time()) ||
			a.Severity() != ref.Severity() || a.SourceType() != ref.SourceType() || a.Entity() != ref.Entity() ||
			strings.Join(a.Keys(), "\x00") != strings.Join(ref.Keys(), "\x00") {
			t.Fatalf("alias=%v: DecodeAlert(%q) differs from the reference: %q vs %q", alias, data, a.encoded(), ref.encoded())
		}
	}
}

// plainInput reports whether data holds nothing that makes the single
// pass defer to the reference path: no escape, no < > &, no U+2028 or
// U+2029 (a key holding one is re-quoted by quote()).
func plainInput(data []byte) bool {
	return !bytes.ContainsAny(data, "\\<>&\u2028\u2029")
}

func TestScanAlertAgreesWithReference(t *testing.T) {
	deep := func(n int) string { return `{"a":` + strings.Repeat("[", n-1) + strings.Repeat("]", n-1) + "}" }
	for _, c := range []struct{ name, in string }{
		{"legacy", `{"entity": "host1", "timestamp": "2025-03-01T12:34:56.789012", "severity": "High", "prediction_score": 0.850, "source": {"type": "kafka", "offset": 7}, "features": {"a": [1, 2.50, {"b": null}]}, "big": 12345678901234567890}`},
		{"empty", `{}`},
		{"empty-spaced", " \t\r\n{ \n } \n"},
		{"compact", `{"a":1,"b":[true,false,null],"c":{"d":"e"}}`},
		{"nested-empty", `{"a":{},"b":[],"c":[{}],"d":{"e":[]}}`},
		{"numbers", `{"a":-0,"b":1e5,"c":1E+5,"d":-1.5e-3,"e":0.0,"f":123456789012345678901234567890}`},
		{"bad-number-leading-zero", `{"a":01}`},
		{"bad-number-dot", `{"a":1.}`},
		{"bad-number-lone-minus", `{"a":-}`},
		{"bad-number-dot-first", `{"a":.5}`},
		{"bad-number-exp", `{"a":1e}`},
		{"bad-literal", `{"a":tru}`},
		{"bad-literal-long", `{"a":nulll}`},
		{"escapes-in-value", `{"a":"\"\\\/\b\f\n\r\t\u00e9\ud800"}`},
		{"bad-escape", `{"a":"\x"}`},
		{"bad-unicode-escape", `{"a":"\u12g4"}`},
		{"escaped-key", `{"\u0061":1}`},
		{"escaped-key-duplicate", `{"a":1,"\u0061":2}`},
		{"escaped-typed-key", `{"sev\u0065rity":"urgent"}`},
		{"html-key", `{"<a&b>":1}`},
		{"line-separator-key", "{\"a\u2028\":1}"},
		{"non-ascii-key", `{"élève":1,"日本":2}`},
		{"control-in-string", "{\"a\":\"\x01\"}"},
		{"invalid-utf8-in-string", "{\"a\":\"\xc3\x28\"}"},
		{"invalid-utf8-outside", "{\"a\":1}\xff"},
		{"surrogate-bytes", "{\"a\":\"\xed\xa0\x80\"}"},
		{"overlong", "{\"a\":\"\xc0\xaf\"}"},
		{"replacement-char", "{\"a\":\"\ufffd\"}"},
		{"duplicate", `{"a":1,"b":2,"a":3}`},
		{"duplicate-nested-is-fine", `{"a":{"x":1,"x":2}}`},
		{"duplicate-in-source", `{"source":{"type":"a","type":"b"}}`},
		{"source-type-number", `{"source":{"type":3}}`},
		{"source-escaped-keys", `{"source":{"t\u0079pe":"kafka","topic":"x"}}`},
		{"source-many-keys", `{"source":{"a":1,"b":1,"c":1,"d":1,"e":1,"f":1,"g":1,"h":1,"i":1,"j":1,"k":1,"l":1,"m":1,"n":1,"o":1,"p":1,"q":1,"type":"z"}}`},
		{"source-null", `{"source":null}`},
		{"source-empty", `{"source": {}}`},
		{"source-spaced", `{"source": {"topic": "t", "type": "kafka", "n": [1, {"type": 2}]}}`},
		{"source-type-twice", `{"source": {"type": "a", "x": 1, "type": "a"}}`},
		{"source-type-object", `{"source": {"type": {"a": 1}}}`},
		{"source-type-null", `{"source": {"type": null}}`},
		{"source-html-key", `{"source": {"<t>": 1, "type": "k"}}`},
		{"source-escaped-type", `{"source": {"type": "ka\"fka"}}`},
		{"source-invalid", `{"source": {"type": "k",}}`},
		{"source-unclosed", `{"source": {"type": "k"`},
		{"source-16-keys", `{"source":{"a":1,"b":1,"c":1,"d":1,"e":1,"f":1,"g":1,"h":1,"i":1,"j":1,"k":1,"l":1,"m":1,"n":1,"o":1,"type":"z"}}`},
		{"source-depth-10000", `{"source":{"a":` + strings.Repeat("[", 9998) + strings.Repeat("]", 9998) + "}}"},
		{"source-depth-10001", `{"source":{"a":` + strings.Repeat("[", 9999) + strings.Repeat("]", 9999) + "}}"},
		{"source-string", `{"source":"kafka"}`},
		{"trailing-data", `{"a":1} x`},
		{"trailing-object", `{"a":1}{}`},
		{"not-object", `[1,2]`},
		{"string", `"a"`},
		{"nothing", ``},
		{"spaces", `   `},
		{"unclosed", `{"a":1`},
		{"unclosed-string", `{"a":"`},
		{"missing-colon", `{"a" 1}`},
		{"trailing-comma", `{"a":1,}`},
		{"array-trailing-comma", `{"a":[1,]}`},
		{"mismatched", `{"a":[1}`},
		{"single-quotes", `{'a':1}`},
		{"many-keys", string(manyKeys(100, false))},
		{"many-keys-duplicate", string(manyKeys(100, true))},
		{"depth-10000", deep(10000)},
		{"depth-10001", deep(10001)},
		{"typed-fields", `{"id":"x","timestamp":"2025-03-01 12:34:56+01:00","severity":"CRITICAL","entity":"h","entity_type":"host","event_type":"e","message":"m","prediction_score":null}`},
		{"typed-wrong-type", `{"entity":7}`},
		{"timestamp-number", `{"timestamp":1740832496}`},
		{"empty-id", `{"id":""}`},
		{"bad-severity", `{"severity":"sev1"}`},
	} {
		t.Run(c.name, func(t *testing.T) { agree(t, []byte(c.in)) })
	}
	if !json.Valid([]byte(deep(10000))) || json.Valid([]byte(deep(10001))) {
		t.Fatal("encoding/json's nesting limit is no longer 10000: update maxNestingDepth")
	}
}

// TestScanIndexesSourceType: the single pass checks a plain source
// object and indexes its type, so that Alert.check does not walk it again.
func TestScanIndexesSourceType(t *testing.T) {
	for _, c := range []struct{ name, in, typ string }{
		{"type", `{"source": {"type": "kafka", "offset": 7}}`, `"kafka"`},
		{"no-type", `{"source": {"offset": 7}}`, ``},
		{"empty", `{"source": {}}`, ``},
	} {
		t.Run(c.name, func(t *testing.T) {
			enc, idx, _, srcDone, ok := scanAlert([]byte(c.in), false)
			if !ok || !srcDone || string(idx[fSourceType].of(enc)) != c.typ {
				t.Fatalf("ok %v, source checked %v, type %q; want the source checked, type %q", ok, srcDone, idx[fSourceType].of(enc), c.typ)
			}
		})
	}
}

func FuzzScanAgreesWithReference(f *testing.F) {
	for _, s := range []string{
		`{"entity": "host1", "timestamp": "2025-03-01T12:34:56.789012", "severity": "High", "source": {"type": "kafka"}, "x": [1, {"y": null}]}`,
		`{}`, `{"a":"\u00e9","b":-1.5e3}`, `{"a":1,"a":2}`, "{\"a\":\"\xff\"}", `{"source":{"type":1}}`, `[]`, `{"<":1}`,
		`{"source": {"type": "a", "t": [{"type": 1}], "type": "b"}}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) { agree(t, data) })
}

func TestTimestampFastPathAgrees(t *testing.T) {
	for _, s := range []string{
		"2025-03-01T12:34:56", "2025-03-01T12:34:56.789012", "2025-03-01T12:34:56.5", "2025-03-01T12:34:56.123456789",
		"2024-02-29T00:00:00", "2025-02-29T00:00:00", "2000-02-29T23:59:59", "1900-02-29T00:00:00", "0000-01-01T00:00:00",
		"2025-04-31T00:00:00", "2025-12-31T23:59:59", "2025-13-01T00:00:00", "2025-00-01T00:00:00", "2025-01-00T00:00:00",
		"2025-03-01T24:00:00", "2025-03-01T12:60:00", "2025-03-01T12:34:60", "2025-03-01T12:34:56.", "2025-03-01T12:34:56.1234567890",
		"2025-03-01T12:34:56,5", "2025-03-01 12:34:56", "2025-03-01T12:34:56Z", "+025-03-01T12:34:56", "2025-03-01T12:34:5x",
		"2025-03-01T12:34:56z", "2025-03-01 12:34:56.5Z", "2025-02-29T00:00:00Z", "2025-03-01T12:34:56.Z", "2025-03-01T12:34:56ZZ",
		"2025-03-01T12:34:56.1234567890Z", "2025-03-01X12:34:56", "Z", "", "2025-03-01 12:34:56 ", " 2025-03-01 12:34:56",
	} {
		checkTimestampFastPath(t, s)
	}
}

// TestTimestampFastPathTakesWhatStoresWrite: the timestamps a Store
// writes are read without time.Parse.
func TestTimestampFastPathTakesWhatStoresWrite(t *testing.T) {
	for _, tm := range []time.Time{
		time.Date(2025, 3, 1, 12, 34, 56, 789012000, time.UTC),
		time.Date(2025, 3, 1, 12, 34, 56, 0, time.UTC),
		time.Date(2025, 3, 1, 12, 34, 56, 1000, time.UTC),
	} {
		s := FormatTimestamp(tm)
		if got, ok := parseNaiveTimestamp([]byte(s)); !ok || !got.Equal(tm) {
			t.Errorf("%q: fast path %v, %v", s, got, ok)
		}
	}
}

// TestTimestampFastPathTakesSampleForms: the forms of the sample
// alerts (conformance.LegacyAlerts) other than an offset are read
// without time.Parse.
func TestTimestampFastPathTakesSampleForms(t *testing.T) {
	for _, c := range []struct {
		in   string
		want time.Time
	}{
		{"2025-03-01T12:40:11", time.Date(2025, 3, 1, 12, 40, 11, 0, time.UTC)},
		{"2025-03-01 12:41:00.5", time.Date(2025, 3, 1, 12, 41, 0, 5e8, time.UTC)},
		{"2025-03-01T13:00:00.123456Z", time.Date(2025, 3, 1, 13, 0, 0, 123456000, time.UTC)},
		{"2025-03-01T13:00:00z", time.Date(2025, 3, 1, 13, 0, 0, 0, time.UTC)},
	} {
		if got, ok := parseNaiveTimestamp([]byte(c.in)); !ok || !got.Equal(c.want) || got.Location() != time.UTC {
			t.Errorf("%q: fast path %v, %v; want %v", c.in, got, ok, c.want)
		}
	}
}

func FuzzTimestampFastPath(f *testing.F) {
	f.Add("2025-03-01T12:34:56.789012")
	f.Add("2024-02-29T00:00:00")
	f.Add("2025-03-01 12:34:56.5Z")
	f.Fuzz(checkTimestampFastPath)
}

// checkTimestampFastPath: whatever parseNaiveTimestamp accepts,
// ParseTimestamp accepts as the same time, zone included.
func checkTimestampFastPath(t *testing.T, s string) {
	got, ok := parseNaiveTimestamp([]byte(s))
	if !ok {
		return // ParseTimestamp decides
	}
	want, err := ParseTimestamp(s)
	if err != nil || got != want || got.Location() != want.Location() {
		t.Fatalf("%q: fast path %v (%v), ParseTimestamp %v (%v), %v", s, got, got.Location(), want, want.Location(), err)
	}
	if !got.Equal(time.Date(got.Year(), got.Month(), got.Day(), got.Hour(), got.Minute(), got.Second(), got.Nanosecond(), time.UTC)) {
		t.Fatalf("%q: not UTC: %v", s, got)
	}
}

// TestCanonicalAgreesWithMembers: the signature's canonical bytes, cut
// out of the alert's text, are what re-encoding every other member gives.
func TestCanonicalAgreesWithMembers(t *testing.T) {
	for _, in := range []string{
		`{}`, `{"_sig":"x"}`, `{"_sig":"x","a":1}`, `{"a":1,"_sig":"x","b":[1,{"_sig":2}]}`,
		`{"a":1,"_sig":"x"}`, `{"a":{"_sig":1}}`, `{"\u005fsig":"x","a":1}`, `{"a":"_sig","b":"\"_sig\""}`,
	} {
		a, err := DecodeAlert([]byte(in), 0)
		if err != nil {
			t.Fatal(err)
		}
		var kept []member
		for _, m := range a.members() {
			if m.key != FieldSignature {
				kept = append(kept, m)
			}
		}
		ref := &Alert{}
		ref.encode(kept)
		if got := Canonical(a); string(got) != string(ref.encoded()) {
			t.Errorf("Canonical(%s) = %s, want %s", in, got, ref.encoded())
		}
	}
}
