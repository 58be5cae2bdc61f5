package backend

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strconv"
	"time"
	"unicode/utf8"

	"github.com/google/uuid"
)

// The field names of the alert format, as the system we replace wrote them.
const (
	FieldID         = "id"
	FieldTimestamp  = "timestamp"
	FieldSeverity   = "severity"
	FieldEntity     = "entity"
	FieldEntityType = "entity_type"
	FieldEventType  = "event_type"
	FieldSource     = "source"
	FieldMessage    = "message"
	FieldScore      = "prediction_score"
	sourceTypeKey   = "type"
)

// DefaultMaxAlertBytes is the size cap of one encoded alert when none is
// configured. Real alerts, features and MITRE mappings included, are a few
// KiB; 256 KiB leaves room while keeping one runaway detector from filling
// a Redis server with a single entry.
const DefaultMaxAlertBytes = 256 << 10

// Alert is one alert: a JSON object with typed access to the fields every
// consumer relies on, and every other field kept as it came.
//
// An Alert remembers its members in order, each as compact JSON text, so
// that an alert written by another tool and read back by us is written out
// again semantically identical: unknown keys, nested objects, the exact
// digits of numbers, the original severity spelling and the original
// timestamp string all survive. The typed accessors read those members;
// the setters replace them.
//
// Duplicate keys are rejected (ErrDuplicateKey) at the top level and inside
// "source": JSON parsers disagree on which duplicate wins (Python keeps the
// last, some keep the first), so storing such an object would let two
// readers see two different alerts.
//
// The zero Alert is an empty object, ready for setters. An Alert is not safe
// for concurrent mutation.
type Alert struct {
	members []member

	// parsed caches, filled by validate.
	ts  time.Time
	sev Severity

	// conflict is set by List on an alert whose id another entry it
	// examined carries with different content.
	conflict bool
	// pos is the position of the entry this alert was read from (List,
	// Watch.Next); 0 otherwise. See Cursor.
	pos int64
	// set by a Store with signing keys (see Keyring).
	ver    Verification
	sigKey string
}

type member struct {
	key string
	raw json.RawMessage // compact
}

// NewAlert returns an empty alert.
func NewAlert() *Alert { return &Alert{} }

// ParseAlert decodes and validates one alert, with DefaultMaxAlertBytes as
// the size cap.
func ParseAlert(data []byte) (*Alert, error) {
	return DecodeAlert(data, DefaultMaxAlertBytes)
}

// DecodeAlert decodes and validates one alert of at most maxBytes bytes
// (maxBytes <= 0 means no cap). The errors wrap ErrInvalidAlert through one
// of its precise kinds (ErrNotObject, ErrInvalidUTF8, ErrTooLarge, ...).
func DecodeAlert(data []byte, maxBytes int) (*Alert, error) {
	if maxBytes > 0 && len(data) > maxBytes {
		return nil, &AlertError{Index: -1, Err: fmt.Errorf("%w (%d bytes, cap %d)", ErrTooLarge, len(data), maxBytes)}
	}
	if !utf8.Valid(data) {
		return nil, &AlertError{Index: -1, Err: ErrInvalidUTF8}
	}
	members, err := decodeObject(data)
	if err != nil {
		return nil, &AlertError{Index: -1, Err: err}
	}
	a := &Alert{members: members}
	if err := a.validate(); err != nil {
		return nil, err
	}
	return a, nil
}

// decodeObject splits a JSON object into compact members, rejecting
// duplicate keys and trailing data.
func decodeObject(data []byte) ([]member, error) { return splitObject(data) }

// validate checks the typed fields and fills the caches. A field that is
// absent is fine (the Store adds id and timestamp); a field that is present
// must have the right type and a valid value.
func (a *Alert) validate() error {
	if raw, ok := a.Get(FieldTimestamp); ok && isNumber(raw) {
		// A Unix time is a timestamp error first (is it seconds or
		// milliseconds?), and a field-type error too, so that both
		// errors.Is(err, ErrBadTimestamp) and ErrBadFieldType hold.
		return &AlertError{Index: -1, Field: FieldTimestamp, Err: fmt.Errorf(
			"%w: %s is a number (Unix seconds or milliseconds?); want an ISO 8601 string such as \"2025-03-01T12:34:56.789012\" (%w)",
			ErrBadTimestamp, raw, ErrBadFieldType)}
	}
	for _, f := range []string{FieldID, FieldEntity, FieldEntityType, FieldEventType, FieldMessage, FieldTimestamp, FieldSeverity} {
		if raw, ok := a.Get(f); ok {
			if _, err := rawString(raw); err != nil {
				return &AlertError{Index: -1, Field: f, Err: err}
			}
		}
	}
	if raw, ok := a.Get(FieldScore); ok && string(raw) != "null" && !isNumber(raw) {
		return &AlertError{Index: -1, Field: FieldScore, Err: fmt.Errorf("%w: want a number", ErrBadFieldType)}
	}
	if raw, ok := a.Get(FieldSource); ok && string(raw) != "null" {
		members, err := decodeObject(raw)
		if err != nil {
			return &AlertError{Index: -1, Field: FieldSource, Err: err}
		}
		for _, m := range members {
			if m.key == sourceTypeKey {
				if _, err := rawString(m.raw); err != nil {
					return &AlertError{Index: -1, Field: "source.type", Err: err}
				}
			}
		}
	}
	a.ts, a.sev = time.Time{}, SeverityUnknown
	if s, ok := a.str(FieldTimestamp); ok {
		t, err := ParseTimestamp(s)
		if err != nil {
			return &AlertError{Index: -1, Field: FieldTimestamp, Err: err}
		}
		a.ts = t
	}
	if s, ok := a.str(FieldSeverity); ok {
		sev, err := ParseSeverity(s)
		if err != nil {
			return &AlertError{Index: -1, Field: FieldSeverity, Err: err}
		}
		a.sev = sev
	}
	if id, ok := a.str(FieldID); ok && id == "" {
		return &AlertError{Index: -1, Field: FieldID, Err: fmt.Errorf("%w: id is empty", ErrBadFieldType)}
	}
	return nil
}

