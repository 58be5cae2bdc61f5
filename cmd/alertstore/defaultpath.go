package main

import (
	"net/url"
	"path/filepath"
)

// fileDSN turns a file path into a bolt DSN that names exactly that path:
// the path is escaped, so that '%', '?', '#' and spaces in a directory
// name ($ALERTSTORE_DATA_DIR='/tmp/a%41b?c#d') stay part of the path
// instead of becoming an escape, the query or a fragment.
func fileDSN(path string) string {
	if abs, err := filepath.Abs(path); err == nil {
		path = abs
	}
	u := url.URL{Scheme: "bolt", Path: filepath.ToSlash(path)}
	return u.String()
}
