package backend_test

import (
	"encoding/json"
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/apt-detection/alertstore/backend"
)

func TestParseTimestamp(t *testing.T) {
	utc := func(h, m, s, ns int) time.Time { return time.Date(2025, 3, 1, h, m, s, ns, time.UTC) }
	for _, c := range []struct {
		name, in string
		want     time.Time
	}{
		{"python-naive-micro", "2025-03-01T12:34:56.789012", utc(12, 34, 56, 789012000)},
		{"python-naive-seconds", "2025-03-01T12:34:56", utc(12, 34, 56, 0)},
		{"python-str-space", "2025-03-01 12:34:56.5", utc(12, 34, 56, 500000000)},
		{"python-aware", "2025-03-01T12:34:56.789012+00:00", utc(12, 34, 56, 789012000)},
		{"offset", "2025-03-01T13:34:56+01:00", utc(12, 34, 56, 0)},
		{"offset-no-colon", "2025-03-01T13:34:56+0100", utc(12, 34, 56, 0)},
		{"zulu", "2025-03-01T12:34:56Z", utc(12, 34, 56, 0)},
		{"zulu-lower", "2025-03-01T12:34:56z", utc(12, 34, 56, 0)},
		{"nanos", "2025-03-01T12:34:56.123456789Z", utc(12, 34, 56, 123456789)},
		{"minutes-only", "2025-03-01T12:34", utc(12, 34, 0, 0)},
		{"negative-offset", "2025-03-01T07:34:56-05:00", utc(12, 34, 56, 0)},
	} {
		t.Run(c.name, func(t *testing.T) {
			got, err := backend.ParseTimestamp(c.in)
			if err != nil || !got.Equal(c.want) {
				t.Fatalf("ParseTimestamp(%q) = %v, %v; want %v", c.in, got, err, c.want)
			}
		})
	}
	for _, bad := range []string{"", "yesterday", "2025-03-01", "2025-13-01T00:00:00", "2025-03-01T25:00:00", "1740832496", "2025-03-01T12:34:56+25:00"} {
		t.Run("bad/"+bad, func(t *testing.T) {
			if _, err := backend.ParseTimestamp(bad); !errors.Is(err, backend.ErrBadTimestamp) {
				t.Fatalf("ParseTimestamp(%q) err = %v, want ErrBadTimestamp", bad, err)
			}
		})
	}
}

// TestFormatTimestampIsPythonIsoformat pins what Python 3 prints with
// datetime(...).isoformat() for the naive UTC datetime of each instant
// (the strings below were produced by python3; the dashboard test runs
// python3 over them too).
func TestFormatTimestampIsPythonIsoformat(t *testing.T) {
	for _, c := range []struct {
		name string
		in   time.Time
		want string
	}{
		{"micro", time.Date(2025, 3, 1, 12, 34, 56, 789012000, time.UTC), "2025-03-01T12:34:56.789012"},
		{"micro-leading-zeros", time.Date(2025, 3, 1, 12, 4, 5, 6000, time.UTC), "2025-03-01T12:04:05.000006"},
		{"whole-second-no-fraction", time.Date(2025, 3, 1, 12, 34, 56, 0, time.UTC), "2025-03-01T12:34:56"},
		{"nanos-truncated", time.Date(2025, 3, 1, 12, 34, 56, 123456789, time.UTC), "2025-03-01T12:34:56.123456"},
		{"sub-micro-only-is-whole", time.Date(2025, 3, 1, 12, 34, 56, 999, time.UTC), "2025-03-01T12:34:56"},
		{"other-zone-to-utc", time.Date(2025, 3, 1, 13, 4, 5, 6000, time.FixedZone("x", 3600)), "2025-03-01T12:04:05.000006"},
		{"crosses-midnight", time.Date(2025, 3, 1, 0, 30, 0, 500000000, time.FixedZone("y", 3600)), "2025-02-28T23:30:00.500000"},
		{"year-padded", time.Date(999, 1, 2, 3, 4, 5, 0, time.UTC), "0999-01-02T03:04:05"},
	} {
		t.Run(c.name, func(t *testing.T) {
			got := backend.FormatTimestamp(c.in)
			if got != c.want {
				t.Fatalf("FormatTimestamp = %q, want %q", got, c.want)
			}
			back, err := backend.ParseTimestamp(got)
			if err != nil || !back.Equal(c.in.Truncate(time.Microsecond)) {
				t.Fatalf("ParseTimestamp(%q) = %v, %v; want the same instant %v", got, back, err, c.in)
			}
		})
	}
}

