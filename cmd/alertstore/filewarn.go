package main

import (
	"errors"

	"github.com/apt-detection/alertstore/backend"
	"github.com/apt-detection/alertstore/backends/bolt"
)

// warnFile prints, once per command, what the bolt backend found unsafe
// about the file it opened (a mode that lets group or others read it).
// The backend also logs it with log/slog, which the command discards.
func warnFile(env *cliEnv, s *backend.Store) {
	var fi bolt.FileInfo
	if !s.As(&fi) {
		return
	}
	for _, w := range fi.Warnings {
		env.warnf("%s", message(errors.New(w)))
	}
}
