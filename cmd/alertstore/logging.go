package main

import "github.com/apt-detection/alertstore/backends/goredis"

// The command reports every backend error once, with a hint; go-redis's
// own copy of a dial failure would show it two or three times.
func init() { goredis.DiscardClientLog() }
