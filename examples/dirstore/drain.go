package dirstore

import (
	"context"
	"os"
	"path/filepath"
	"slices"

	"github.com/apt-detection/alertstore/backend"
)

// The driver declares the drain capability (backend.Drainer), so a dir://
// store can be the crash-safe lower tier of a chain: the chain copies its
// oldest entries up and removes them only once the tier above has them.

var _ backend.Drainer = (*driver)(nil)

// Oldest implements backend.Drainer: the committed entries after position
// after, oldest first, reading only the files it returns.
func (d *driver) Oldest(ctx context.Context, after int64, limit int) ([]backend.Entry, error) {
	st, unlock, err := d.readLocked(ctx, "oldest", limit)
	if err != nil {
		return nil, err
	}
	defer unlock()
	start, found := slices.BinarySearch(st.committed, after)
	if found {
		start++
	}
	out := make([]backend.Entry, 0, min(limit, len(st.committed)-start))
	for _, pos := range st.committed[start:] {
		if len(out) == limit {
			break
		}
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		data, err := os.ReadFile(filepath.Join(d.dir, entryName(pos)))
		if err != nil {
			return nil, ioError("reading alert "+entryName(pos), err)
		}
		out = append(out, backend.Entry{Pos: pos, Data: data})
	}
	return out, nil
}

// Remove implements backend.Drainer: it deletes the committed entries at
// or below upTo under the exclusive lock, and with fsync on, syncs the
// directory before it returns. seq is untouched, so positions keep
// growing.
func (d *driver) Remove(ctx context.Context, upTo int64) error {
	if err := d.check(ctx); err != nil {
		return err
	}
	unlock, err := d.lock(ctx, true)
	if err != nil {
		return err
	}
	defer unlock()
	st, err := readState(ctx, d.dir)
	if err != nil {
		return err
	}
	var names []string
	for _, pos := range st.committed {
		if pos > upTo {
			break
		}
		names = append(names, entryName(pos))
	}
	if len(names) == 0 {
		return nil
	}
	if err := removeFiles(d.dir, names); err != nil {
		return err
	}
	if d.sync {
		return syncDir(d.dir)
	}
	return nil
}
