package dirstore

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	"github.com/apt-detection/alertstore/backend"
)

// The names in a prefix directory; see the package doc's Layout section.
const (
	lockName   = ".lock"
	seqName    = "seq"
	tmpPrefix  = ".tmp-"
	entryExt   = ".json"
	entryWidth = 20 // digits of a position: the longest int64 has 19
)

// entryName is the file name of the entry at pos.
func entryName(pos int64) string { return fmt.Sprintf("%0*d%s", entryWidth, pos, entryExt) }

// parseEntryName returns the position an entry file name encodes, and
// false for every other name (seq, .lock, temp files, anything a person
// left there), so that foreign files are ignored rather than misread.
func parseEntryName(name string) (int64, bool) {
	digits, ok := strings.CutSuffix(name, entryExt)
	if !ok || len(digits) != entryWidth {
		return 0, false
	}
	for i := 0; i < len(digits); i++ {
		if digits[i] < '0' || digits[i] > '9' {
			return 0, false
		}
	}
	pos, err := strconv.ParseInt(digits, 10, 64)
	if err != nil || pos <= 0 {
		return 0, false
	}
	return pos, true
}

// state is what one read of a prefix directory says about its store.
type state struct {
	// committed are the positions of the stored entries, ascending.
	committed []int64
	// leftovers are files of an Append that did not finish (entry files
	// at or beyond next, temp files): invisible to readers, removed by
	// the next writer.
	leftovers []string
	// next is the position the next appended entry gets.
	next int64
	// hasSeq is false when the seq file is missing (a new directory, or
	// one whose seq file was deleted by hand).
	hasSeq bool
}

// readState lists the prefix directory and reads its seq file. Callers
// hold the directory's lock. Only names are read: no file is opened or
// stat'ed, which keeps a read of a thousand-entry store cheap.
func readState(ctx context.Context, dir string) (state, error) {
	var st state
	seq, hasSeq, err := readSeq(dir)
	if err != nil {
		return st, err
	}
	if err := ctx.Err(); err != nil {
		return st, err
	}
	f, err := os.Open(dir)
	if err != nil {
		return st, ioError("listing the store", err)
	}
	names, err := f.Readdirnames(-1)
	_ = f.Close() // opened for reading a directory: nothing to flush
	if err != nil {
		return st, ioError("listing the store", err)
	}
	var all []int64
	for _, n := range names {
		if pos, ok := parseEntryName(n); ok {
			all = append(all, pos)
		} else if strings.HasPrefix(n, tmpPrefix) {
			st.leftovers = append(st.leftovers, n)
		}
	}
	slices.Sort(all)
	st.hasSeq = hasSeq
	if !hasSeq {
		// Without a commit point every entry file counts as committed:
		// nothing this driver writes gets there without a seq file, so
		// they were put there by hand and are meant to be seen.
		st.committed = all
		st.next = 1
		if len(all) > 0 {
			st.next = all[len(all)-1] + 1
		}
		return st, nil
	}
	st.next = seq
	cut, _ := slices.BinarySearch(all, seq)
	st.committed = all[:cut]
	for _, pos := range all[cut:] {
		st.leftovers = append(st.leftovers, entryName(pos))
	}
	return st, nil
}

// readSeq reads the seq file: the next position, and whether the file
// exists.
func readSeq(dir string) (int64, bool, error) {
	b, err := os.ReadFile(filepath.Join(dir, seqName))
	if errors.Is(err, fs.ErrNotExist) {
		return 0, false, nil
	}
	if err != nil {
		return 0, false, ioError("reading the seq file", err)
	}
	n, err := strconv.ParseInt(string(bytes.TrimSpace(b)), 10, 64)
	if err != nil || n <= 0 {
		// The file is only ever replaced whole, so this is damage from
		// outside. Guessing would risk reusing positions: refuse.
		return 0, false, fmt.Errorf("%w: %s holds %.40q, not a position; restore it or delete it to recompute it from the alert files", backend.ErrUnavailable, filepath.Join(dir, seqName), b)
	}
	return n, true, nil
}

// writeSeq makes next the position of the next entry: the commit point of
// an Append. With sync, it is on disk when writeSeq returns.
func writeSeq(dir string, next int64, sync bool) error {
	if err := writeFileAtomic(dir, seqName, []byte(strconv.FormatInt(next, 10)+"\n"), sync); err != nil {
		return err
	}
	if sync {
		return syncDir(dir)
	}
	return nil
}

// writeFileAtomic writes data to dir/name through a temp file and a rename,
// so that a reader, or the directory after a crash, holds the old file or
// the new one, never a part of it. With sync the content is fsync'd before
// the rename; the rename itself is durable only after syncDir.
func writeFileAtomic(dir, name string, data []byte, sync bool) error {
	f, err := os.CreateTemp(dir, tmpPrefix+"*")
	if err != nil {
		return ioError("writing "+name, err)
	}
	tmp := f.Name()
	_, err = f.Write(data)
	if err == nil && sync {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp, filepath.Join(dir, name))
	}
	if err != nil {
		_ = os.Remove(tmp)
		return ioError("writing "+name, err)
	}
	return nil
}

// syncDir fsyncs a directory, which is what makes the renames and removals
// in it survive a crash of the machine.
func syncDir(dir string) error {
	f, err := os.Open(dir)
	if err != nil {
		return ioError("syncing the directory", err)
	}
	err = f.Sync()
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return ioError("syncing the directory", err)
	}
	return nil
}

// removeFiles removes names from dir, ignoring ones already gone.
func removeFiles(dir string, names []string) error {
	for _, n := range names {
		if err := os.Remove(filepath.Join(dir, n)); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return ioError("removing "+n, err)
		}
	}
	return nil
}

// ioError reports a failed file operation as ErrUnavailable: the disk did
// not do what was asked (full, read-only, gone), so the call failed and a
// later one may succeed. os errors already name the path.
func ioError(what string, err error) error {
	return fmt.Errorf("%w: %s: %w", backend.ErrUnavailable, what, err)
}
