// Package jsonlib measures JSON libraries for the job of reading one alert
// (issue 10, item 2): validate the bytes, refuse duplicate keys (top level
// and inside "source") and invalid UTF-8, keep numbers exact, and get the
// fields filters and ids need. It holds only tests and benchmarks, in this
// module so that the libraries stay out of the library's go.mod:
//
//	cd backends/internal/servertest
//	go test -run XXX -bench JSONLibraries -count 3 ./jsonlib/
//	GOEXPERIMENT=jsonv2 go test -run XXX -bench JSONLibraries -count 3 ./jsonlib/
//
// TestGuarantees records which guarantee each library keeps with the
// calls used here (the reason alertstore reads alerts with its own
// single pass, backend/alertscan.go); BenchmarkJSONLibraries gives each
// one's cost next to one json.Valid pass over the same bytes.
// encoding/json/v2 is measured only when built with GOEXPERIMENT=jsonv2.
package jsonlib
