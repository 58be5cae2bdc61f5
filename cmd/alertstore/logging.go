package main

import (
	"log/slog"

	"github.com/apt-detection/alertstore/backends/goredis"
)

// The command reports every backend error once, with a hint: go-redis's
// own copy of a dial failure would show it two or three times. The chain
// logs through log/slog, one record per event (a record per dropped alert,
// say); the command reports what matters of it once, itself (a failed
// call's error, reportDrops), for the same reason. The one kind of record
// it prints is a backend's security warning (security.go).
func init() {
	goredis.DiscardClientLog()
	slog.SetDefault(slog.New(cmdLog))
}
