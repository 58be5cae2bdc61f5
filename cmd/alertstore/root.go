package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
)

// The command line is github.com/spf13/cobra: one newXCmd(env) per command
// (commands.go and the files it names), added in one place (addCommands),
// over a root that holds the flags every command shares (globalFlags).
// run builds the tree afresh for each call, so that tests run the command
// in-process, concurrently, with their own streams.
//
// A command, in its own file:
//
//	func newFooCmd(env *cliEnv) *cobra.Command {
//		var o fooOptions                      // its own flags
//		var out *outputFlag                   // a read command: -o
//		cmd := &cobra.Command{
//			Use:   "foo",
//			Short: "what it does, lower case, no period",
//			Args:  maxArgs(0),                // refuses stray and DSN-looking arguments
//			RunE:  func(cmd *cobra.Command, args []string) error { return cmdFoo(cmd.Context(), env, &o, out) },
//		}
//		cmd.Flags().IntVar(&o.n, "n", 10, "...")
//		out = addOutputFlag(cmd, formatTable, formatJSON, formatNDJSON, formatCSV)
//		return cmd
//	}
//
// cmdFoo opens the store with env.openStore(ctx, env.globals.dsn) and
// closes it with defer closeInto(&err, s); it prints data on env.stdout,
// notes with env.notef and warnings with env.warnf (they carry the one
// prefix), alerts through printAlerts or rowPrinter (env.show: zone,
// colour), and returns errors unprinted: run prints each once, with its
// hint and exit code (report, hint.go). usagef makes a usage error (exit 2).
// Then add newFooCmd(env) to addCommands. A command sets no
// PersistentPreRun of its own: cobra would run it instead of the root's,
// which checks the shared flags and names the command for the prefix.

// addCommands is the one place that lists the commands, in the order help
// shows them.
func addCommands(root *cobra.Command, env *cliEnv) {
	root.AddCommand(
		newServeCmd(env),
		newDemoCmd(env),
		newPutCmd(env),
		newListCmd(env),
		newWatchCmd(env),
		newCountCmd(env),
		newClearCmd(env),
		newCapCmd(env),
		newPingCmd(env),
		newStatusCmd(env),
		newReplayCmd(env),
		newBackendsCmd(env),
		newDoctorCmd(env),
		newSelftestCmd(env),
		newVersionCmd(env),
	)
	root.SetHelpCommand(newHelpCmd(env))
	// cobra's `completion bash|zsh|fish|powershell`, in our words.
	root.InitDefaultCompletionCmd()
	if c, _, err := root.Find([]string{"completion"}); err == nil && c != root {
		c.Short = "print the shell completion script: bash, zsh, fish or powershell"
		c.Args = cobra.ArbitraryArgs
		c.RunE = func(cmd *cobra.Command, args []string) error {
			if len(args) == 0 {
				printHelp(cmd)
				return errNoCommand
			}
			return usagef("unknown shell %s: want bash, zsh, fish or powershell", commandName(args[0]))
		}
	}
}

// errNoCommand: alertstore run without a command prints the usage and
// exits 2, with no message of its own.
var errNoCommand = errors.New("no command")

func run(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	// One writer for every goroutine that reports (put -'s reader and its
	// writer, the chain's notices).
	stderr = &lockedWriter{w: stderr}
	env := &cliEnv{stdin: stdin, stdout: stdout, stderr: stderr}
	defer cmdLog.start(env)()
	ctx = withWarnings(ctx, env)
	root := newRootCmd(env)
	if args == nil {
		args = []string{} // cobra reads os.Args when given nil
	}
	root.SetArgs(args)
	cmd, err := root.ExecuteContextC(ctx)
	if env.name == "" && cmd != nil && cmd != root {
		env.name = cmd.Name() // refused before it ran: named all the same
	}
	reportDrops(env)
	if err != nil && !env.ran {
		// cobra's own: a flag or an argument refused before the command
		// ran. Its words may quote what was typed: scrubbed.
		err = commandLineError(err)
	}
	return report(env, err)
}