func TestParseSeverity(t *testing.T) {
	for in, want := range map[string]backend.Severity{
		"Critical": backend.SeverityCritical, "HIGH": backend.SeverityHigh, "high": backend.SeverityHigh,
		" Medium ": backend.SeverityMedium, "low": backend.SeverityLow, "info": backend.SeverityInfo, "Informational": backend.SeverityInfo,
	} {
		if got, err := backend.ParseSeverity(in); err != nil || got != want {
			t.Errorf("ParseSeverity(%q) = %v, %v; want %v", in, got, err, want)
		}
	}
	for _, bad := range []string{"", "urgent", "hi", "5"} {
		if _, err := backend.ParseSeverity(bad); !errors.Is(err, backend.ErrBadSeverity) || !errors.Is(err, backend.ErrInvalidAlert) {
			t.Errorf("ParseSeverity(%q) err = %v, want ErrBadSeverity", bad, err)
		}
	}
	ordered := backend.SeverityInfo < backend.SeverityLow && backend.SeverityLow < backend.SeverityMedium &&
		backend.SeverityMedium < backend.SeverityHigh && backend.SeverityHigh < backend.SeverityCritical
	if !ordered {
		t.Fatal("severities are not ordered info < low < medium < high < critical")
	}
	if backend.SeverityHigh.String() != "High" {
		t.Fatalf("SeverityHigh.String() = %q", backend.SeverityHigh)
	}
}

const legacy = `{"entity": "host1", "entity_type": "host", "event_type": "lateral_movement", "timestamp": "2025-03-01T12:34:56.789012", "severity": "high", "prediction_score": 0.850, "source": {"type": "kafka", "topic": "t", "offset": 7}, "message": "m", "features": {"a": [1, 2.50, {"b": null}]}, "models": {}, "mitre_attack": {"techniques": ["T1021"], "tactics": ["Lateral Movement"]}, "unknown_key": 12345678901234567890}`

func TestAlertRoundTripIsLossless(t *testing.T) {
	a, err := backend.ParseAlert([]byte(legacy))
	if err != nil {
		t.Fatal(err)
	}
	enc, _ := a.MarshalJSON()
	want := `{"entity":"host1","entity_type":"host","event_type":"lateral_movement","timestamp":"2025-03-01T12:34:56.789012","severity":"high","prediction_score":0.850,"source":{"type":"kafka","topic":"t","offset":7},"message":"m","features":{"a":[1,2.50,{"b":null}]},"models":{},"mitre_attack":{"techniques":["T1021"],"tactics":["Lateral Movement"]},"unknown_key":12345678901234567890}`
	if string(enc) != want {
		t.Fatalf("re-encoded:\n%s\nwant\n%s", enc, want)
	}
	var viaStd map[string]any
	if err := json.Unmarshal(enc, &viaStd); err != nil {
		t.Fatalf("our output is not plain JSON: %v", err)
	}
	if a.Severity() != backend.SeverityHigh || a.SeverityString() != "high" || a.SourceType() != "kafka" || a.Entity() != "host1" {
		t.Fatalf("typed fields: %v %q %q %q", a.Severity(), a.SeverityString(), a.SourceType(), a.Entity())
	}
	if s, ok := a.Score(); !ok || s != 0.85 {
		t.Fatalf("Score = %v, %v", s, ok)
	}
	var b backend.Alert
	if err := json.Unmarshal(enc, &b); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(b.Keys(), a.Keys()) {
		t.Fatalf("keys %v != %v", b.Keys(), a.Keys())
	}
}

func TestAlertSetters(t *testing.T) {
	a := backend.NewAlert()
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(a.SetEntity("h"))
	must(a.SetSeverity(backend.SeverityCritical))
	must(a.SetTime(time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC)))
	must(a.Set("source", map[string]any{"topic": "x"}))
	must(a.SetSourceType("kafka"))
	must(a.SetScore(0.5))
	enc, _ := a.MarshalJSON()
	if string(enc) != `{"entity":"h","severity":"Critical","timestamp":"2025-01-02T03:04:05","source":{"topic":"x","type":"kafka"},"prediction_score":0.5}` {
		t.Fatalf("built %s", enc)
	}
	if err := a.Set("severity", "urgent"); !errors.Is(err, backend.ErrBadSeverity) {
		t.Fatalf("Set(severity, urgent) = %v", err)
	}
	if a.SeverityString() != "Critical" {
		t.Fatalf("a failed Set changed the alert: %q", a.SeverityString())
	}
	if err := a.Set("timestamp", 5); !errors.Is(err, backend.ErrBadFieldType) {
		t.Fatalf("Set(timestamp, 5) = %v", err)
	}
}