func rawString(raw json.RawMessage) (string, error) { return unquote(raw) }

// Validate checks an alert built with setters (or Set) as DecodeAlert would.
func (a *Alert) Validate() error { return a.validate() }

// MarshalJSON writes the alert as one compact JSON object, members in
// their original order.
func (a *Alert) MarshalJSON() ([]byte, error) {
	var b bytes.Buffer
	b.WriteByte('{')
	n := 2
	for _, m := range a.members {
		n += len(m.key) + len(m.raw) + 4
	}
	b.Grow(n)
	for i, m := range a.members {
		if i > 0 {
			b.WriteByte(',')
		}
		b.Write(quote(m.key))
		b.WriteByte(':')
		b.Write(m.raw)
	}
	b.WriteByte('}')
	return b.Bytes(), nil
}

// UnmarshalJSON decodes with DefaultMaxAlertBytes as the cap.
func (a *Alert) UnmarshalJSON(data []byte) error {
	b, err := ParseAlert(data)
	if err != nil {
		return err
	}
	*a = *b
	return nil
}

// Clone returns a deep copy.
func (a *Alert) Clone() *Alert {
	c := &Alert{ts: a.ts, sev: a.sev, ver: a.ver, sigKey: a.sigKey, pos: a.pos, members: make([]member, len(a.members))}
	for i, m := range a.members {
		c.members[i] = member{key: m.key, raw: append(json.RawMessage(nil), m.raw...)}
	}
	return c
}

// Keys returns the top-level keys in order.
func (a *Alert) Keys() []string {
	keys := make([]string, len(a.members))
	for i, m := range a.members {
		keys[i] = m.key
	}
	return keys
}

// Get returns the raw JSON of a top-level field.
func (a *Alert) Get(key string) (json.RawMessage, bool) {
	for _, m := range a.members {
		if m.key == key {
			return m.raw, true
		}
	}
	return nil, false
}

// Set replaces (or appends) a top-level field with v marshalled to JSON. A
// json.RawMessage is taken as is, after a validity check. Setting a typed
// field re-validates it, so Set("severity", "urgent") fails.
func (a *Alert) Set(key string, v any) error {
	var raw []byte
	var err error
	if r, ok := v.(json.RawMessage); ok {
		var buf bytes.Buffer
		if err = json.Compact(&buf, r); err == nil {
			raw = buf.Bytes()
		}
	} else {
		raw, err = json.Marshal(v)
	}
	if err != nil {
		return &AlertError{Index: -1, Field: key, Err: fmt.Errorf("%w: %v", ErrMalformedJSON, err)}
	}
	old, had := a.Get(key)
	a.put(key, raw)
	if err := a.validate(); err != nil {
		if had {
			a.put(key, old)
		} else {
			a.Delete(key)
		}
		_ = a.validate()
		return err
	}
	return nil
}

func (a *Alert) put(key string, raw json.RawMessage) {
	for i := range a.members {
		if a.members[i].key == key {
			a.members[i].raw = raw
			return
		}
	}
	a.members = append(a.members, member{key: key, raw: raw})
}

// Delete removes a top-level field.
func (a *Alert) Delete(key string) {
	for i, m := range a.members {
		if m.key == key {
			a.members = append(a.members[:i], a.members[i+1:]...)
			break
		}
	}
	if key == FieldTimestamp {
		a.ts = time.Time{}
	}
	if key == FieldSeverity {
		a.sev = SeverityUnknown
	}
}

func (a *Alert) str(key string) (string, bool) {
	raw, ok := a.Get(key)
	if !ok {
		return "", false
	}
	s, err := rawString(raw)
	return s, err == nil
}