// newRootCmd is the alertstore command: the shared flags, help, version
// and completion, and the commands of addCommands.
func newRootCmd(env *cliEnv) *cobra.Command {
	root := &cobra.Command{
		Use:   "alertstore <command>",
		Short: "store, list and check APT detection alerts in any backend chosen by DSN",
		Long: "alertstore stores, lists and checks APT detection alerts in any registered\n" +
			"backend, chosen by DSN (Redis, Valkey, Sentinel, a bolt file, memory, a chain).",
		Version: versionString(),
		// The root runs only for what is not a command: nothing (usage,
		// exit 2) or a typo (a suggestion).
		Args: cobra.ArbitraryArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if len(args) == 0 {
				printHelp(cmd)
				return errNoCommand
			}
			return unknownCommand(cmd, args[0])
		},
		PersistentPreRunE: func(cmd *cobra.Command, _ []string) error {
			env.ran = true
			env.name = cmd.Name()
			if !cmd.HasParent() {
				env.name = ""
			}
			return env.globals.check(env, cmd.Flags())
		},
		SilenceErrors:              true,
		SilenceUsage:               true,
		SuggestionsMinimumDistance: 2,
		// `completion bash|zsh|fish|powershell` is cobra's; it is listed.
		CompletionOptions: cobra.CompletionOptions{HiddenDefaultCmd: false},
	}
	// Before the commands: cobra's completion command takes its writer
	// when it is made.
	root.SetIn(env.stdin)
	root.SetOut(env.stdout)
	root.SetErr(env.stderr)
	root.SetVersionTemplate("{{.Version}}")
	root.SetHelpFunc(func(cmd *cobra.Command, _ []string) { printHelp(cmd) })
	root.SetFlagErrorFunc(func(_ *cobra.Command, err error) error { return commandLineError(err) })
	env.globals.add(root.PersistentFlags(), env)
	addCommands(root, env)
	registerCompletions(root)
	return root
}

// globalFlags are the flags every command takes, anywhere on the line
// (alertstore --dsn X count, alertstore count --dsn X).
type globalFlags struct {
	dsn                 string
	logLevel, logFormat string
	replayBudget        time.Duration
	budgetErr           error // a bad $ALERTSTORE_REPLAY_BUDGET, refused at open
	display             displayFlags
}

func (g *globalFlags) add(fs *pflag.FlagSet, env *cliEnv) {
	fs.StringVar(&g.dsn, "dsn", "", "data source name (default $"+envDSN+", else the embedded store)")
	fs.StringVar(&g.logLevel, "log-level", "off", "log the backends' records on stderr at this level: off, debug, info, warn, error")
	fs.StringVar(&g.logFormat, "log-format", "text", "with --log-level: text or json")
	budget, err := time.ParseDuration(replayBudgetDefault())
	if err != nil || budget < 0 {
		g.budgetErr = usagef("$%s: want a duration such as 3s, or 0", envReplayBudget)
	}
	g.replayBudget = budget
	fs.Func("replay-budget", "replay a chain's backlog for at most this `duration` before exiting; 0: not at all (default $"+envReplayBudget+", else "+defaultReplayBudget.String()+")", func(v string) error {
		d, err := time.ParseDuration(v)
		if err != nil || d < 0 {
			return errors.New("want a duration such as 3s, or 0")
		}
		g.replayBudget, g.budgetErr = d, nil
		return nil
	})
	g.display.add(fs)
}

// check refuses values of the shared flags that no command can use, and
// settles how alerts are shown; it runs before every command.
func (g *globalFlags) check(env *cliEnv, fs *pflag.FlagSet) error {
	if _, err := env.logHandler(); err != nil {
		return err
	}
	var err error
	env.show, err = g.display.resolve(fs, env.stdout)
	return err
}

