package redislist

import "strings"

// transientReplies are the error-reply codes that mean "the server cannot
// do this now" rather than "this is wrong": the backends report them as
// ErrUnavailable, so that callers (and a chain of backends) treat them like
// a server that is down.
var transientReplies = []string{
	"LOADING",     // loading the dataset after a restart
	"BUSY",        // a script or module command is running
	"MASTERDOWN",  // replica lost its master
	"READONLY",    // a replica, e.g. after a failover
	"TRYAGAIN",    // cluster resharding
	"CLUSTERDOWN", // cluster not serving
	"NOREPLICAS",  // min-replicas-to-write not met
	"OOM",         // maxmemory reached with noeviction
	"MISCONF",     // writes refused after a failed RDB save
	"MOVED",       // a cluster slot moved: nothing ran; a client refreshes its map
	"ASK",         // a cluster slot in migration: nothing ran
}

// Transient reports whether an error reply ("LOADING Redis is loading the
// dataset in memory") is one of the "not now" kinds.
func Transient(reply string) bool {
	code, _, _ := strings.Cut(reply, " ")
	for _, t := range transientReplies {
		if code == t {
			return true
		}
	}
	return false
}

// UnknownCommand reports whether an error reply says the server does not
// have the command ("ERR unknown command 'evalsha_ro', ..."): an older
// server, for which the backends fall back to an older command.
func UnknownCommand(reply string) bool {
	return strings.Contains(reply, "unknown command")
}

// Redirect reports whether an error reply is a cluster redirection
// ("MOVED 3999 127.0.0.1:6381", "ASK 3999 127.0.0.1:6381") and returns its
// kind and target. The cluster clients follow redirections themselves;
// one that reaches a backend (a pinned connection, a dedicated one) meant
// that nothing was applied there.
func Redirect(reply string) (kind, addr string, ok bool) {
	f := strings.Fields(reply)
	if len(f) != 3 || (f[0] != "MOVED" && f[0] != "ASK") {
		return "", "", false
	}
	return f[0], f[2], true
}
