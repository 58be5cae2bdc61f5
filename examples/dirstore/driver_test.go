//go:build linux || darwin || freebsd || netbsd || openbsd || dragonfly

package dirstore_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"syscall"
	"testing"
	"time"

	"github.com/apt-detection/alertstore/backend"
	"github.com/apt-detection/alertstore/conformance"

	dirstore "example.com/alertstore-dirstore"
)

// These tests pin what the conformance suite cannot see from outside: the
// files on disk, crash leftovers, positions across Clear, locks shared with
// other processes, and the driver's own errors. File names are spelled out
// rather than taken from the package, so a change of the on-disk format
// fails here first.

func entryFile(pos int64) string { return fmt.Sprintf("%020d.json", pos) }

func openDriver(t *testing.T, dir string, cfg backend.Config) backend.Driver {
	t.Helper()
	d, err := dirstore.Open(context.Background(), dir, cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { d.Close() })
	return d
}

func appendN(t *testing.T, d backend.Driver, from, n int) {
	t.Helper()
	batch := make([][]byte, n)
	for i := range batch {
		batch[i] = []byte(fmt.Sprintf(`{"n":%d}`, from+i))
	}
	if err := d.Append(context.Background(), batch); err != nil {
		t.Fatal(err)
	}
}

func positions(t *testing.T, d backend.Driver) []int64 {
	t.Helper()
	es, err := d.Scan(context.Background(), 0, 1_000_000)
	if err != nil {
		t.Fatal(err)
	}
	out := make([]int64, len(es))
	for i, e := range es {
		out[i] = e.Pos
	}
	return out
}

func readDir(t *testing.T, dir string) []string {
	t.Helper()
	es, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, e := range es {
		out = append(out, e.Name())
	}
	return out
}

func TestLayoutOnDisk(t *testing.T) {
	dir := t.TempDir()
	d := openDriver(t, dir, backend.Config{Prefix: "p:", MaxAlerts: 3})
	appendN(t, d, 0, 2)
	appendN(t, d, 2, 3) // 5 stored, cap 3: positions 1 and 2 go
	want := []string{".lock", entryFile(3), entryFile(4), entryFile(5), "seq"}
	if got := readDir(t, filepath.Join(dir, "p:")); !slices.Equal(got, want) {
		t.Fatalf("files %v, want %v", got, want)
	}
	if b, _ := os.ReadFile(filepath.Join(dir, "p:", "seq")); string(b) != "6\n" {
		t.Fatalf("seq holds %q, want \"6\\n\"", b)
	}
	if b, _ := os.ReadFile(filepath.Join(dir, "p:", entryFile(5))); string(b) != `{"n":4}` {
		t.Fatalf("newest file holds %s", b)
	}
	fi, err := os.Stat(filepath.Join(dir, "p:"))
	if err != nil || fi.Mode().Perm() != 0o700 {
		t.Fatalf("prefix directory mode %v, %v; want 0700", fi.Mode().Perm(), err)
	}
}

func TestPositionsSurviveClear(t *testing.T) {
	dir := t.TempDir()
	d := openDriver(t, dir, backend.Config{Prefix: "p"})
	appendN(t, d, 0, 3)
	if err := d.Clear(context.Background()); err != nil {
		t.Fatal(err)
	}
	// Even with seq deleted by hand, Clear must not forget the positions.
	appendN(t, d, 3, 1)
	if err := os.Remove(filepath.Join(dir, "p", "seq")); err != nil {
		t.Fatal(err)
	}
	if err := d.Clear(context.Background()); err != nil {
		t.Fatal(err)
	}
	appendN(t, d, 4, 1)
	// Positions 1-3, then 4: the next is 5, never one already handed out.
	if got := positions(t, d); !slices.Equal(got, []int64{5}) {
		t.Fatalf("positions after two Clears %v, want [5]", got)
	}
}