// printHelp prints a command's help on stdout: what it does, its usage and
// flags, and for alertstore itself where the DSN comes from and the exit
// codes. It writes nothing else anywhere: no store is opened, no directory
// made.
func printHelp(cmd *cobra.Command) {
	w := cmd.OutOrStdout()
	text := cmd.Long
	if text == "" {
		text = cmd.Short
	}
	fmt.Fprintf(w, "%s\n\n%s\n", strings.TrimRight(text, "\n"), strings.TrimRight(cmd.UsageString(), "\n"))
	if !cmd.HasParent() {
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
`, envDSN, defaultDSNDescription())
	}
}

// newHelpCmd is `help [command]`: cobra's own echoes an unknown topic as
// typed, which may be a DSN.
func newHelpCmd(env *cliEnv) *cobra.Command {
	return &cobra.Command{
		Use:   "help [command]",
		Short: "show the help of alertstore or of one command",
		Args:  cobra.ArbitraryArgs,
		ValidArgsFunction: func(cmd *cobra.Command, args []string, _ string) ([]cobra.Completion, cobra.ShellCompDirective) {
			if len(args) > 0 {
				return nil, cobra.ShellCompDirectiveNoFileComp
			}
			var names []cobra.Completion
			for _, c := range cmd.Root().Commands() {
				if c.IsAvailableCommand() {
					names = append(names, cobra.CompletionWithDesc(c.Name(), c.Short))
				}
			}
			return names, cobra.ShellCompDirectiveNoFileComp
		},
		RunE: func(cmd *cobra.Command, args []string) error {
			root := cmd.Root()
			target, rest, err := root.Find(args)
			if err != nil || len(rest) > 0 || (target == root && len(args) > 0) {
				typed := args[0]
				if target != root && len(rest) > 0 {
					typed = rest[0]
				}
				return unknownCommand(root, typed)
			}
			printHelp(target)
			return nil
		},
	}
}

// unknownCommand refuses a word that is no command, echoing it only when it
// could be a command's name (it may be a DSN), with the commands it is
// closest to.
func unknownCommand(root *cobra.Command, typed string) error {
	msg := "unknown command " + commandName(typed)
	if sug := root.SuggestionsFor(typed); len(sug) > 0 && commandName(typed) != "(not shown)" {
		msg += "; did you mean " + strings.Join(sug, " or ") + "?"
	}
	return usagef("%s; run `alertstore help` for the list", msg)
}

// commandLineError turns an error of the flag parser or of cobra into a
// usage error, in words that never quote a value typed on the command line
// unless it is plainly not a secret (pflag quotes values: `invalid argument
// "redis://:pw@h" for "--limit" flag`).
func commandLineError(err error) error {
	var ue *usageError
	if errors.As(err, &ue) {
		return err
	}
	var (
		notExist *pflag.NotExistError
		needs    *pflag.ValueRequiredError
		invalid  *pflag.InvalidValueError
		syntax   *pflag.InvalidSyntaxError
	)
	switch {
	case errors.As(err, &notExist):
		if s := notExist.GetSpecifiedShortnames(); s != "" {
			return usagef("unknown shorthand flag -%s (a long flag takes two dashes: --name)", shownWord(notExist.GetSpecifiedName()[:1]))
		}
		return usagef("unknown flag --%s", shownWord(notExist.GetSpecifiedName()))
	case errors.As(err, &needs):
		return usagef("flag --%s needs a value", needs.GetFlag().Name)
	case errors.As(err, &invalid):
		why := scrub(invalid.Unwrap().Error())
		switch {
		case errors.Is(invalid, strconv.ErrSyntax): // its words quote the value
			why = "want " + map[string]string{"bool": "true or false", "int": "a whole number", "float64": "a number"}[invalid.GetFlag().Value.Type()]
		case errors.Is(invalid, strconv.ErrRange):
			why = "out of range"
		}
		return usagef("--%s %s: %s", invalid.GetFlag().Name, shownValue(invalid.GetValue()), why)
	case errors.As(err, &syntax):
		return usagef("bad flag syntax %s", shownWord(syntax.GetSpecifiedFlag()))
	}
	return usagef("%s", scrub(err.Error()))
}

// shownWord is a flag name as typed, or "(not shown)" when it may be
// anything else (a DSN pasted after a dash).
func shownWord(s string) string {
	if s == "" || len(s) > 20 || strings.TrimLeft(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-") != "" {
		return "(not shown)"
	}
	return s
}

// shownValue quotes a flag's value, or says it is not shown when it may
// hold a secret (a DSN or credentials given to the wrong flag).
func shownValue(v string) string {
	if looksLikeDSN(v) || len(v) > 40 || strings.ContainsAny(v, ":/") {
		return "(value not shown)"
	}
	return fmt.Sprintf("%q", v)
}
