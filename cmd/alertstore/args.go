package main

import (
	"flag"
	"fmt"
	"strings"
)

// maxArgs is how many positional arguments each command takes; a command
// not listed takes none. Go's flag package stops at the first argument
// that is not a flag, so `alertstore clear --yes redis://...` left the DSN
// unread and cleared the default store: every command refuses what it
// does not read.
var maxArgs = map[string]int{"put": 1, "export": 1, "import": 1, "backup": 1}

// checkArgs refuses positional arguments fs's command does not take,
// before the command opens anything, and never echoes one: an argument
// that looks like a DSN (looksLikeDSN) gets the hint to use --dsn, with
// the DSN not shown (its password may sit anywhere in a malformed one);
// a flag after an argument
// (which the flag package left unread) gets the hint that flags come
// first.
func checkArgs(fs *flag.FlagSet) error {
	rest := fs.Args()
	var dsnArg, flagArg string
	for _, a := range rest {
		if dsnArg == "" && looksLikeDSN(a) {
			dsnArg = a
		}
		if flagArg == "" && strings.HasPrefix(a, "-") && a != "-" {
			flagArg = a
		}
	}
	limit := maxArgs[fs.Name()]
	if dsnArg == "" && flagArg == "" && len(rest) <= limit {
		return nil
	}
	var msg []string
	switch {
	case limit == 0:
		msg = append(msg, fmt.Sprintf("%s takes no arguments, got %d", fs.Name(), len(rest)))
	case len(rest) > limit:
		msg = append(msg, fmt.Sprintf("%s takes at most %d argument(s), got %d", fs.Name(), limit, len(rest)))
	}
	if flagArg != "" {
		msg = append(msg, fmt.Sprintf("flags go before arguments (%s came after one and was not read)", strings.SplitN(flagArg, "=", 2)[0]))
	}
	if dsnArg != "" {
		msg = append(msg, fmt.Sprintf("an argument looks like a DSN (not shown): use --dsn DSN, or better $%s (an argument shows in ps)", envDSN))
	}
	return usagef("%s; nothing was done", strings.Join(msg, "; "))
}