// TestUnfinishedAppendInvisible builds what a crash in the middle of an
// Append leaves (alert files beyond seq, a temp file) and checks that
// readers ignore it and the next Append cleans it up.
func TestUnfinishedAppendInvisible(t *testing.T) {
	dir := t.TempDir()
	d := openDriver(t, dir, backend.Config{Prefix: "p"})
	appendN(t, d, 0, 2)
	pdir := filepath.Join(dir, "p")
	for _, name := range []string{entryFile(3), entryFile(9), ".tmp-123456"} {
		if err := os.WriteFile(filepath.Join(pdir, name), []byte(`{"half":`), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.WriteFile(filepath.Join(pdir, "README"), []byte("not an alert"), 0o600); err != nil {
		t.Fatal(err)
	}
	if n, err := d.Count(context.Background()); err != nil || n != 2 {
		t.Fatalf("Count = %d, %v; want 2 (leftovers invisible)", n, err)
	}
	if got := positions(t, d); !slices.Equal(got, []int64{2, 1}) {
		t.Fatalf("positions %v, want [2 1]", got)
	}
	appendN(t, d, 2, 1)
	want := []string{".lock", entryFile(1), entryFile(2), entryFile(3), "README", "seq"}
	if got := readDir(t, pdir); !slices.Equal(got, want) {
		t.Fatalf("files after the next Append %v, want %v (leftovers removed, README kept)", got, want)
	}
	if b, _ := os.ReadFile(filepath.Join(pdir, entryFile(3))); string(b) != `{"n":2}` {
		t.Fatalf("position 3 holds %s, want the new alert", b)
	}
}

func TestCorruptSeqRefused(t *testing.T) {
	dir := t.TempDir()
	d := openDriver(t, dir, backend.Config{Prefix: "p"})
	if err := os.WriteFile(filepath.Join(dir, "p", "seq"), []byte("garbage"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := d.Count(context.Background()); !errors.Is(err, backend.ErrUnavailable) {
		t.Fatalf("Count with a corrupt seq = %v, want ErrUnavailable", err)
	}
}

func TestDriverAfterClose(t *testing.T) {
	d := openDriver(t, t.TempDir(), backend.Config{})
	if err := d.Close(); err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	_, scanErr := d.Scan(ctx, 0, 10)
	_, countErr := d.Count(ctx)
	for name, err := range map[string]error{
		"Append": d.Append(ctx, [][]byte{[]byte(`{}`)}),
		"Scan":   scanErr,
		"Count":  countErr,
		"Clear":  d.Clear(ctx),
		"Ping":   d.Ping(ctx),
		"Close":  d.Close(),
	} {
		if !errors.Is(err, backend.ErrClosed) {
			t.Errorf("%s after Close = %v, want ErrClosed", name, err)
		}
	}
}

func TestDriverCanceledContext(t *testing.T) {
	d := openDriver(t, t.TempDir(), backend.Config{})
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, scanErr := d.Scan(ctx, 0, 10)
	_, countErr := d.Count(ctx)
	for name, err := range map[string]error{
		"Append": d.Append(ctx, [][]byte{[]byte(`{}`)}),
		"Scan":   scanErr,
		"Count":  countErr,
		"Clear":  d.Clear(ctx),
		"Ping":   d.Ping(ctx),
	} {
		if !errors.Is(err, context.Canceled) {
			t.Errorf("%s with a canceled ctx = %v, want context.Canceled", name, err)
		}
	}
	if n, err := d.Count(context.Background()); err != nil || n != 0 {
		t.Fatalf("Count = %d, %v; want 0", n, err)
	}
}

// TestLockHeldElsewhere holds the lock file's flock through a separate
// open, which is what another process does, and checks that calls wait for
// it only as long as their ctx allows.
func TestLockHeldElsewhere(t *testing.T) {
	dir := t.TempDir()
	d := openDriver(t, dir, backend.Config{Prefix: "p"})
	f, err := os.Open(filepath.Join(dir, "p", ".lock"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	start := time.Now()
	err = d.Append(ctx, [][]byte{[]byte(`{}`)})
	if !errors.Is(err, backend.ErrUnavailable) || !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Append behind another process's lock = %v, want ErrUnavailable and DeadlineExceeded", err)
	}
	if waited := time.Since(start); waited > 2*time.Second {
		t.Fatalf("Append waited %s, past its 100ms deadline", waited)
	}
	// Released, the next call goes through.
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_UN); err != nil {
		t.Fatal(err)
	}
	appendN(t, d, 0, 1)
}

// envChild makes the test binary, run again by TestCrossProcessAppend,
// append alerts to the directory it names and exit.
const envChild = "DIRSTORE_TEST_CHILD_DIR"

const perProcess = 150

// TestCrossProcessAppend appends from this process and from a child
// process at once, one alert per call, and checks that no position is lost
// or given twice.
func TestCrossProcessAppend(t *testing.T) {
	if dir := os.Getenv(envChild); dir != "" {
		d := openDriver(t, dir, backend.Config{Prefix: "shared", MaxAlerts: 10 * perProcess})
		for i := range perProcess {
			appendN(t, d, 1_000_000+i, 1)
		}
		return
	}
	if testing.Short() {
		t.Skip("starts a second process")
	}
	dir := t.TempDir()
	cfg := backend.Config{Prefix: "shared", MaxAlerts: 10 * perProcess}
	d := openDriver(t, dir, cfg)
	cmd := exec.Command(os.Args[0], "-test.run=^TestCrossProcessAppend$", "-test.count=1")
	cmd.Env = append(os.Environ(), envChild+"="+dir)
	out := make(chan error, 1)
	go func() {
		b, err := cmd.CombinedOutput()
		if err != nil {
			err = fmt.Errorf("%w\n%s", err, b)
		}
		out <- err
	}()
	for i := range perProcess {
		appendN(t, d, i, 1)
	}
	if err := <-out; err != nil {
		t.Fatalf("child process: %v", err)
	}
	got := positions(t, d)
	if len(got) != 2*perProcess {
		t.Fatalf("%d entries after %d appends from two processes", len(got), 2*perProcess)
	}
	for i, pos := range got {
		if want := int64(2*perProcess - i); pos != want {
			t.Fatalf("positions not contiguous: entry %d has %d, want %d", i, pos, want)
		}
	}
	if b, err := os.ReadFile(filepath.Join(dir, "shared", "seq")); err != nil || string(b) != strconv.Itoa(2*perProcess+1)+"\n" {
		t.Fatalf("seq = %q, %v", b, err)
	}
}

func TestOpenErrors(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "file")
	if err := os.WriteFile(file, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		name, dir, prefix string
		want              error
	}{
		{"missing", filepath.Join(dir, "nope"), "", backend.ErrInvalidConfig},
		{"file", file, "", backend.ErrInvalidConfig},
		{"relative", "data", "", backend.ErrInvalidConfig},
		{"dot-prefix", dir, ".", backend.ErrInvalidConfig},
		{"dotdot-prefix", dir, "..", backend.ErrInvalidConfig},
		{"slash-prefix", dir, "a/b", backend.ErrInvalidConfig},
	} {
		t.Run(c.name, func(t *testing.T) {
			d, err := dirstore.Open(context.Background(), c.dir, backend.Config{Prefix: c.prefix}, nil)
			if !errors.Is(err, c.want) {
				if d != nil {
					d.Close()
				}
				t.Fatalf("Open(%q, prefix %q) = %v, want %v", c.dir, c.prefix, err, c.want)
			}
		})
	}
	t.Run("unwritable", func(t *testing.T) {
		if !conformance.AsUnprivileged(t) {
			return // root writes everywhere: checked as another user
		}
		ro := filepath.Join(dir, "ro")
		if err := os.Mkdir(ro, 0o500); err != nil {
			t.Fatal(err)
		}
		_, err := dirstore.Open(context.Background(), ro, backend.Config{}, nil)
		if !errors.Is(err, backend.ErrInvalidConfig) {
			t.Fatalf("Open of a read-only directory = %v, want ErrInvalidConfig", err)
		}
	})
}
