package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/apt-detection/alertstore/backend"
	_ "github.com/apt-detection/alertstore/backends/all"
)

// Exit codes.
const (
	exitOK          = 0
	exitFailed      = 1
	exitUsage       = 2
	exitUnavailable = 3
	exitInvalid     = 4
	exitSecurity    = 5
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Stdin, os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

// usageError marks errors that are the caller's to fix (exit 2).
type usageError struct{ msg string }

func (e *usageError) Error() string { return e.msg }

func usagef(format string, args ...any) error {
	return &usageError{msg: fmt.Sprintf(format, args...)}
}

type command struct {
	name    string
	summary string
	run     func(ctx context.Context, env *cliEnv, args []string) error
}

func commands() []command {
	return []command{
		{"serve", "serve the store over HTTP: the API, the live dashboard, metrics (the main command; prints the URL)", cmdServe},
		{"demo", "store realistic sample alerts in a scratch namespace, then count, list and print them", cmdDemo},
		{"put", "store one alert (flags or a JSON argument) or NDJSON from stdin (put -)", cmdPut},
		{"list", "list alerts newest first, filtered (--json for NDJSON)", cmdList},
		{"watch", "print new alerts as they arrive, filtered like list, until Ctrl-C (--since-id: resume without gaps)", cmdWatch},
		{"count", "print the number of stored entries", cmdCount},
		{"clear", "delete every alert of the namespace (needs --yes)", cmdClear},
		{"cap", "show the namespace's recorded cap, or change it (cap set N --yes)", cmdCap},
		{"ping", "check that the backend answers", cmdPing},
		{"status", "backend, health, count, capabilities, and a chain's tiers and replay (exit 6: chain degraded)", cmdStatus},
		{"replay", "drain a chain's backlog into its first tier now, with progress (exit 7: backlog left)", cmdReplay},
		{"backends", "list the registered DSN schemes", cmdBackends},
		{"doctor", "check the deployment for what is unsafe (TLS, ACL, eviction, persistence, version...) and say how to fix it", cmdDoctor},
		{"selftest", "run the conformance checks against the DSN in a scratch namespace", cmdSelftest},
	}
}

// cliEnv carries the streams, so that tests run commands in-process.
type cliEnv struct {
	stdin          io.Reader
	stdout, stderr io.Writer
	opened         []*backend.Store // by openStore, for reportDrops

	// Set by the flags every command has (newFlags).
	logFormat, logLevel string
	replayBudget        time.Duration
	degradedSeen        bool // a call found the chain degraded (chainNotices)
	replaysItself       bool // the replay command: no replay at close
}

func run(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	// One writer for every goroutine that reports (put -'s reader and its
	// writer, the chain's notices).
	stderr = &lockedWriter{w: stderr}
	env := &cliEnv{stdin: stdin, stdout: stdout, stderr: stderr}
	defer cmdLog.start(stderr)()
	ctx = withWarnings(ctx, stderr)
	if len(args) == 0 || args[0] == "help" || args[0] == "-h" || args[0] == "--help" {
		printUsage(stdout)
		if len(args) == 0 {
			return exitUsage
		}
		return exitOK
	}
	for _, c := range commands() {
		if c.name == args[0] {
			err := c.run(ctx, env, args[1:])
			reportDrops(env)
			return report(stderr, c.name, err)
		}
	}
	fmt.Fprintf(stderr, "alertstore: unknown command %s; run `alertstore help` for the list\n", commandName(args[0]))
	return exitUsage
}

func printUsage(w io.Writer) {
	fmt.Fprintf(w, "usage: alertstore <command> [--dsn DSN] [flags]\n\ncommands:\n")
	for _, c := range commands() {
		fmt.Fprintf(w, "  %-9s %s\n", c.name, c.summary)
	}
	fmt.Fprintf(w, `
The DSN comes from --dsn, else $%s, else the embedded default:
  %s
Examples: mem://, redis://localhost:6379/0, valkey://:password@host:6379,
bolt:///var/lib/alertstore/alerts.db. See docs/dsn.md.
A password in --dsn shows in ps: prefer $%[1]s, or password_file=.

Exit codes: 0 ok, 1 failed, 2 usage or config error, 3 backend unavailable,
4 invalid alert input (put - streaming: the invalid lines stderr names were
rejected, the others stored; put --atomic -: nothing stored, except with
--skip-invalid and the lines stderr names as stored), 5 security check failed (TLS
certificate, credentials or permissions refused; see docs/security.md),
6 a chain is degraded (status: its first tier is down), 7 a chain's
backlog is left (replay could not drain it).
Run "alertstore <command> -h" for a command's flags.
`, envDSN, defaultDSNDescription())
}

// report prints err with a hint and maps it to an exit code.
func report(w io.Writer, cmd string, err error) int {
	if err == nil {
		return exitOK
	}
	var ue *usageError
	switch {
	case errors.As(err, &ue):
		fmt.Fprintf(w, "alertstore %s: %v\n", cmd, err)
		return exitUsage
	case errors.Is(err, errHelp):
		return exitOK
	case errors.Is(err, errDegraded):
		fmt.Fprintf(w, "alertstore %s: %v\n", cmd, err)
		fmt.Fprintf(w, "hint: writes go to a lower tier and wait there; they move up when it answers (`alertstore replay`); see docs/guarantees.md\n")
		return exitDegraded
	case errors.Is(err, errBacklogLeft):
		fmt.Fprintf(w, "alertstore %s: %v\n", cmd, err)
		fmt.Fprintf(w, "hint: nothing is lost: the backlog stays in the lower tier; run `alertstore replay` again when the first tier answers, or with a longer --timeout\n")
		return exitBacklogLeft
	case errors.Is(err, backend.ErrInvalidConfig), errors.Is(err, backend.ErrInvalidQuery):
		fmt.Fprintf(w, "alertstore %s: %v\n", cmd, err)
		fmt.Fprintf(w, "hint: check the DSN and flags; `alertstore help` and docs/dsn.md list the forms\n")
		return exitUsage
	case errors.Is(err, backend.ErrInvalidAlert):
		fmt.Fprintf(w, "alertstore %s: %v\n", cmd, err)
		if ss := (*storedSome)(nil); !errors.As(err, &ss) {
			fmt.Fprintf(w, "hint: nothing was stored; fix the input (an alert is a JSON object; severity is info|low|medium|high|critical)\n")
		}
		return exitInvalid
	case errors.Is(err, backend.ErrSecurity):
		// Before ErrUnavailable: a certificate that does not verify is
		// not an outage, and waiting for the server will not cure it.
		fmt.Fprintf(w, "alertstore %s: SECURITY: %v\n", cmd, err)
		fmt.Fprintf(w, "hint: the server's certificate did not verify, the server refused our certificate, or it refused the credentials or rights: check tls_ca, tls_server_name, tls_cert/tls_key and the ACL user (docs/security.md); do not work around it with tls_insecure_skip_verify\n")
		return exitSecurity
	case errors.Is(err, backend.ErrUnavailable):
		fmt.Fprintf(w, "alertstore %s: %v\n", cmd, err)
		fmt.Fprintf(w, "hint: is the server running and reachable? try `alertstore ping`, `redis-cli -h HOST -p PORT ping`; see docs/operations.md\n")
		return exitUnavailable
	case errors.Is(err, errChecksFailed):
		fmt.Fprintf(w, "alertstore %s: %v\n", cmd, err)
		return exitFailed
	}
	fmt.Fprintf(w, "alertstore %s: %v\n", cmd, err)
	return exitFailed
}
