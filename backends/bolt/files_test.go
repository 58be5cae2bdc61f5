//go:build unix

package bolt_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/apt-detection/alertstore/backend"
	"github.com/apt-detection/alertstore/backends/bolt"
	"github.com/apt-detection/alertstore/conformance"
	"github.com/apt-detection/alertstore/registry"
)

type boltFileInfo = bolt.FileInfo

func mkfifo(path string) error { return syscall.Mkfifo(path, 0o600) }

// contents is a regular file's bytes, or its type for anything else
// (reading a FIFO would block).
func contents(path string) string {
	fi, err := os.Lstat(path)
	if err != nil {
		return "missing"
	}
	if !fi.Mode().IsRegular() {
		return fi.Mode().Type().String()
	}
	b, _ := os.ReadFile(path)
	return string(b)
}

// seeded writes a bolt file holding one alert and returns its path.
func seeded(t *testing.T, dir string) string {
	t.Helper()
	path := filepath.Join(dir, "alerts.db")
	s, err := registry.Open(context.Background(), "bolt://"+path)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Store(context.Background(), backend.NewAlert()); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	return path
}

// TestPathRefusals: a path that is not a bolt file the DSN means is a
// configuration error naming it, never "unavailable" (which the command
// turns into "is the server running?").
func TestPathRefusals(t *testing.T) {
	for _, c := range []struct {
		name   string
		path   func(t *testing.T) string
		params string
		want   string
	}{
		{"directory", func(t *testing.T) string { return t.TempDir() }, "", "is a directory"},
		{"symlink-not-followed", func(t *testing.T) string {
			dir := t.TempDir()
			real := seeded(t, dir)
			link := filepath.Join(dir, "link.db")
			if err := os.Symlink(real, link); err != nil {
				t.Fatal(err)
			}
			return link
		}, "", "follow_symlinks=true"},
		{"dangling-symlink-not-followed", func(t *testing.T) string {
			dir := t.TempDir()
			link := filepath.Join(dir, "link.db")
			if err := os.Symlink(filepath.Join(dir, "elsewhere.db"), link); err != nil {
				t.Fatal(err)
			}
			return link
		}, "", "symbolic link"},
		{"not-a-database", func(t *testing.T) string {
			p := filepath.Join(t.TempDir(), "notes.txt")
			if err := os.WriteFile(p, []byte(strings.Repeat("hello\n", 2000)), 0o600); err != nil {
				t.Fatal(err)
			}
			return p
		}, "", "not a bolt database"},
		{"fifo", func(t *testing.T) string {
			p := filepath.Join(t.TempDir(), "fifo.db")
			if err := mkfifo(p); err != nil {
				t.Skipf("no FIFOs here: %v", err)
			}
			return p
		}, "", "not a regular file"},
		{"read-only-missing-file", func(t *testing.T) string { return filepath.Join(t.TempDir(), "none.db") }, "?read_only=true", "does not exist"},
	} {
		t.Run(c.name, func(t *testing.T) {
			path := c.path(t)
			before := contents(path)
			_, err := registry.Open(context.Background(), "bolt://"+path+c.params)
			if !errors.Is(err, backend.ErrInvalidConfig) || errors.Is(err, backend.ErrUnavailable) || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("Open = %v, want ErrInvalidConfig containing %q", err, c.want)
			}
			if after := contents(path); after != before {
				t.Fatal("the refused file was changed")
			}
		})
	}
}

// TestFollowSymlinks: with follow_symlinks=true a link is opened, and the
// alerts are those of the file it points to.
func TestFollowSymlinks(t *testing.T) {
	dir := t.TempDir()
	real := seeded(t, dir)
	link := filepath.Join(dir, "link.db")
	if err := os.Symlink(real, link); err != nil {
		t.Fatal(err)
	}
	s, err := registry.Open(context.Background(), "bolt://"+link+"?follow_symlinks=true")
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if n, err := s.Count(context.Background()); n != 1 || err != nil {
		t.Fatalf("Count through the link = %d, %v; want 1", n, err)
	}
}

