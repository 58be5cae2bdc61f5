package conformance

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/apt-detection/alertstore/backend"
	"github.com/apt-detection/alertstore/registry"
)

// DSNCase describes a backend's DSN for the DSN checks (RunDSNChecks,
// RunDSN): what every opener must do with a DSN, whatever its backend.
type DSNCase struct {
	// DSN is a valid DSN of the backend. It may contain two placeholders,
	// replaced before each check:
	//
	//	{addr}  a loopback host:port where the checks listen, count every
	//	        connection and close it at once (a server that is "up" but
	//	        never answers);
	//	{dir}   a fresh, empty temporary directory (absolute path);
	//	{path}  an absolute path in {dir}, under a subdirectory that does
	//	        not exist yet.
	//
	// A rejected DSN must leave both untouched: no connection to {addr},
	// nothing created in {dir}. A placeholder may be
	// URL-escaped, as in a DSN nested in a parameter.
	//
	// Where the backend takes a password, give DSNSecret as the password
	// (in the user info or a parameter): it must never appear in an error,
	// nor in the String() of an opened driver. The checks also add a
	// secret-named parameter of their own, with DSNSecret as its value.
	DSN string
	// Rejects are invalid DSNs particular to the backend (same
	// placeholders), each of which must be refused like an unknown
	// parameter: ErrInvalidConfig, no secret, no I/O.
	Rejects []DSNReject
	// Registry opens the DSNs; nil means registry.Default.
	Registry *registry.Registry
}

// DSNReject is an invalid DSN and what its error must say.
type DSNReject struct {
	Name string // stable subtest name
	DSN  string
	Says string // a substring of the error
}

// Names of the DSN checks (subtests of RunDSNChecks; stable).
const (
	DSNUnknownParameter       = "UnknownParameter"
	DSNUnknownSecretParameter = "UnknownSecretParameter"
	// DSNMisspelledSecretParameter: an unknown parameter whose name says
	// nothing of a secret (a typo of one) still has its value hidden.
	DSNMisspelledSecretParameter = "MisspelledSecretParameter"
	// DSNSplitSecret: a secret with an unescaped '&' whose tail reads as
	// an unknown parameter; the tail's name is not shown either.
	DSNSplitSecret      = "SplitSecret"
	DSNSharedParameters = "SharedParameters"
	DSNRejects          = "Rejects"
	DSNRedacted         = "Redacted"
)

// DSNSecret is the password the DSN checks look for, in every error and
// String(): put it in DSNCase.DSN and in DSNReject.DSN wherever the
// backend takes a password.
const DSNSecret = "conformance-Secret-4f1d9c"

// Parameters the checks add: unknown to every backend.
const (
	dsnUnknownParam = "alertstore_conformance_unknown"
	dsnSecretParam  = "alertstore_conformance_token"   // "token": secret-named
	dsnTypoParam    = "alertstore_conformance_pasword" // a typo: not secret-named
)

// RunDSNChecks runs the DSN checks as subtests of t, one per rule, with
// the names of RunDSN's results (a check with several DSNs, such as
// SharedParameters/max_alerts-zero, nests one more level).
func RunDSNChecks(t *testing.T, c DSNCase) {
	t.Helper()
	for _, r := range RunDSN(context.Background(), c) {
		t.Run(r.Name, func(t *testing.T) {
			switch {
			case r.Skipped != "":
				t.Skip(r.Skipped)
			case r.Err != nil:
				t.Fatalf("rule: %s\nbroken: %v", r.Rule, r.Err)
			}
		})
	}
}

