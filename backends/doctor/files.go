package doctor

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/apt-detection/alertstore/backends/bolt"
)

// checkBolt checks the file of a bolt:// DSN: its mode and its
// directory's; then, if it is a regular file that is not empty, its
// namespace (namespaceChecks, with full, the DSN with its sign_key_file).
// A missing or empty file is left as it is.
func (r *Report) checkBolt(ctx context.Context, dsn, full, scope string) error {
	path, err := bolt.FilePath(dsn)
	if err != nil {
		return err
	}
	st, err := os.Lstat(path)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		r.add(scope, "file", Warn, fmt.Sprintf("%s does not exist yet (the first write creates it, mode 0600)", path), "")
		return nil
	case err != nil:
		r.add(scope, "file", Fail, fmt.Sprintf("cannot inspect %s: %v", path, err), "check the path and its permissions")
		return nil
	case st.Mode()&fs.ModeSymlink != 0:
		r.add(scope, "file", Warn, fmt.Sprintf("%s is a symbolic link: whoever can change the link decides where alerts go", path), "name the file itself in the DSN")
		return nil
	case !st.Mode().IsRegular():
		r.add(scope, "file", Fail, fmt.Sprintf("%s is not a regular file (%s)", path, st.Mode()), "name a database file")
		return nil
	}
	if perm := st.Mode().Perm(); perm&0o077 != 0 {
		r.add(scope, "file", Fail, fmt.Sprintf("%s has mode %04o: other users can read (or change) the alerts", path, perm),
			fmt.Sprintf("chmod 600 %s", path))
	} else {
		r.add(scope, "file", OK, fmt.Sprintf("%s has mode %04o", path, perm), "")
	}
	if dst, err := os.Stat(filepath.Dir(path)); err == nil && dst.Mode().Perm()&0o022 != 0 {
		r.add(scope, "file", Warn, fmt.Sprintf("the directory %s has mode %04o: other users can replace or delete the file", filepath.Dir(path), dst.Mode().Perm()),
			fmt.Sprintf("chmod go-w %s", filepath.Dir(path)))
	}
	if st.Size() == 0 {
		// Opening an empty file would make it a database: doctor writes nothing.
		r.add(scope, "namespace", OK, fmt.Sprintf("%s is empty: nothing stored yet", path), "")
		return nil
	}
	r.namespaceChecks(ctx, scope, full)
	return nil
}
