package bolt_test

import (
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
)

// envUnprivileged marks the child that asUnprivileged starts.
const envUnprivileged = "ALERTSTORE_BOLT_UNPRIVILEGED_CHILD"

// unprivilegedID is the user and group the child runs as: nobody/nogroup.
const unprivilegedID = 65534

// asUnprivileged lets a test about file permissions run where it means
// something. Root may read and write any file, so as root it re-runs the
// calling test (t.Name(), exactly) in a copy of this test binary as
// nobody, fails t if the child fails, and returns false: the caller
// returns. Otherwise (not root, or the child itself) it returns true and
// the caller goes on. CI runs as root; without this the permission tests
// would skip there.
func asUnprivileged(t *testing.T) bool {
	t.Helper()
	if os.Geteuid() != 0 || os.Getenv(envUnprivileged) == "1" {
		return true
	}
	dir, err := os.MkdirTemp("", "alertstore-unpriv-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = os.RemoveAll(dir) })
	// The build directory is private to root: the child runs a copy in a
	// directory nobody may enter, with a scratch directory of its own.
	if err := os.Chmod(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	bin := filepath.Join(dir, "bolt.test")
	if err := copyFile(os.Args[0], bin, 0o755); err != nil {
		t.Fatal(err)
	}
	tmp := filepath.Join(dir, "tmp")
	if err := os.Mkdir(tmp, 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.Chown(tmp, unprivilegedID, unprivilegedID); err != nil {
		t.Fatal(err)
	}
	var run []string
	for _, part := range strings.Split(t.Name(), "/") {
		run = append(run, "^"+regexp.QuoteMeta(part)+"$")
	}
	cmd := exec.Command(bin, "-test.run="+strings.Join(run, "/"), "-test.count=1", "-test.v")
	cmd.Env = append(os.Environ(), envUnprivileged+"=1", "TMPDIR="+tmp, "HOME="+tmp, "GOCACHE="+filepath.Join(tmp, "cache"))
	cmd.Dir = tmp
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: unprivilegedID, Gid: unprivilegedID}}
	out, err := cmd.CombinedOutput()
	if err != nil || !strings.Contains(string(out), "--- PASS: "+t.Name()) {
		t.Fatalf("as uid %d: %v\n%s", unprivilegedID, err, out)
	}
	t.Logf("ran as uid %d", unprivilegedID)
	return false
}

func copyFile(from, to string, mode os.FileMode) error {
	src, err := os.Open(from)
	if err != nil {
		return err
	}
	defer func() { _ = src.Close() }()
	dst, err := os.OpenFile(to, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, mode)
	if err != nil {
		return err
	}
	if _, err := io.Copy(dst, src); err != nil {
		_ = dst.Close()
		return err
	}
	return dst.Close()
}
