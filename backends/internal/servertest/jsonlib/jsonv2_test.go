//go:build goexperiment.jsonv2

package jsonlib

import (
	"encoding/json/jsontext"
	jsonv2 "encoding/json/v2"
)

func init() { jobs = append(jobs, job{"encoding-json-v2", readJSONv2}) }

// encoding/json/v2 into a map of raw values: duplicate names and invalid
// UTF-8 are refused by default.
func readJSONv2(data []byte) (fields, error) {
	var top map[string]jsontext.Value
	if err := jsonv2.Unmarshal(data, &top); err != nil {
		return fields{}, err
	}
	var src map[string]jsontext.Value
	if raw, ok := top["source"]; ok {
		if err := jsonv2.Unmarshal(raw, &src); err != nil {
			return fields{}, err
		}
	}
	return fromRaw(conv(top), conv(src), func(b []byte, v any) error { return jsonv2.Unmarshal(b, v) })
}

func init() {
	validators = append(validators, struct {
		name  string
		valid func([]byte) bool
	}{"encoding-json-v2-jsontext", func(b []byte) bool { return jsontext.Value(b).IsValid() }})
}