func TestDecodeAlertErrors(t *testing.T) {
	for _, c := range []struct {
		name, in string
		kind     error
		field    string
	}{
		{"not-object", `[]`, backend.ErrNotObject, ""},
		{"too-large", `{"a":"` + strings.Repeat("x", 300) + `"}`, backend.ErrTooLarge, ""},
		{"bad-utf8", "{\"a\":\"\xc3\x28\"}", backend.ErrInvalidUTF8, ""},
		{"dup", `{"a":1,"a":1}`, backend.ErrDuplicateKey, ""},
		{"severity", `{"severity":"sev1"}`, backend.ErrBadSeverity, "severity"},
		{"timestamp", `{"timestamp":"soon"}`, backend.ErrBadTimestamp, "timestamp"},
		{"timestamp-unix-seconds", `{"timestamp":1740832496}`, backend.ErrBadTimestamp, "timestamp"},
		{"timestamp-unix-seconds-is-also-field-type", `{"timestamp":1740832496}`, backend.ErrBadFieldType, "timestamp"},
		{"timestamp-unix-millis-float", `{"timestamp":1740832496123.5}`, backend.ErrBadTimestamp, "timestamp"},
		{"timestamp-bool-is-field-type", `{"timestamp":true}`, backend.ErrBadFieldType, "timestamp"},
		{"source-type", `{"source":{"type":3}}`, backend.ErrBadFieldType, "source.type"},
		{"source-not-object", `{"source":"kafka"}`, backend.ErrNotObject, "source"},
		{"empty-id", `{"id":""}`, backend.ErrBadFieldType, "id"},
	} {
		t.Run(c.name, func(t *testing.T) {
			_, err := backend.DecodeAlert([]byte(c.in), 256)
			var ae *backend.AlertError
			if !errors.Is(err, c.kind) || !errors.As(err, &ae) || ae.Field != c.field {
				t.Fatalf("DecodeAlert(%q) = %v; want %v on field %q", c.in, err, c.kind, c.field)
			}
		})
	}
}

func FuzzDecodeAlert(f *testing.F) {
	f.Add([]byte(legacy))
	f.Add([]byte(`{}`))
	f.Add([]byte(`{"source":{"type":"a"},"severity":"LOW","timestamp":"2025-03-01 00:00:00"}`))
	f.Add([]byte("\xff"))
	f.Fuzz(func(t *testing.T, data []byte) {
		a, err := backend.DecodeAlert(data, 1<<16)
		if err != nil {
			if !errors.Is(err, backend.ErrInvalidAlert) {
				t.Fatalf("error %v does not wrap ErrInvalidAlert", err)
			}
			return
		}
		enc, err := a.MarshalJSON()
		if err != nil {
			t.Fatal(err)
		}
		b, err := backend.DecodeAlert(enc, 0)
		if err != nil {
			t.Fatalf("re-decoding our own output %q: %v", enc, err)
		}
		enc2, _ := b.MarshalJSON()
		if string(enc) != string(enc2) {
			t.Fatalf("unstable: %q vs %q", enc, enc2)
		}
		var v map[string]any
		if err := json.Unmarshal(enc, &v); err != nil {
			t.Fatalf("output is not a JSON object for encoding/json: %v", err)
		}
	})
}

// TestKeysAreWrittenAsEncodingJSON pins what docs/alerts.md says of keys:
// written as encoding/json writes a string, whichever path read them.
func TestKeysAreWrittenAsEncodingJSON(t *testing.T) {
	for _, c := range []struct{ name, in, want string }{
		{"escaped", `{"\u0061": 1}`, `{"a":1}`},
		{"html", `{"<b>&": 1}`, `{"\u003cb\u003e\u0026":1}`},
		{"line-separator", "{\"a\u2028\": 1}", `{"a\u2028":1}`},
		{"plain-with-spaces", `{ "a" : "<b>" }`, `{"a":"<b>"}`},
	} {
		t.Run(c.name, func(t *testing.T) {
			a, err := backend.ParseAlert([]byte(c.in))
			if err != nil {
				t.Fatal(err)
			}
			if enc, _ := a.MarshalJSON(); string(enc) != c.want {
				t.Fatalf("%s comes back as %s, want %s", c.in, enc, c.want)
			}
		})
	}
}

// TestAlertReadsChangeNothing: reading an alert (what List hands out)
// writes nothing in it, so goroutines may share one; run with -race.
func TestAlertReadsChangeNothing(t *testing.T) {
	a, err := backend.ParseAlert([]byte(legacy))
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	for range 4 {
		go func() {
			defer func() { done <- struct{}{} }()
			for range 50 {
				_, _ = a.Get("unknown_key")
				_, _ = a.Get(backend.FieldEntity)
				_ = a.Keys()
				_ = a.ID() + a.SourceType() + a.Entity() + a.TimestampString()
				_, _ = a.MarshalJSON()
				_ = backend.Canonical(a)
			}
		}()
	}
	for range 4 {
		<-done
	}
}
