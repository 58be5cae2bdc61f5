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
// An Alert holds its compact JSON text, members in their original order,
// and where its typed fields are in it: reading an alert is one pass over
// its bytes (alertscan.go), and writing it is handing those bytes on, with
// the id and timestamp a Store adds appended in place. An alert written by
// another tool and read back by us is written out again semantically
// identical: unknown keys, nested objects, the exact digits of numbers,
// the original severity spelling and the original timestamp string all
// survive. The typed accessors read the indexed fields; other members are
// found in the text when asked for (Keys, Get), and split out only to be
// changed (the setters), so that reading an alert never changes it: any
// number of goroutines may read one alert at once.
//
// Duplicate keys are rejected (ErrDuplicateKey) at the top level and inside
// "source": JSON parsers disagree on which duplicate wins (Python keeps the
// last, some keep the first), so storing such an object would let two
// readers see two different alerts.
//
// The zero Alert is an empty object, ready for setters. An Alert is not safe
// for concurrent mutation.
type Alert struct {
	// enc is the alert as compact JSON, keys written as quote() writes
	// them: what MarshalJSON returns and a Store writes. nil is {}.
	enc []byte
	// idx is where the typed fields are in enc.
	idx fieldIndex
	// shared is set once enc was handed to a driver, which may keep it:
	// from then on enc is never written in place, only replaced.
	shared bool
	// checked is set when the typed fields passed check since enc last
	// changed, so that a Store does not check a decoded alert twice.
	checked bool

	// parsed caches, filled by check.
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
// The alert does not keep data: it holds a compact copy.
func DecodeAlert(data []byte, maxBytes int) (*Alert, error) {
	return decodeAlert(data, maxBytes, false)
}

// decodeAlert is DecodeAlert; with alias set, the alert may keep data
// (see scanAlert).
func decodeAlert(data []byte, maxBytes int, alias bool) (*Alert, error) {
	if maxBytes > 0 && len(data) > maxBytes {
		return nil, &AlertError{Index: -1, Err: fmt.Errorf("%w (%d bytes, cap %d)", ErrTooLarge, len(data), maxBytes)}
	}
	a := &Alert{}
	srcDone := false
	if enc, idx, aliased, src, ok := scanAlert(data, alias); ok {
		// Aliased bytes are the driver's: never written in place.
		a.enc, a.idx, a.shared, srcDone = enc, idx, aliased, src
	} else {
		// The reference path: it names the error, or decodes what the
		// single pass leaves to it (keys quote() writes differently).
		if !utf8.Valid(data) {
			return nil, &AlertError{Index: -1, Err: ErrInvalidUTF8}
		}
		members, err := decodeObject(data)
		if err != nil {
			return nil, &AlertError{Index: -1, Err: err}
		}
		a.encode(members)
	}
	if err := a.checkFields(srcDone); err != nil {
		return nil, err
	}
	return a, nil
}

// decodeObject splits a JSON object into compact members, rejecting
// duplicate keys and trailing data.
func decodeObject(data []byte) ([]member, error) { return splitObject(data) }

// encode rebuilds enc and idx from members, after a change.
func (a *Alert) encode(members []member) {
	n := 2
	for _, m := range members {
		n += len(m.key) + len(m.raw) + 4
	}
	b := make([]byte, 0, n+identitySpare)
	b = append(b, '{')
	a.idx = fieldIndex{}
	for i, m := range members {
		if i > 0 {
			b = append(b, ',')
		}
		b = append(b, quote(m.key)...)
		b = append(b, ':')
		off := len(b)
		b = append(b, m.raw...)
		if f := typedField(m.key); f >= 0 {
			a.idx[f] = span{int32(off), int32(len(b))}
		}
	}
	b = append(b, '}')
	a.enc, a.shared, a.checked = b, false, false
	if sp := a.idx[fSource]; sp.ok() && b[sp.off] == '{' {
		if t, err := sourceType(sp.of(b)); err == nil && t.ok() {
			a.idx[fSourceType] = span{sp.off + t.off, sp.off + t.end}
		}
	}
}

// members splits enc into members (values are sub-slices of enc), for a
// change or a walk.
func (a *Alert) members() []member { return splitCompact(a.encoded()) }

// raw is the JSON of typed field f, if present.
func (a *Alert) raw(f int) ([]byte, bool) {
	sp := a.idx[f]
	if !sp.ok() {
		return nil, false
	}
	return sp.of(a.enc), true
}

// check validates the typed fields and fills the caches. A field that is
// absent is fine (the Store adds id and timestamp); a field that is present
// must have the right type and a valid value.
func (a *Alert) check() error { return a.checkFields(false) }

// checkFields is check; with srcDone set, the single pass checked the
// source object and indexed source.type (see scanAlert), and it is not
// walked again.
func (a *Alert) checkFields(srcDone bool) error {
	if raw, ok := a.raw(fTimestamp); ok && isNumber(raw) {
		// A Unix time is a timestamp error first (is it seconds or
		// milliseconds?), and a field-type error too, so that both
		// errors.Is(err, ErrBadTimestamp) and ErrBadFieldType hold.
		return &AlertError{Index: -1, Field: FieldTimestamp, Err: fmt.Errorf(
			"%w: %s is a number (Unix seconds or milliseconds?); want an ISO 8601 string such as \"2025-03-01T12:34:56.789012\" (%w)",
			ErrBadTimestamp, raw, ErrBadFieldType)}
	}
	for _, f := range [...]int{fID, fEntity, fEntityType, fEventType, fMessage, fTimestamp, fSeverity} {
		if raw, ok := a.raw(f); ok && raw[0] != '"' {
			return &AlertError{Index: -1, Field: fieldNames[f], Err: fmt.Errorf("%w: want a string", ErrBadFieldType)}
		}
	}
	if raw, ok := a.raw(fScore); ok && string(raw) != "null" && !isNumber(raw) {
		return &AlertError{Index: -1, Field: FieldScore, Err: fmt.Errorf("%w: want a number", ErrBadFieldType)}
	}
	if !srcDone {
		a.idx[fSourceType] = span{}
		if sp := a.idx[fSource]; sp.ok() && string(sp.of(a.enc)) != "null" {
			t, err := sourceType(sp.of(a.enc))
			if err != nil {
				return err
			}
			if t.ok() {
				a.idx[fSourceType] = span{sp.off + t.off, sp.off + t.end}
			}
		}
	}
	a.ts, a.sev = time.Time{}, SeverityUnknown
	if raw, ok := a.raw(fTimestamp); ok {
		t, err := parseTimestampRaw(raw)
		if err != nil {
			return &AlertError{Index: -1, Field: FieldTimestamp, Err: err}
		}
		a.ts = t
	}
	if raw, ok := a.raw(fSeverity); ok {
		sev, err := parseSeverityRaw(raw)
		if err != nil {
			return &AlertError{Index: -1, Field: FieldSeverity, Err: err}
		}
		a.sev = sev
	}
	if raw, ok := a.raw(fID); ok && string(raw) == `""` {
		return &AlertError{Index: -1, Field: FieldID, Err: fmt.Errorf("%w: id is empty", ErrBadFieldType)}
	}
	a.checked = true
	return nil
}

// sourceType checks the source object src (compact, valid JSON): an
// object without duplicate keys whose "type", if any, is a string. It
// returns where the type's value is in src.
func sourceType(src []byte) (span, error) {
	fail := func(field string, err error) (span, error) {
		return span{}, &AlertError{Index: -1, Field: field, Err: err}
	}
	if src[0] != '{' {
		_, err := decodeObject(src)
		return fail(FieldSource, err)
	}
	var keys [smallObject][]byte
	n := 0
	var typ span
	for p := 1; src[p] != '}'; {
		kend := stringEnd(src, p)
		k := src[p+1 : kend-1]
		if n == len(keys) || bytes.IndexByte(k, '\\') >= 0 {
			return sourceTypeSlow(src)
		}
		for _, o := range keys[:n] {
			if string(o) == string(k) {
				return fail(FieldSource, fmt.Errorf("%w %q", ErrDuplicateKey, k))
			}
		}
		keys[n] = k
		n++
		p = kend + 1
		vend := valueEnd(src, p)
		if string(k) == sourceTypeKey {
			typ = span{int32(p), int32(vend)}
		}
		p = vend
		if src[p] == ',' {
			p++
		}
	}
	if typ.ok() && src[typ.off] != '"' {
		return fail("source.type", fmt.Errorf("%w: want a string", ErrBadFieldType))
	}
	return typ, nil
}

// sourceTypeSlow is sourceType for a source with escaped or many keys:
// the reference path finds duplicates, then a walk finds "type".
func sourceTypeSlow(src []byte) (span, error) {
	if _, err := decodeObject(src); err != nil {
		return span{}, &AlertError{Index: -1, Field: FieldSource, Err: err}
	}
	for p := 1; src[p] != '}'; {
		kend := stringEnd(src, p)
		k, _ := unquote(src[p:kend])
		p = kend + 1
		vend := valueEnd(src, p)
		if k == sourceTypeKey {
			if src[p] != '"' {
				return span{}, &AlertError{Index: -1, Field: "source.type", Err: fmt.Errorf("%w: want a string", ErrBadFieldType)}
			}
			return span{int32(p), int32(vend)}, nil
		}
		p = vend
		if src[p] == ',' {
			p++
		}
	}
	return span{}, nil
}

// fieldNames are the typed fields' names, in fieldIndex order.
var fieldNames = [numFields]string{FieldID, FieldTimestamp, FieldSeverity, FieldEntity, FieldEntityType, FieldEventType, FieldMessage, FieldScore, FieldSource, "source.type"}

func rawString(raw json.RawMessage) (string, error) { return unquote(raw) }

// validate checks the typed fields unless that was done since the last
// change.
func (a *Alert) validate() error {
	if a.checked {
		return nil
	}
	return a.check()
}

// Validate checks an alert built with setters (or Set) as DecodeAlert would.
func (a *Alert) Validate() error { return a.check() }

// encoded is the alert's compact JSON, not to be modified.
func (a *Alert) encoded() []byte {
	if a.enc == nil {
		return []byte("{}")
	}
	return a.enc[:len(a.enc):len(a.enc)]
}

// MarshalJSON writes the alert as one compact JSON object, members in
// their original order. The bytes are the caller's.
func (a *Alert) MarshalJSON() ([]byte, error) {
	return bytes.Clone(a.encoded()), nil
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
	c := &Alert{idx: a.idx, checked: a.checked, ts: a.ts, sev: a.sev, ver: a.ver, sigKey: a.sigKey, pos: a.pos}
	if a.enc != nil {
		c.enc = append(make([]byte, 0, len(a.enc)+identitySpare), a.enc...)
	}
	return c
}

// Keys returns the top-level keys in order.
func (a *Alert) Keys() []string {
	members := a.members()
	keys := make([]string, len(members))
	for i, m := range members {
		keys[i] = m.key
	}
	return keys
}

// Get returns the raw JSON of a top-level field. The bytes are the
// alert's own (and, once stored, may be the stored copy's): do not
// modify them.
func (a *Alert) Get(key string) (json.RawMessage, bool) {
	if f := typedField(key); f >= 0 {
		return a.raw(f)
	}
	return lookupCompact(a.encoded(), key)
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
	if err := a.check(); err != nil {
		if had {
			a.put(key, old)
		} else {
			a.Delete(key)
		}
		_ = a.check()
		return err
	}
	return nil
}

func (a *Alert) put(key string, raw json.RawMessage) {
	members := a.members()
	found := false
	for i := range members {
		if members[i].key == key {
			members[i].raw = raw
			found = true
			break
		}
	}
	if !found {
		members = append(members, member{key: key, raw: raw})
	}
	a.encode(members)
}

// setMember is put for a member that is not a typed field: a new one is
// appended to enc (in place when enc is the alert's alone and has room),
// not re-encoding the others; the typed fields stay checked.
func (a *Alert) setMember(key string, raw json.RawMessage) {
	if typedField(key) >= 0 {
		a.put(key, raw)
		return
	}
	if _, had := a.Get(key); had {
		a.put(key, raw)
		return
	}
	enc := a.encoded()
	q := quote(key)
	extra := 1 + len(q) + 1 + len(raw)
	var b []byte
	if !a.shared && a.enc != nil && cap(a.enc)-len(a.enc) >= extra {
		b = a.enc[:len(a.enc)-1] // overwrite the closing brace
	} else {
		b = append(make([]byte, 0, len(enc)+extra), enc[:len(enc)-1]...)
	}
	if len(b) > 1 {
		b = append(b, ',')
	}
	b = append(b, q...)
	b = append(b, ':')
	b = append(b, raw...)
	a.enc, a.shared = append(b, '}'), false
}

// Delete removes a top-level field.
func (a *Alert) Delete(key string) {
	members := a.members()
	for i, m := range members {
		if m.key == key {
			a.encode(append(members[:i], members[i+1:]...))
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

// str is typed field f as a string.
func (a *Alert) str(f int) (string, bool) {
	raw, ok := a.raw(f)
	if !ok {
		return "", false
	}
	s, err := rawString(raw)
	return s, err == nil
}

// is reports whether typed field f is the string s, without allocating
// in the common case (no escapes).
func (a *Alert) is(f int, s string) bool {
	raw, ok := a.raw(f)
	if !ok || len(raw) < 2 || raw[0] != '"' {
		return false
	}
	if bytes.IndexByte(raw, '\\') < 0 {
		return string(raw[1:len(raw)-1]) == s
	}
	v, err := rawString(raw)
	return err == nil && v == s
}

// ID is the alert's unique id ("" before it is stored, or for an alert a
// foreign tool wrote without one).
func (a *Alert) ID() string { s, _ := a.str(fID); return s }

// Time is the parsed timestamp (zero when the alert has none).
func (a *Alert) Time() time.Time { return a.ts }

// TimestampString is the timestamp exactly as stored.
func (a *Alert) TimestampString() string { s, _ := a.str(fTimestamp); return s }

// Severity is the parsed severity (SeverityUnknown when absent).
func (a *Alert) Severity() Severity { return a.sev }

// SeverityString is the severity exactly as stored ("High", "high", ...).
func (a *Alert) SeverityString() string { s, _ := a.str(fSeverity); return s }

// Entity is the host, user or address the alert is about.
func (a *Alert) Entity() string { s, _ := a.str(fEntity); return s }

// EntityType is e.g. "host" or "user".
func (a *Alert) EntityType() string { s, _ := a.str(fEntityType); return s }

// EventType is the detector's event type.
func (a *Alert) EventType() string { s, _ := a.str(fEventType); return s }

// Message is the human-readable summary.
func (a *Alert) Message() string { s, _ := a.str(fMessage); return s }

// Score is prediction_score, and whether the alert has one.
func (a *Alert) Score() (float64, bool) {
	raw, ok := a.raw(fScore)
	if !ok || string(raw) == "null" {
		return 0, false
	}
	f, err := strconv.ParseFloat(string(raw), 64)
	return f, err == nil
}

// SourceType is source.type ("kafka", "file", ...), or "".
func (a *Alert) SourceType() string { s, _ := a.str(fSourceType); return s }

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
		src.encode(members)
	}
	t, _ := json.Marshal(v)
	src.put(sourceTypeKey, t)
	return a.Set(FieldSource, json.RawMessage(src.encoded()))
}

// Lengths of the members ensureIdentity appends.
const (
	idMemberLen = len(`,"id":""`) + 36
	tsMemberLen = len(`,"timestamp":""`) + len(TimestampLayout)
)

// ensureIdentity gives the alert id (drawn by the caller, a batch at a
// time: see newIDs) if it lacks an id, and the timestamp now if it lacks
// one, appending them to enc: in place when enc is the alert's alone and
// has room (DecodeAlert leaves identitySpare bytes for this), never
// re-encoding the other members.
func (a *Alert) ensureIdentity(now time.Time, id uuid.UUID) {
	needID, needTS := !a.idx[fID].ok(), !a.idx[fTimestamp].ok()
	if !needID && !needTS {
		return
	}
	enc := a.encoded()
	extra := 0
	if needID {
		extra += idMemberLen
	}
	if needTS {
		extra += tsMemberLen
	}
	var b []byte
	if !a.shared && a.enc != nil && cap(a.enc)-len(a.enc) >= extra {
		b = a.enc[:len(a.enc)-1] // overwrite the closing brace
	} else {
		b = append(make([]byte, 0, len(enc)+extra), enc[:len(enc)-1]...)
	}
	if needID {
		if len(b) > 1 {
			b = append(b, ',')
		}
		b = append(b, `"id":`...)
		off := len(b)
		b = append(b, '"')
		b = appendUUID(b, id)
		b = append(b, '"')
		a.idx[fID] = span{int32(off), int32(len(b))}
	}
	if needTS {
		if len(b) > 1 {
			b = append(b, ',')
		}
		b = append(b, `"timestamp":`...)
		off := len(b)
		b = append(b, '"')
		t := now.UTC().Truncate(time.Microsecond)
		layout := TimestampLayout
		if t.Nanosecond() == 0 {
			layout = TimestampSecondsLayout
		}
		b = t.AppendFormat(b, layout)
		b = append(b, '"')
		a.idx[fTimestamp] = span{int32(off), int32(len(b))}
		a.ts = t
	}
	a.enc = append(b, '}')
	a.shared = false
}

func mustMarshal(v any) json.RawMessage {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err)
	}
	return b
}