// RunDSN runs the DSN checks without package testing and returns one
// result per DSN tried, named Check or Check/case.
func RunDSN(ctx context.Context, c DSNCase) []Result {
	reg := c.Registry
	if reg == nil {
		reg = registry.Default
	}
	var out []Result
	add := func(name, rule string, err error, start time.Time) {
		out = append(out, Result{Name: name, Rule: rule, Err: err, Duration: time.Since(start)})
	}

	const ruleReject = "an invalid DSN fails with ErrInvalidConfig, before any I/O, and its error names what is wrong and shows no secret"
	reject := func(name, says string, edit func(string) (string, error)) {
		start := time.Now()
		add(name, ruleReject, hideSecret(dsnReject(ctx, reg, c, says, edit)), start)
	}
	set := func(params url.Values) func(string) (string, error) {
		return func(dsn string) (string, error) { return registry.WithParams(dsn, params) }
	}

	reject(DSNUnknownParameter, `"`+dsnUnknownParam+`"`, set(url.Values{dsnUnknownParam: {"1"}}))
	reject(DSNUnknownSecretParameter, `"`+dsnSecretParam+`"`, set(url.Values{dsnSecretParam: {DSNSecret}}))
	reject(DSNMisspelledSecretParameter, `"`+dsnTypoParam+`"`, set(url.Values{dsnTypoParam: {DSNSecret}}))
	reject(DSNSplitSecret, `"`+dsnSecretParam+`"`, func(dsn string) (string, error) {
		sep := "?"
		if strings.Contains(dsn, "?") {
			sep = "&"
		}
		// As written by hand: token=x&<the rest of the secret>=1.
		return dsn + sep + dsnSecretParam + "=x&" + DSNSecret + "=1", nil
	})
	for _, p := range []struct {
		name, says string
		params     url.Values
	}{
		{"max_alerts-zero", "max_alerts", url.Values{"max_alerts": {"0"}}},
		{"max_alerts-twice", "max_alerts", url.Values{"max_alerts": {"5", "6"}}},
		{"max_alert_bytes-small", "max_alert_bytes", url.Values{"max_alert_bytes": {"1"}}},
		{"timeout-bare-number", "timeout", url.Values{"timeout": {"5"}}},
		{"prefix-glob", "prefix", url.Values{"prefix": {"a*b:"}}},
	} {
		reject(DSNSharedParameters+"/"+p.name, p.says, set(p.params))
	}
	for _, r := range c.Rejects {
		reject(DSNRejects+"/"+r.Name, r.Says, func(string) (string, error) { return r.DSN, nil })
	}

	start := time.Now()
	add(DSNRedacted, "a valid DSN's secret appears neither in the opened driver's String() nor in an error of Open or Ping", hideSecret(dsnRedacted(ctx, reg, c)), start)
	return out
}

// dsnReject opens the DSN edit makes of c.DSN and checks that it fails as
// an invalid DSN must.
func dsnReject(ctx context.Context, reg *registry.Registry, c DSNCase, says string, edit func(string) (string, error)) error {
	env, err := newDSNEnv()
	if err != nil {
		return err
	}
	defer env.close()
	valid := env.expand(c.DSN)
	dsn, err := edit(valid)
	if err != nil {
		return fmt.Errorf("building the invalid DSN from %s: %w", registry.RedactDSN(valid), err)
	}
	dsn = env.expand(dsn)
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	drv, err := reg.OpenDriver(ctx, dsn)
	if err == nil {
		_ = drv.Close()
		return fmt.Errorf("opening %s succeeded, want an error saying %q", registry.RedactDSN(dsn), says)
	}
	var problems []string
	if !errors.Is(err, backend.ErrInvalidConfig) {
		problems = append(problems, "it does not wrap backend.ErrInvalidConfig")
	}
	if says != "" && !strings.Contains(err.Error(), says) {
		problems = append(problems, fmt.Sprintf("it does not say %q", says))
	}
	if leak := leaked(err.Error()); leak != "" {
		problems = append(problems, "it shows "+leak)
	}
	if io := env.touched(); io != "" {
		problems = append(problems, "opening did I/O before failing: "+io)
	}
	if len(problems) > 0 {
		return fmt.Errorf("opening %s failed with %q, but %s", registry.RedactDSN(dsn), redactSecrets(err.Error()), strings.Join(problems, "; "))
	}
	return nil
}

// dsnRedacted opens the valid DSN and looks for its secrets where a user
// would see them.
func dsnRedacted(ctx context.Context, reg *registry.Registry, c DSNCase) error {
	env, err := newDSNEnv()
	if err != nil {
		return err
	}
	defer env.close()
	dsn := env.expand(c.DSN)
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	drv, err := reg.OpenDriver(ctx, dsn)
	if err != nil {
		// A backend may dial when it opens, and {addr} never answers:
		// that is fine, a configuration error is not.
		if errors.Is(err, backend.ErrInvalidConfig) {
			return fmt.Errorf("opening the valid DSN %s: %v", registry.RedactDSN(dsn), redactSecrets(err.Error()))
		}
		if leak := leaked(err.Error()); leak != "" {
			return fmt.Errorf("the error of opening %s shows %s", registry.RedactDSN(dsn), leak)
		}
		return nil
	}
	defer func() { _ = drv.Close() }()
	if s, ok := drv.(fmt.Stringer); ok {
		if leak := leaked(s.String()); leak != "" {
			return fmt.Errorf("the driver's String() shows %s", leak)
		}
	}
	pctx, pcancel := context.WithTimeout(ctx, 2*time.Second)
	defer pcancel()
	if err := drv.Ping(pctx); err != nil {
		if leak := leaked(err.Error()); leak != "" {
			return fmt.Errorf("the error of Ping shows %s", leak)
		}
	}
	return nil
}

