package main

import (
	"errors"
	"fmt"
	"net"
	"regexp"
	"strings"
	"syscall"

	"github.com/apt-detection/alertstore/backend"
)

// hintRule is one kind of failure: how to tell it, its exit code, and what
// to do about it. The backends keep the sentinel (ErrUnavailable,
// ErrSecurity, ErrInvalidConfig...) but give the cause as text (the
// clients' errors are not part of the library's contract), so a rule
// matches the sentinel and, where it must, words of the message.
type hintRule struct {
	name  string
	match func(err error, msg string) bool
	code  int
	// hint is what to do; it may use the error (hintFor), "" for none.
	hint    string
	hintFor func(err error, msg string) string
}

// is matches a sentinel and any of the words (all of the sentinel's
// failures when none is given).
func is(target error, words ...string) func(error, string) bool {
	return func(err error, msg string) bool {
		if !errors.Is(err, target) {
			return false
		}
		if len(words) == 0 {
			return true
		}
		low := strings.ToLower(msg)
		for _, w := range words {
			if strings.Contains(low, w) {
				return true
			}
		}
		return false
	}
}

// isReply matches a sentinel and a server reply's word, as the server
// writes it (upper case).
func isReply(target error, words ...string) func(error, string) bool {
	return func(err error, msg string) bool {
		if !errors.Is(err, target) {
			return false
		}
		for _, w := range words {
			if regexp.MustCompile(`\b` + w + `\b`).MatchString(msg) {
				return true
			}
		}
		return false
	}
}