// TestReadOnly: a store opened read-only lists and counts, and refuses
// every write with ErrInvalidConfig, changing nothing; a file this user
// cannot write is opened read-only by itself.
func TestReadOnly(t *testing.T) {
	ctx := context.Background()
	for _, c := range []struct {
		name   string
		params string
		chmod  os.FileMode
	}{
		{"read_only-param", "?read_only=true", 0o600},
		{"file-not-writable", "", 0o400},
	} {
		t.Run(c.name, func(t *testing.T) {
			if c.chmod&0o200 == 0 && !conformance.AsUnprivileged(t) {
				return // root writes any file: checked as another user
			}
			path := seeded(t, t.TempDir())
			if err := os.Chmod(path, c.chmod); err != nil {
				t.Fatal(err)
			}
			before, _ := os.ReadFile(path)
			s, err := registry.Open(ctx, "bolt://"+path+c.params)
			if err != nil {
				t.Fatal(err)
			}
			defer s.Close()
			if n, err := s.Count(ctx); n != 1 || err != nil {
				t.Fatalf("Count = %d, %v; want 1", n, err)
			}
			if p, err := s.List(ctx, backend.Query{}); err != nil || len(p.Alerts) != 1 {
				t.Fatalf("List = %v, %v; want the one alert", p, err)
			}
			for name, err := range map[string]error{
				"Store": s.Store(ctx, backend.NewAlert()),
				"Clear": s.Clear(ctx),
				"Drop":  s.Drop(ctx),
			} {
				if !errors.Is(err, backend.ErrInvalidConfig) || !strings.Contains(err.Error(), "read-only") {
					t.Errorf("%s = %v, want ErrInvalidConfig saying read-only", name, err)
				}
			}
			if after, _ := os.ReadFile(path); string(after) != string(before) {
				t.Fatal("the read-only file was changed")
			}
		})
	}
}

// TestNoPermission: a file this user may not read is a configuration
// error saying so.
func TestNoPermission(t *testing.T) {
	if !conformance.AsUnprivileged(t) {
		return // root reads any file: checked as another user
	}
	path := seeded(t, t.TempDir())
	if err := os.Chmod(path, 0); err != nil {
		t.Fatal(err)
	}
	_, err := registry.Open(context.Background(), "bolt://"+path)
	if !errors.Is(err, backend.ErrInvalidConfig) || !strings.Contains(err.Error(), "permission denied") {
		t.Fatalf("Open = %v, want ErrInvalidConfig saying permission denied", err)
	}
}

// TestModeWarnings: a file or directory that group or others can read is
// reported (FileInfo.Warnings, which the command prints), once each; a
// private one is not.
func TestModeWarnings(t *testing.T) {
	for _, c := range []struct {
		name            string
		fileMode, dirMd os.FileMode
		want            []string
	}{
		{"private", 0o600, 0o700, nil},
		{"file-readable", 0o644, 0o700, []string{"mode 0644"}},
		{"dir-readable", 0o600, 0o755, []string{"directory of bolt file"}},
		{"both", 0o640, 0o750, []string{"mode 0640", "mode 0750"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			dir := filepath.Join(t.TempDir(), "data")
			if err := os.Mkdir(dir, 0o700); err != nil {
				t.Fatal(err)
			}
			path := seeded(t, dir)
			if err := os.Chmod(path, c.fileMode); err != nil {
				t.Fatal(err)
			}
			if err := os.Chmod(dir, c.dirMd); err != nil {
				t.Fatal(err)
			}
			s, err := registry.Open(context.Background(), "bolt://"+path)
			if err != nil {
				t.Fatal(err)
			}
			defer s.Close()
			var fi boltFileInfo
			if !s.As(&fi) {
				t.Fatal("As(*bolt.FileInfo) = false")
			}
			if len(fi.Warnings) != len(c.want) {
				t.Fatalf("warnings %q, want %d containing %q", fi.Warnings, len(c.want), c.want)
			}
			for i, w := range c.want {
				if !strings.Contains(fi.Warnings[i], w) {
					t.Errorf("warning %q lacks %q", fi.Warnings[i], w)
				}
			}
		})
	}
}
