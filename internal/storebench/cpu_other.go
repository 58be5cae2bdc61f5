//go:build !unix

package storebench

import "time"

// processCPU is not measured here: no cpu-us/op metric.
func processCPU() time.Duration { return 0 }