// hintRules are tried in order; the first that matches decides. The
// specific kinds come before their sentinel's general rule.
var hintRules = []hintRule{
	{name: "usage", match: func(err error, _ string) bool { var ue *usageError; return errors.As(err, &ue) }, code: exitUsage},
	{name: "chain-degraded", match: is(errDegraded), code: exitDegraded,
		hint: "writes go to a lower tier and wait there; they move up when it answers (`alertstore replay`); see docs/guarantees.md"},
	{name: "backlog-left", match: is(errBacklogLeft), code: exitBacklogLeft,
		hint: "nothing is lost: the backlog stays in the lower tier; run `alertstore replay` again when the first tier answers, or with a longer --timeout"},

	// A bolt file: one writer at a time, a file on this host.
	{name: "bolt-locked", match: is(backend.ErrUnavailable, "locked by another process"), code: exitUnavailable, hintFor: lockedHint},
	{name: "bolt-read-only", match: is(backend.ErrInvalidConfig, "is open read-only"), code: exitUsage,
		hint: "the store was opened read-only (read_only=true, or the file is not writable by this user): list and count work; write as the store's owner"},
	{name: "bolt-missing", match: is(backend.ErrInvalidConfig, "does not exist (read_only"), code: exitUsage,
		hint: "read_only=true opens an existing file only: check the path, or create the store by writing to it once without read_only"},
	{name: "bolt-permission", match: is(backend.ErrInvalidConfig, "permission denied"), code: exitUsage,
		hint: "this user may not open the file or create it in its directory: check the owner and mode of both (ls -ld), run as the user that owns the store, or add read_only=true to read a file you cannot write"},
	{name: "bolt-damaged", match: is(backend.ErrInvalidConfig, "not a bolt database"), code: exitUsage,
		hint: "the file was not changed: move it aside and restore the store from a backup (docs/operations.md, \"Backup and restore\"), or start a new one"},
	{name: "bolt-not-a-file", match: is(backend.ErrInvalidConfig, "is a directory", "symbolic link", "not a regular file"), code: exitUsage,
		hint: "give the path of the database file itself (bolt:///var/lib/alertstore/alerts.db)"},
	{name: "bolt-path", match: is(backend.ErrInvalidConfig, "not a directory", "no such file or directory"), code: exitUsage,
		hint: "a part of the file's path is a file, not a directory, or cannot be made: check each directory on the path (ls -ld); alertstore makes missing directories itself (mode 0700)"},
	{name: "bolt-io", match: is(backend.ErrUnavailable, "bolt file", "committing to", "writing /", "reading /"), code: exitUnavailable,
		hint: "the file system refused or timed out: check free space (df), the disk and mount (dmesg), and the file's directory"},

	// A server: reach it, then talk to it.
	{name: "security-certificate", match: is(backend.ErrSecurity, "x509", "certificate"), code: exitSecurity,
		hint: "the server's certificate did not verify, or the server refused ours: give the CA that signed it (tls_ca=), the name it was issued for (tls_server_name=), or our certificate (tls_cert=, tls_key=); see docs/security.md; do not work around it with tls_insecure_skip_verify"},
	{name: "security-credentials", match: is(backend.ErrSecurity, "wrongpass", "noauth", "invalid username-password", "auth failed", "authentication"), code: exitSecurity,
		hint: "the server refused the credentials: check the user and password (password_file=, or $ALERTSTORE_DSN) against its ACL (ACL WHOAMI, ACL GETUSER); see docs/security.md"},
	{name: "security-rights", match: is(backend.ErrSecurity, "noperm"), code: exitSecurity,
		hint: "the ACL user lacks a right the store needs: grant the commands and keys listed in docs/security.md (the prefix's key pattern), or use the user made for alertstore"},
	{name: "security", match: is(backend.ErrSecurity), code: exitSecurity,
		hint: "a TLS or access check failed: check tls_ca, tls_server_name, tls_cert/tls_key and the ACL user (docs/security.md); do not work around it with tls_insecure_skip_verify"},
	{name: "not-tls", match: is(backend.ErrUnavailable, "does not look like a tls handshake", "server gave http response", "tls: first record"), code: exitUnavailable,
		hint: "the server does not speak TLS on that port: use redis:// (not rediss://) for it, or the port its tls-port listens on"},
	{name: "dns", match: func(err error, msg string) bool {
		var dnsErr *net.DNSError
		return errors.Is(err, backend.ErrUnavailable) && (errors.As(err, &dnsErr) || strings.Contains(msg, "no such host") || strings.Contains(msg, "server misbehaving"))
	}, code: exitUnavailable,
		hint: "the DSN's host name does not resolve: check its spelling, /etc/hosts and the resolver (getent hosts NAME), or give an address"},
	{name: "refused", match: func(err error, msg string) bool {
		return errors.Is(err, backend.ErrUnavailable) && (errors.Is(err, syscall.ECONNREFUSED) || strings.Contains(msg, "connection refused"))
	}, code: exitUnavailable,
		hint: "nothing listens at the DSN's address: is the server running (systemctl status redis-server, or valkey-server)? is the port the one it listens on (its port setting)?"},
	{name: "unix-socket", match: is(backend.ErrUnavailable, "dial unix"), code: exitUnavailable,
		hint: "the socket cannot be reached: is the server running with unixsocket set to that path, and may this user open it (unixsocketperm, the socket's group)?"},
	{name: "timeout", match: is(backend.ErrUnavailable, "i/o timeout", "deadline", "did not finish in time", "no answer within"), code: exitUnavailable,
		hint: "the server did not answer in time: it may be overloaded, frozen (a slow command, a fork for persistence) or behind a firewall that drops packets; try `alertstore ping`, or raise timeout= and dial_timeout= in the DSN"},
	{name: "server-busy", match: isReply(backend.ErrUnavailable, "LOADING", "BUSY", "MASTERDOWN", "READONLY", "OOM", "MISCONF"), code: exitUnavailable,
		hint: "the server answered but cannot take the call now (loading its data, out of memory, a read-only replica, persistence failing): see its log (redis-cli INFO, the server's log file) and docs/operations.md"},
	{name: "unavailable", match: is(backend.ErrUnavailable), code: exitUnavailable,
		hint: "is the server running and reachable? try `alertstore ping`, `redis-cli -h HOST -p PORT ping`; see docs/operations.md"},

	{name: "config", match: func(err error, _ string) bool {
		return errors.Is(err, backend.ErrInvalidConfig) || errors.Is(err, backend.ErrInvalidQuery)
	}, code: exitUsage, hint: "check the DSN and flags; `alertstore help` and docs/dsn.md list the forms"},
	{name: "input-some-stored", match: func(err error, _ string) bool {
		ss := (*storedSome)(nil)
		return errors.Is(err, backend.ErrInvalidAlert) && errors.As(err, &ss)
	}, code: exitInvalid},
	{name: "input", match: is(backend.ErrInvalidAlert), code: exitInvalid,
		hint: "nothing was stored; fix the input (an alert is a JSON object; severity is info|low|medium|high|critical)"},
	{name: "checks-failed", match: is(errChecksFailed), code: exitFailed},
}

// diagnose maps an error to its exit code and a hint that fits it.
func diagnose(err error) (code int, hint string) {
	msg := err.Error()
	for _, r := range hintRules {
		if r.match(err, msg) {
			if r.hintFor != nil {
				return r.code, r.hintFor(err, msg)
			}
			return r.code, r.hint
		}
	}
	return exitFailed, ""
}

// lockedPath finds the file in the bolt backend's lock message.
var lockedPath = regexp.MustCompile(`bolt file (.+?): file locked by another process`)

// lockedHint says who holds a bolt file's lock, when the system tells
// (lockHolder), and what to do: a bolt file has one writer at a time.
func lockedHint(_ error, msg string) string {
	who := "another process"
	if m := lockedPath.FindStringSubmatch(msg); m != nil {
		if pid, class := lockHolder(m[1]); pid > 0 {
			who = fmt.Sprintf("process %d (%s)", pid, class)
		}
	}
	return who + " holds the file: a bolt file takes one process at a time. " +
		"Wait for it (lock_timeout=30s in the DSN waits up to 30 s), stop it, " +
		"or give several writers one `alertstore serve` or a Redis server instead of a shared file (docs/operations.md)"
}
