package main

import "github.com/apt-detection/alertstore/backends/bolt"

// fileDSN turns a file path into a bolt DSN that names exactly that path:
// the path is escaped, so that '%', '?', '#' and spaces in a directory
// name ($ALERTSTORE_DATA_DIR='/tmp/a%41b?c#d') stay part of the path
// instead of becoming an escape, the query or a fragment.
func fileDSN(path string) string { return bolt.DSNFor(path) }
