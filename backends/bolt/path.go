package bolt

import "github.com/apt-detection/alertstore/registry"

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
