package all

import (
	"errors"
	"os/exec"
	"strings"
	"testing"
)

// The client libraries' module paths, as `go list -deps` prints their
// packages.
const (
	goRedis  = "github.com/redis/go-redis/v9"
	valkeyGo = "github.com/valkey-io/valkey-go"
)

// TestLinksOnlyImportedClientLibrary: a program links only the client
// library of the backends it imports. `go list -deps` of a package is
// every package a program importing it links. The Sentinel schemes live
// in the backend of their library, over a library-neutral internal
// package, so importing goredis does not drag valkey-go in, nor the
// reverse. The aggregator links both, which shows the check can see a
// library when it is there.
func TestLinksOnlyImportedClientLibrary(t *testing.T) {
	goTool, err := exec.LookPath("go")
	if err != nil {
		t.Skipf("no go command to list dependencies with: %v", err)
	}
	const mod = "github.com/apt-detection/alertstore/"
	for _, c := range []struct {
		pkg        string
		links, not []string
	}{
		{"backends/goredis", []string{goRedis}, []string{valkeyGo}},
		{"backends/valkeygo", []string{valkeyGo}, []string{goRedis}},
		{"backends/internal/sentinel", nil, []string{goRedis, valkeyGo}},
		{"backends/internal/redislist", nil, []string{goRedis, valkeyGo}},
		{"internal/resp", nil, []string{goRedis, valkeyGo}},
		{"backends/all", []string{goRedis, valkeyGo}, nil},
	} {
		t.Run(c.pkg, func(t *testing.T) {
			out, err := exec.Command(goTool, "list", "-deps", mod+c.pkg).Output()
			if err != nil {
				var stderr string
				if ee := (*exec.ExitError)(nil); errors.As(err, &ee) {
					stderr = string(ee.Stderr)
				}
				t.Fatalf("go list -deps %s: %v\n%s", c.pkg, err, stderr)
			}
			deps := strings.Fields(string(out))
			linked := func(lib string) bool {
				for _, d := range deps {
					if d == lib || strings.HasPrefix(d, lib+"/") {
						return true
					}
				}
				return false
			}
			for _, lib := range c.links {
				if !linked(lib) {
					t.Errorf("a program importing %s does not link %s", c.pkg, lib)
				}
			}
			for _, lib := range c.not {
				if linked(lib) {
					t.Errorf("a program importing %s links %s, the client library of another backend", c.pkg, lib)
				}
			}
		})
	}
}
