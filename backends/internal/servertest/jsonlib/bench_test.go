package jsonlib

import (
	"encoding/json"
	"testing"

	"github.com/apt-detection/alertstore/conformance"
	"github.com/bytedance/sonic"
	gojson "github.com/goccy/go-json"
	"github.com/tidwall/gjson"
	"github.com/valyala/fastjson"
)

// samples are the project's sample alerts as the old detectors wrote
// them (~500 B, Python's json.dumps spacing).
var samples = conformance.LegacyAlerts()

// BenchmarkJSONLibraries reads the samples with each library (one alert
// per op), next to one json.Valid pass over the same bytes.
func BenchmarkJSONLibraries(b *testing.B) {
	size := 0
	for _, s := range samples {
		size += len(s)
	}
	b.Run("json.Valid", func(b *testing.B) {
		b.SetBytes(int64(size / len(samples)))
		for i := 0; b.Loop(); i++ {
			if !json.Valid(samples[i%len(samples)]) {
				b.Fatal("invalid sample")
			}
		}
	})
	for _, j := range jobs {
		b.Run(j.name, func(b *testing.B) {
			b.SetBytes(int64(size / len(samples)))
			b.ReportAllocs()
			for i := 0; b.Loop(); i++ {
				if _, err := j.read(samples[i%len(samples)]); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// validators are the libraries' validity checks alone: none refuses
// duplicate keys, so each would need a second pass of ours after it; a
// validator much faster than alertstore's whole read would make that
// pair worth having.
var validators = []struct {
	name  string
	valid func([]byte) bool
}{
	{"encoding-json", json.Valid},
	{"goccy-go-json", gojson.Valid},
	{"sonic", sonic.Valid},
	{"fastjson", func(b []byte) bool { return fastjson.ValidateBytes(b) == nil }},
	{"gjson", gjson.ValidBytes},
}

// BenchmarkJSONValidators: validity only, one alert per op.
func BenchmarkJSONValidators(b *testing.B) {
	for _, v := range validators {
		b.Run(v.name, func(b *testing.B) {
			for i := 0; b.Loop(); i++ {
				if !v.valid(samples[i%len(samples)]) {
					b.Fatal("invalid sample")
				}
			}
		})
	}
}