// ID is the alert's unique id ("" before it is stored, or for an alert a
// foreign tool wrote without one).
func (a *Alert) ID() string { s, _ := a.str(FieldID); return s }

// Time is the parsed timestamp (zero when the alert has none).
func (a *Alert) Time() time.Time { return a.ts }

// TimestampString is the timestamp exactly as stored.
func (a *Alert) TimestampString() string { s, _ := a.str(FieldTimestamp); return s }

// Severity is the parsed severity (SeverityUnknown when absent).
func (a *Alert) Severity() Severity { return a.sev }

// SeverityString is the severity exactly as stored ("High", "high", ...).
func (a *Alert) SeverityString() string { s, _ := a.str(FieldSeverity); return s }

// Entity is the host, user or address the alert is about.
func (a *Alert) Entity() string { s, _ := a.str(FieldEntity); return s }

// EntityType is e.g. "host" or "user".
func (a *Alert) EntityType() string { s, _ := a.str(FieldEntityType); return s }

// EventType is the detector's event type.
func (a *Alert) EventType() string { s, _ := a.str(FieldEventType); return s }

// Message is the human-readable summary.
func (a *Alert) Message() string { s, _ := a.str(FieldMessage); return s }

// Score is prediction_score, and whether the alert has one.
func (a *Alert) Score() (float64, bool) {
	raw, ok := a.Get(FieldScore)
	if !ok || string(raw) == "null" {
		return 0, false
	}
	f, err := strconv.ParseFloat(string(raw), 64)
	return f, err == nil
}

// SourceType is source.type ("kafka", "file", ...), or "".
func (a *Alert) SourceType() string {
	raw, ok := a.Get(FieldSource)
	if !ok {
		return ""
	}
	members, err := decodeObject(raw)
	if err != nil {
		return ""
	}
	for _, m := range members {
		if m.key == sourceTypeKey {
			s, _ := rawString(m.raw)
			return s
		}
	}
	return ""
}

// SetID sets the id.
func (a *Alert) SetID(id string) error { return a.Set(FieldID, id) }

// SetTime sets the timestamp as FormatTimestamp writes it: naive UTC, the
// way Python's datetime.isoformat() prints it ("2025-03-01T12:34:56.789012").
func (a *Alert) SetTime(t time.Time) error { return a.Set(FieldTimestamp, FormatTimestamp(t)) }

// SetSeverity sets the severity in its canonical spelling, the one the old
// dashboard counts: "Critical", "High", "Medium", "Low", and "Info".
func (a *Alert) SetSeverity(s Severity) error {
	if s <= SeverityUnknown || s > SeverityCritical {
		return &AlertError{Index: -1, Field: FieldSeverity, Err: fmt.Errorf("%w: %v", ErrBadSeverity, s)}
	}
	return a.Set(FieldSeverity, s.String())
}

// SetEntity sets entity.
func (a *Alert) SetEntity(v string) error { return a.Set(FieldEntity, v) }

// SetEntityType sets entity_type.
func (a *Alert) SetEntityType(v string) error { return a.Set(FieldEntityType, v) }

// SetEventType sets event_type.
func (a *Alert) SetEventType(v string) error { return a.Set(FieldEventType, v) }

// SetMessage sets message.
func (a *Alert) SetMessage(v string) error { return a.Set(FieldMessage, v) }

// SetScore sets prediction_score.
func (a *Alert) SetScore(v float64) error { return a.Set(FieldScore, v) }

// SetSourceType sets source.type, keeping the other members of source.
func (a *Alert) SetSourceType(v string) error {
	src := &Alert{}
	if raw, ok := a.Get(FieldSource); ok && string(raw) != "null" {
		members, err := decodeObject(raw)
		if err != nil {
			return &AlertError{Index: -1, Field: FieldSource, Err: err}
		}
		src.members = members
	}
	t, _ := json.Marshal(v)
	src.put(sourceTypeKey, t)
	enc, _ := src.MarshalJSON()
	return a.Set(FieldSource, json.RawMessage(enc))
}

// ensureIdentity gives the alert an id and a timestamp if it lacks them.
func (a *Alert) ensureIdentity(now time.Time) error {
	if _, present := a.Get(FieldID); !present {
		id, err := NewID()
		if err != nil {
			return fmt.Errorf("generating alert id: %w", err)
		}
		a.put(FieldID, mustMarshal(id))
	}
	if _, present := a.Get(FieldTimestamp); !present {
		a.put(FieldTimestamp, mustMarshal(FormatTimestamp(now)))
		a.ts = now.UTC().Truncate(time.Microsecond)
	}
	return nil
}

func mustMarshal(v any) json.RawMessage {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err)
	}
	return b
}

// NewID returns a fresh time-ordered unique id (a UUIDv7), the kind a Store
// gives alerts that have none.
func NewID() (string, error) {
	id, err := uuid.NewV7()
	if err != nil {
		return "", err
	}
	return id.String(), nil
}
