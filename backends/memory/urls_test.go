package memory_test

import (
	"testing"

	_ "github.com/apt-detection/alertstore/backends/memory"
	"github.com/apt-detection/alertstore/conformance"
)

// TestDSNChecks: mem:// rejects what it does not know, by name, without a
// secret in any message.
func TestDSNChecks(t *testing.T) {
	conformance.RunDSNChecks(t, conformance.DSNCase{
		DSN: "mem://dsn-checks?max_bytes=4096",
		Rejects: []conformance.DSNReject{
			{Name: "path", DSN: "mem://name/path", Says: "unexpected path"},
			{Name: "user-info", DSN: "mem://alice:" + conformance.DSNSecret + "@name", Says: "user info"},
			{Name: "max_bytes-small", DSN: "mem://?max_bytes=10", Says: "max_bytes"},
		},
	})
}