// leaked says where DSNSecret shows in s, or returns "".
func leaked(s string) string {
	if strings.Contains(s, DSNSecret) {
		return "the password (conformance.DSNSecret)"
	}
	return ""
}

// hideSecret keeps a check's failure from printing DSNSecret, wherever the
// DSN it quotes (redacted, but with values a backend does not know) put it.
func hideSecret(err error) error {
	if err == nil || !strings.Contains(err.Error(), DSNSecret) {
		return err
	}
	return errors.New(redactSecrets(err.Error()))
}

// redactSecrets keeps a failure message from printing the secret it
// complains about.
func redactSecrets(s string) string {
	return strings.ReplaceAll(s, DSNSecret, "<secret>")
}

// dsnEnv is what the placeholders stand for: a listener that counts
// connections and a temporary directory.
type dsnEnv struct {
	dir string
	ln  net.Listener

	mu       sync.Mutex
	accepted []net.Addr // remote addresses, in accept order
	cond     *sync.Cond
	done     chan struct{}
}

func newDSNEnv() (*dsnEnv, error) {
	dir, err := os.MkdirTemp("", "alertstore-dsn-check-")
	if err != nil {
		return nil, fmt.Errorf("conformance: temporary directory: %w", err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		_ = os.RemoveAll(dir)
		return nil, fmt.Errorf("conformance: loopback listener: %w", err)
	}
	e := &dsnEnv{dir: dir, ln: ln, done: make(chan struct{})}
	e.cond = sync.NewCond(&e.mu)
	go e.accept()
	return e, nil
}

func (e *dsnEnv) accept() {
	defer close(e.done)
	for {
		conn, err := e.ln.Accept()
		if err != nil {
			e.mu.Lock()
			e.accepted = append(e.accepted, nil) // wakes waiters: listener closed
			e.cond.Broadcast()
			e.mu.Unlock()
			return
		}
		e.mu.Lock()
		e.accepted = append(e.accepted, conn.RemoteAddr())
		e.cond.Broadcast()
		e.mu.Unlock()
		_ = conn.Close()
	}
}

// expand replaces the placeholders, written as is or URL-escaped (as in
// a DSN nested in a parameter, e.g. a chain's tier=).
func (e *dsnEnv) expand(dsn string) string {
	var pairs []string
	for k, v := range map[string]string{
		"{addr}": e.ln.Addr().String(),
		"{dir}":  e.dir,
		"{path}": filepath.Join(e.dir, "not-created", "alerts.db"),
	} {
		pairs = append(pairs, k, v, url.QueryEscape(k), url.QueryEscape(v))
	}
	return strings.NewReplacer(pairs...).Replace(dsn)
}

// touched describes the I/O seen so far, or returns "". To count every
// connection made before it was called without waiting an arbitrary time,
// it connects once itself and waits until the listener has accepted that
// connection: the backlog is first in, first out.
func (e *dsnEnv) touched() string {
	var seen []string
	if entries, err := os.ReadDir(e.dir); err != nil {
		seen = append(seen, fmt.Sprintf("reading {dir}: %v", err))
	} else if len(entries) > 0 {
		seen = append(seen, fmt.Sprintf("created %s in {dir}", entries[0].Name()))
	}
	marker, err := net.Dial("tcp", e.ln.Addr().String())
	if err != nil {
		seen = append(seen, fmt.Sprintf("connecting to {addr}: %v", err))
		return strings.Join(seen, "; ")
	}
	defer func() { _ = marker.Close() }()
	me := marker.LocalAddr().String()
	e.mu.Lock()
	others := 0
	for {
		found := false
		others = 0
		for _, a := range e.accepted {
			if a == nil {
				found = true // listener closed
				break
			}
			if a.String() == me {
				found = true
				break
			}
			others++
		}
		if found {
			break
		}
		e.cond.Wait()
	}
	e.accepted = nil
	e.mu.Unlock()
	if others > 0 {
		seen = append(seen, fmt.Sprintf("%d connection(s) to {addr}", others))
	}
	return strings.Join(seen, "; ")
}

func (e *dsnEnv) close() {
	_ = e.ln.Close()
	<-e.done
	_ = os.RemoveAll(e.dir)
}
