package bolt

import (
	"net/url"
	"path/filepath"
	"strings"

	"github.com/apt-detection/alertstore/registry"
)

// FilePath returns the file a bolt:// DSN names, checking the DSN as Open
// does, without opening or touching the file (`alertstore doctor` checks
// the file's mode with it).
func FilePath(dsn string) (string, error) {
	d, err := registry.ParseDSN(dsn)
	if err != nil {
		return "", err
	}
	if _, err := d.Common(); err != nil {
		return "", err
	}
	path, _, err := parseDSN(d)
	return path, err
}

// DSNFor returns the bolt DSN of the file at path, made absolute, with
// every character the DSN parser would read as something else escaped: '?'
// and '#' (the query and fragment), '%' (an escape), and '&' and '=',
// which a bolt path may not hold raw (a parameter written without its '?'
// must not be taken for part of a file name). ALERTSTORE_DATA_DIR and
// t.TempDir() (a subtest named "seed=1") can hold any of them.
func DSNFor(path string) string {
	if abs, err := filepath.Abs(path); err == nil {
		path = abs
	}
	u := url.URL{Scheme: Scheme, Path: filepath.ToSlash(path)}
	return strings.NewReplacer("&", "%26", "=", "%3D").Replace(u.String())
}
