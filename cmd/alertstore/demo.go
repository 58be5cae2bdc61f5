package main

import (
	"context"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"time"

	"github.com/apt-detection/alertstore/backend"
	"github.com/apt-detection/alertstore/conformance"
	"github.com/apt-detection/alertstore/registry"
	"github.com/spf13/cobra"
)

// demoPrefix is the scratch namespace of `alertstore demo`: it clears and
// fills only this prefix, so the demo never wipes real alerts (the old
// test_redis.py cleared apt_detection:alerts itself).
const demoPrefix = "alertstore_demo:"

// envDataDir overrides where the embedded default store keeps its file.
const envDataDir = "ALERTSTORE_DATA_DIR"

// dataDir is $ALERTSTORE_DATA_DIR, else $XDG_DATA_HOME/alertstore, else
// ~/.local/share/alertstore.
func dataDir() (string, error) {
	if d := os.Getenv(envDataDir); d != "" {
		return filepath.Abs(d)
	}
	if d := os.Getenv("XDG_DATA_HOME"); d != "" {
		return filepath.Join(d, "alertstore"), nil
	}
	home, err := os.UserHomeDir()
	if err != nil {
		return "", usagef("no home directory to keep the embedded store in (%v); set %s or --dsn", err, envDataDir)
	}
	return filepath.Join(home, ".local", "share", "alertstore"), nil
}

// defaultDSN is the embedded store: a bolt file in the data directory,
// durable across runs, needing no server.
func defaultDSN() (string, error) {
	if !slices.Contains(registry.Schemes(), "bolt") {
		return "mem://", nil
	}
	dir, err := dataDir()
	if err != nil {
		return "", err
	}
	// No I/O here: `help` prints this, and the bolt backend creates the
	// directory (mode 0700) when the store is opened.
	return fileDSN(filepath.Join(dir, "alerts.db")), nil
}

func defaultDSNDescription() string {
	d, err := defaultDSN()
	if err != nil {
		return "(none: " + err.Error() + ")"
	}
	return d + "   (directory: $" + envDataDir + ")"
}

func newDemoCmd(env *cliEnv) *cobra.Command {
	return &cobra.Command{
		Use:   "demo",
		Short: "store realistic sample alerts in a scratch namespace, then count, list and print them",
		Args:  maxArgs(0),
		RunE:  func(cmd *cobra.Command, _ []string) error { return cmdDemo(cmd.Context(), env) },
	}
}

func cmdDemo(ctx context.Context, env *cliEnv) (err error) {
	dsn, err := resolveDSN(env.globals.dsn)
	if err != nil {
		return err
	}
	if dsn, err = registry.WithParams(dsn, url.Values{"prefix": {demoPrefix}}); err != nil {
		return err
	}
	s, err := registry.Open(ctx, dsn)
	if err != nil {
		return err
	}
	// Printed once it opened: RedactDSN shows the values of parameters its
	// backend knows, and only an open tells an unknown one.
	fmt.Fprintf(env.stdout, "1. Connecting to %s\n", registry.RedactDSN(dsn))
	defer closeInto(&err, s)
	warnFile(env, s)
	// Before the first write: every tier must really be on the demo's
	// prefix (a wrapper's tier may keep one of its own).
	if err := s.RequireNamespace(demoPrefix); err != nil {
		return err
	}
	if err := s.Ping(ctx); err != nil {
		return err
	}
	fmt.Fprintf(env.stdout, "2. Clearing the demo namespace %q (real alerts are not touched)\n", demoPrefix)
	if err := s.Clear(ctx); err != nil {
		return err
	}
	alerts, err := demoAlerts(time.Now())
	if err != nil {
		return err
	}
	fmt.Fprintf(env.stdout, "3. Creating %d test alerts\n", len(alerts))
	for _, a := range alerts {
		if err := s.Store(ctx, a); err != nil {
			return err
		}
	}
	n, err := s.Count(ctx)
	if err != nil {
		return err
	}
	fmt.Fprintf(env.stdout, "4. Stored them: the store now holds %d alerts\n", n)
	page, err := s.List(ctx, backend.Query{Limit: len(alerts)})
	if err != nil {
		return err
	}
	fmt.Fprintf(env.stdout, "5. Retrieved %d alerts, newest first:\n\n", len(page.Alerts))
	if err := printTable(env.stdout, env.show, page.Alerts); err != nil {
		return err
	}
	if len(page.Alerts) != len(alerts) {
		return fmt.Errorf("stored %d alerts but retrieved %d", len(alerts), len(page.Alerts))
	}
	first, _ := page.Alerts[len(page.Alerts)-1].MarshalJSON()
	fmt.Fprintf(env.stdout, "\nThe first alert as stored (the old system's JSON format):\n%s\n", first)
	if s.Capabilities().Persistent {
		fmt.Fprintf(env.stdout, "\nSee them again with: alertstore list --dsn '%s'\n", registry.RedactDSN(dsn))
	} else {
		fmt.Fprintf(env.stdout, "\n(%s keeps alerts in this process only: they are gone now; use --dsn with a server or a file to keep them)\n", s.Backend())
	}
	return nil
}

// demoAlerts are the realistic fixtures with fresh, naive timestamps a
// second apart, as the old detectors wrote them.
func demoAlerts(now time.Time) ([]*backend.Alert, error) {
	fixtures := conformance.LegacyAlerts()
	out := make([]*backend.Alert, 0, len(fixtures))
	for i, raw := range fixtures {
		a, err := backend.ParseAlert(raw)
		if err != nil {
			return nil, err
		}
		if err := a.SetTime(now.Add(time.Duration(i-len(fixtures)) * time.Second)); err != nil {
			return nil, err
		}
		// The dashboard counts only the capitalised spellings.
		if err := a.SetSeverity(a.Severity()); err != nil {
			return nil, err
		}
		out = append(out, a)
	}
	return out, nil
}
