package jsonlib

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"unicode/utf8"

	"github.com/apt-detection/alertstore/backend"
	"github.com/bytedance/sonic"
	gojson "github.com/goccy/go-json"
	"github.com/tidwall/gjson"
	"github.com/valyala/fastjson"
)

// fields are what a reader needs from an alert: id, timestamp, severity,
// entity, source.type (as strings) and prediction_score (its JSON text,
// to check that numbers are kept exact).
type fields [6]string

const fScore = 5

// A job reads one alert the way a careful user of the library would,
// keeping every member (no struct that drops unknown keys).
type job struct {
	name string
	read func(data []byte) (fields, error)
}

var errDuplicate = errors.New("duplicate key")

// jobs are the libraries measured; jsonv2_test.go adds encoding/json/v2
// under GOEXPERIMENT=jsonv2.
var jobs = []job{
	{"alertstore", readAlertstore},
	{"encoding-json-map", readStdMap},
	{"encoding-json-tokens", readStdTokens},
	{"goccy-go-json", readGoccy},
	{"sonic", readSonic},
	{"fastjson", readFastjson},
	{"gjson", readGjson},
}

// alertstore: backend.DecodeAlert, which also parses the timestamp and
// severity and keeps a compact copy.
func readAlertstore(data []byte) (fields, error) {
	a, err := backend.DecodeAlert(data, 0)
	if err != nil {
		return fields{}, err
	}
	score, _ := a.Get(backend.FieldScore)
	return fields{a.ID(), a.TimestampString(), a.SeverityString(), a.Entity(), a.SourceType(), string(score)}, nil
}

// fromRaw fills fields from top-level members and source's members, as
// raw JSON, with unmarshal decoding the strings.
func fromRaw(top, src map[string][]byte, unmarshal func([]byte, any) error) (fields, error) {
	var f fields
	for i, k := range []string{backend.FieldID, backend.FieldTimestamp, backend.FieldSeverity, backend.FieldEntity} {
		if raw, ok := top[k]; ok {
			if err := unmarshal(raw, &f[i]); err != nil {
				return f, err
			}
		}
	}
	if raw, ok := src["type"]; ok {
		if err := unmarshal(raw, &f[4]); err != nil {
			return f, err
		}
	}
	f[fScore] = string(top[backend.FieldScore])
	return f, nil
}

// encoding/json into a map of raw members: last duplicate wins, invalid
// UTF-8 becomes U+FFFD.
func readStdMap(data []byte) (fields, error) {
	var top map[string]json.RawMessage
	if err := json.Unmarshal(data, &top); err != nil {
		return fields{}, err
	}
	var src map[string]json.RawMessage
	if raw, ok := top[backend.FieldSource]; ok {
		if err := json.Unmarshal(raw, &src); err != nil {
			return fields{}, err
		}
	}
	return fromRaw(conv(top), conv(src), json.Unmarshal)
}

func conv[M ~map[string]V, V ~[]byte](m M) map[string][]byte {
	out := make(map[string][]byte, len(m))
	for k, v := range m {
		out[k] = v
	}
	return out
}

// encoding/json's token API with every guarantee: utf8.Valid first, and
// each key checked against the earlier ones (what alertstore did before
// json.Compact and its own scanner).
func readStdTokens(data []byte) (fields, error) {
	if !utf8.Valid(data) {
		return fields{}, errors.New("invalid UTF-8")
	}
	top, err := stdTokenObject(data)
	if err != nil {
		return fields{}, err
	}
	var src map[string][]byte
	if raw, ok := top[backend.FieldSource]; ok {
		if src, err = stdTokenObject(raw); err != nil {
			return fields{}, err
		}
	}
	return fromRaw(top, src, json.Unmarshal)
}

func stdTokenObject(data []byte) (map[string][]byte, error) {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	if t, err := dec.Token(); err != nil || t != json.Delim('{') {
		return nil, fmt.Errorf("not an object: %v", err)
	}
	m := map[string][]byte{}
	for dec.More() {
		t, err := dec.Token()
		if err != nil {
			return nil, err
		}
		k := t.(string)
		if _, dup := m[k]; dup {
			return nil, errDuplicate
		}
		var raw json.RawMessage
		if err := dec.Decode(&raw); err != nil {
			return nil, err
		}
		m[k] = raw
	}
	if _, err := dec.Token(); err != nil {
		return nil, err
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, errors.New("data after the object")
	}
	return m, nil
}

