package main

import (
	"fmt"
	"runtime/debug"
	"strings"

	"github.com/apt-detection/alertstore/registry"
	"github.com/spf13/cobra"
)

func newVersionCmd(env *cliEnv) *cobra.Command {
	return &cobra.Command{
		Use:   "version",
		Short: "print the version, the Go version, the source revision and the compiled-in backends",
		Args:  maxArgs(0),
		RunE: func(*cobra.Command, []string) error {
			fmt.Fprint(env.stdout, versionString())
			return nil
		},
	}
}

// versionString is what `alertstore version` and `--version` print: the
// module version (or "(devel)" for a build from a work tree), the Go
// version, the version control information the go command stamped when it
// built from a repository, and the DSN schemes compiled in, one a line.
func versionString() string {
	var b strings.Builder
	info, ok := debug.ReadBuildInfo()
	if !ok {
		b.WriteString("alertstore (no build information)\n")
	} else {
		version := info.Main.Version
		if version == "" {
			version = "(devel)"
		}
		fmt.Fprintf(&b, "alertstore %s\n", version)
		fmt.Fprintf(&b, "module:    %s\n", info.Main.Path)
		fmt.Fprintf(&b, "go:        %s\n", info.GoVersion)
		settings := map[string]string{}
		for _, s := range info.Settings {
			settings[s.Key] = s.Value
		}
		if rev := settings["vcs.revision"]; rev != "" {
			if settings["vcs.modified"] == "true" {
				rev += " (modified)"
			}
			fmt.Fprintf(&b, "revision:  %s\n", rev)
		}
		if t := settings["vcs.time"]; t != "" {
			fmt.Fprintf(&b, "committed: %s\n", t)
		}
		if p := settings["GOOS"] + "/" + settings["GOARCH"]; p != "/" {
			fmt.Fprintf(&b, "platform:  %s\n", p)
		}
	}
	fmt.Fprintf(&b, "backends:  %s\n", strings.Join(registry.Schemes(), " "))
	return b.String()
}
