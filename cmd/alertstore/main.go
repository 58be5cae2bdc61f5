package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"syscall"

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

// cliEnv carries the streams, so that tests run commands in-process, and
// what every command shares.
type cliEnv struct {
	stdin          io.Reader
	stdout, stderr io.Writer
	opened         []*backend.Store // by openStore, for reportDrops

	globals       globalFlags // the flags every command takes (root.go)
	show          display     // how alerts are shown (display.go)
	name          string      // the running command's name, for the prefix
	ran           bool        // the command line was accepted and the command ran
	degradedSeen  bool        // a call found the chain degraded (chainNotices)
	replaysItself bool        // the replay command: no replay at close
}

// report prints err once, after the one prefix every line of the command
// has (prefix), with a hint that fits it (hint.go), and maps it to an exit
// code.
func report(env *cliEnv, err error) int {
	if err == nil {
		return exitOK
	}
	if errors.Is(err, errNoCommand) {
		return exitUsage // the usage was printed
	}
	code, hint := diagnose(err)
	msg := message(err)
	if code == exitSecurity {
		msg = "SECURITY: " + msg
	}
	fmt.Fprintf(env.stderr, "%s%s\n", env.prefix(), msg)
	if hint != "" {
		fmt.Fprintf(env.stderr, "hint: %s\n", hint)
	}
	return code
}

// prefix starts every line the command writes to stderr of its own:
// "alertstore put: ", or "alertstore: " before a command is known.
func (env *cliEnv) prefix() string {
	if env.name == "" {
		return "alertstore: "
	}
	return "alertstore " + env.name + ": "
}

// warnf prints a warning on stderr, after the prefix.
func (env *cliEnv) warnf(format string, args ...any) {
	fmt.Fprintf(env.stderr, "%swarning: %s\n", env.prefix(), fmt.Sprintf(format, args...))
}

// notef prints a line of progress or information on stderr, after the
// prefix.
func (env *cliEnv) notef(format string, args ...any) {
	fmt.Fprintf(env.stderr, "%s%s\n", env.prefix(), fmt.Sprintf(format, args...))
}

// message is err's text without the library's own "alertstore: " prefixes,
// which would repeat the command's.
func message(err error) string {
	return strings.ReplaceAll(err.Error(), "alertstore: ", "")
}