// goccy/go-json into a map of raw members.
func readGoccy(data []byte) (fields, error) {
	var top map[string]gojson.RawMessage
	if err := gojson.Unmarshal(data, &top); err != nil {
		return fields{}, err
	}
	var src map[string]gojson.RawMessage
	if raw, ok := top[backend.FieldSource]; ok {
		if err := gojson.Unmarshal(raw, &src); err != nil {
			return fields{}, err
		}
	}
	return fromRaw(conv(top), conv(src), gojson.Unmarshal)
}

// sonic, in its encoding/json-compatible configuration (which validates
// strings), into a map of raw members.
func readSonic(data []byte) (fields, error) {
	var top map[string]json.RawMessage
	if err := sonic.ConfigStd.Unmarshal(data, &top); err != nil {
		return fields{}, err
	}
	var src map[string]json.RawMessage
	if raw, ok := top[backend.FieldSource]; ok {
		if err := sonic.ConfigStd.Unmarshal(raw, &src); err != nil {
			return fields{}, err
		}
	}
	return fromRaw(conv(top), conv(src), sonic.ConfigStd.Unmarshal)
}

// fastjson keeps every member, duplicates included, so they can be
// found by visiting the object.
func readFastjson(data []byte) (fields, error) {
	var p fastjson.Parser
	v, err := p.ParseBytes(data)
	if err != nil {
		return fields{}, err
	}
	top, err := v.Object()
	if err != nil {
		return fields{}, err
	}
	if err := fastjsonUnique(top); err != nil {
		return fields{}, err
	}
	var f fields
	for i, k := range []string{backend.FieldID, backend.FieldTimestamp, backend.FieldSeverity, backend.FieldEntity} {
		f[i] = string(v.GetStringBytes(k))
	}
	if src := v.Get(backend.FieldSource); src != nil && src.Type() == fastjson.TypeObject {
		o, _ := src.Object()
		if err := fastjsonUnique(o); err != nil {
			return fields{}, err
		}
		f[4] = string(src.GetStringBytes("type"))
	}
	if s := v.Get(backend.FieldScore); s != nil {
		f[fScore] = string(s.MarshalTo(nil))
	}
	return f, nil
}

func fastjsonUnique(o *fastjson.Object) error {
	seen := make(map[string]struct{}, o.Len())
	var err error
	o.Visit(func(k []byte, _ *fastjson.Value) {
		if _, dup := seen[string(k)]; dup {
			err = errDuplicate
		}
		seen[string(k)] = struct{}{}
	})
	return err
}

// gjson: validate, then look the fields up by path; duplicates are
// found by iterating the object.
func readGjson(data []byte) (fields, error) {
	if !gjson.ValidBytes(data) {
		return fields{}, errors.New("invalid JSON")
	}
	top := gjson.ParseBytes(data)
	if !top.IsObject() {
		return fields{}, errors.New("not an object")
	}
	if err := gjsonUnique(top); err != nil {
		return fields{}, err
	}
	src := top.Get(backend.FieldSource)
	if src.IsObject() {
		if err := gjsonUnique(src); err != nil {
			return fields{}, err
		}
	}
	r := gjson.GetManyBytes(data, backend.FieldID, backend.FieldTimestamp, backend.FieldSeverity, backend.FieldEntity, "source.type", backend.FieldScore)
	var f fields
	for i := range 5 {
		f[i] = r[i].String()
	}
	f[fScore] = r[5].Raw
	return f, nil
}

func gjsonUnique(o gjson.Result) error {
	seen := map[string]struct{}{}
	var err error
	o.ForEach(func(k, _ gjson.Result) bool {
		if _, dup := seen[k.Str]; dup {
			err = errDuplicate
			return false
		}
		seen[k.Str] = struct{}{}
		return true
	})
	return err
}
