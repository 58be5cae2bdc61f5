package main

import (
	"strings"

	"github.com/apt-detection/alertstore/backend"
	"github.com/spf13/cobra"
)

// registerCompletions gives the shells (`alertstore completion
// bash|zsh|fish|powershell`, cobra's) the values of the flags that take a
// word from a fixed set, on every command that has them.
func registerCompletions(root *cobra.Command) {
	severities := make([]cobra.Completion, 0, len(backend.Severities()))
	for _, s := range backend.Severities() {
		severities = append(severities, strings.ToLower(s.String()))
	}
	fixed := map[string][]cobra.Completion{
		"log-level":    {"off", "debug", "info", "warn", "error"},
		"log-format":   {"text", "json"},
		"severity":     severities,
		"min-severity": severities,
		"color":        {"auto", "always", "never"},
	}
	commaList := map[string]bool{"severity": true}
	var walk func(c *cobra.Command)
	walk = func(c *cobra.Command) {
		for name, values := range fixed {
			// A flag of its own (a shared one is the root's).
			if c.PersistentFlags().Lookup(name) == nil && c.Flags().Lookup(name) == nil {
				continue
			}
			_ = c.RegisterFlagCompletionFunc(name, completeWords(values, commaList[name])) // only fails for a flag registered twice
		}
		for _, sub := range c.Commands() {
			walk(sub)
		}
	}
	walk(root)
}

// completeWords completes one of words, or with comma, each item of a
// comma list (--severity high,cr<TAB>).
func completeWords(words []cobra.Completion, comma bool) cobra.CompletionFunc {
	return func(_ *cobra.Command, _ []string, toComplete string) ([]cobra.Completion, cobra.ShellCompDirective) {
		done := ""
		if i := strings.LastIndex(toComplete, ","); comma && i >= 0 {
			done = toComplete[:i+1]
		}
		out := make([]cobra.Completion, 0, len(words))
		for _, w := range words {
			out = append(out, done+w)
		}
		return out, cobra.ShellCompDirectiveNoFileComp
	}
}
