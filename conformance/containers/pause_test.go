package containers

import (
	"errors"
	"testing"
)

// TestUnableToFreeze pins which pause failures Pause retries: only runc's
// "unable to freeze" (the container was thawed back), never a failure that
// may have left it paused or that retrying cannot fix.
func TestUnableToFreeze(t *testing.T) {
	for _, c := range []struct {
		name string
		err  string
		want bool
	}{
		{"freezer did not settle", "Error response from daemon: Cannot pause container 8124: OCI runtime pause failed: unable to freeze: unknown", true},
		{"already paused", "Error response from daemon: container 8124 is already paused", false},
		{"not running", "Error response from daemon: container 8124 is not running", false},
		{"no such container", "Error response from daemon: No such container: 8124", false},
	} {
		t.Run(c.name, func(t *testing.T) {
			if got := unableToFreeze(errors.New(c.err)); got != c.want {
				t.Errorf("unableToFreeze(%q) = %v, want %v", c.err, got, c.want)
			}
		})
	}
}
