package conformance

import (
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// envUnprivileged marks the child that AsUnprivileged starts.
const envUnprivileged = "ALERTSTORE_CONFORMANCE_UNPRIVILEGED_CHILD"

// UnprivilegedID is the user and group AsUnprivileged runs a test as:
// nobody/nogroup.
const UnprivilegedID = 65534

// AsUnprivileged lets a test about file permissions run where it means
// something. Root may read and write any file, so a test that checks what
// happens to a file or directory the process may not write would pass
// vacuously or have to skip, and CI runs as root. Called as root,
// AsUnprivileged re-runs the calling test (t.Name(), exactly) in a copy of
// the test binary as UnprivilegedID, fails t if that child fails, and
// returns false: the caller returns. Otherwise (not root, or the child
// itself) it returns true and the caller goes on. Where the platform has
// no way to switch users it skips t as root.
//
//	func TestReadOnlyDir(t *testing.T) {
//		if !conformance.AsUnprivileged(t) {
//			return // checked as another user
//		}
//		...
//	}
func AsUnprivileged(t *testing.T) bool {
	t.Helper()
	if os.Geteuid() != 0 || os.Getenv(envUnprivileged) == "1" {
		return true
	}
	dir, err := os.MkdirTemp("", "alertstore-unprivileged-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = os.RemoveAll(dir) })
	// The build directory is private to root: the child runs a copy in a
	// directory it may enter, with a scratch directory of its own.
	if err := os.Chmod(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	bin := filepath.Join(dir, "test.bin")
	if err := copyExecutable(os.Args[0], bin); err != nil {
		t.Fatal(err)
	}
	tmp := filepath.Join(dir, "tmp")
	if err := os.Mkdir(tmp, 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.Chown(tmp, UnprivilegedID, UnprivilegedID); err != nil {
		t.Fatal(err)
	}
	var run []string
	for _, part := range strings.Split(t.Name(), "/") {
		run = append(run, "^"+regexp.QuoteMeta(part)+"$")
	}
	cmd := exec.Command(bin, "-test.run="+strings.Join(run, "/"), "-test.count=1", "-test.v")
	cmd.Env = append(os.Environ(), envUnprivileged+"=1", "TMPDIR="+tmp, "HOME="+tmp, "GOCACHE="+filepath.Join(tmp, "cache"))
	cmd.Dir = tmp
	if !runAs(cmd, UnprivilegedID) {
		t.Skip("running as root, and this platform cannot run the test as another user")
	}
	out, err := cmd.CombinedOutput()
	if err != nil || !strings.Contains(string(out), "--- PASS: "+t.Name()) {
		t.Fatalf("as uid %d: %v\n%s", UnprivilegedID, err, out)
	}
	t.Logf("ran as uid %d", UnprivilegedID)
	return false
}

func copyExecutable(from, to string) error {
	src, err := os.Open(from)
	if err != nil {
		return err
	}
	defer func() { _ = src.Close() }()
	dst, err := os.OpenFile(to, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, 0o755)
	if err != nil {
		return err
	}
	if _, err := io.Copy(dst, src); err != nil {
		_ = dst.Close()
		return err
	}
	return dst.Close()
}
