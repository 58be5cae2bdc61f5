package registry

import (
	"fmt"
	"log/slog"
	"net/url"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/apt-detection/alertstore/backend"
)

// DSN is a parsed data source name: scheme://[user[:password]@]host[/path]?params.
//
// An opener reads its parameters through the typed getters, which remember
// what was consumed; whatever is left when the opener is done is an unknown
// parameter, and an error that names it. String, and every error a DSN
// produces, redact secrets: the password in the user info, every parameter
// whose name says it is a secret (password, secret, token, key_pass), and,
// recursively, DSNs nested in parameter values.
type DSN struct {
	u        *url.URL
	params   url.Values
	consumed map[string]bool
	public   map[string]bool // consumed by a getter that is not Secret
	slashes  bool            // written "scheme://", even with an empty authority
	warnings []string
	logger   *slog.Logger // the opening ctx's (registry.WithLogger); nil: slog.Default
}

// Logger is the logger a backend opened with this DSN logs to: that of the
// ctx Open was called with (WithLogger), else slog.Default().
func (d *DSN) Logger() *slog.Logger {
	if d.logger != nil {
		return d.logger
	}
	return slog.Default()
}

// SetLoggerOf gives d the logger of parent: for an opener that parses a
// DSN of its own making from the user's (Sentinel's data-node DSN).
func (d *DSN) SetLoggerOf(parent *DSN) { d.logger = parent.logger }

// ParseDSN parses s. It fails, without echoing any secret, on a DSN that
// does not parse cleanly: then the error shows the scheme, the host where
// it is certain, and why, in its own words (see docs/dsn.md, "Secrets").
func ParseDSN(s string) (*DSN, error) {
	if strings.TrimSpace(s) == "" {
		return nil, fmt.Errorf("%w: empty DSN (set --dsn or ALERTSTORE_DSN, e.g. mem:// or redis://localhost:6379/0)", backend.ErrInvalidConfig)
	}
	u, params, p := inspect(s)
	if p != nil {
		return nil, fmt.Errorf("%w: DSN %s: %s", backend.ErrInvalidConfig, p.show(), p.reason)
	}
	return &DSN{u: u, params: params, consumed: map[string]bool{}, public: map[string]bool{}, slashes: rawScheme(s) != ""}, nil
}

// Scheme is the DSN's scheme, lower-cased.
func (d *DSN) Scheme() string { return strings.ToLower(d.u.Scheme) }

// URL returns a copy of the parsed URL, secrets included: for openers that
// need host, path and user info. Never print it; print d.String().
func (d *DSN) URL() *url.URL {
	c := *d.u
	if d.u.User != nil {
		u := *d.u.User
		c.User = &u
	}
	return &c
}

// Host is host[:port].
func (d *DSN) Host() string { return d.u.Host }

// Path is the unescaped path.
func (d *DSN) Path() string { return d.u.Path }

// Username and Password are the user info, if any.
func (d *DSN) Username() string {
	if d.u.User == nil {
		return ""
	}
	return d.u.User.Username()
}

// Password returns the password in the user info.
func (d *DSN) Password() (string, bool) {
	if d.u.User == nil {
		return "", false
	}
	return d.u.User.Password()
}

// String is the DSN with every secret replaced by "xxxxx": the user
// info's password, and the value of every parameter that is secret-named,
// read as a secret (Secret) or not read by any getter yet. So an error
// about an unknown parameter never shows its value, whatever its name.
func (d *DSN) String() string {
	u := *d.u
	u.User = redactUser(u.User)
	q := url.Values{}
	hidden := hiddenNames(d.u.RawQuery, func(n string) bool { return d.consumed[n] })
	for k, vs := range d.params {
		if hidden[k] && !d.consumed[k] {
			for range vs {
				q.Add(redacted, redacted)
			}
			continue
		}
		for _, v := range vs {
			if d.public[k] && !secretParam(k) {
				v = nestedValue(v)
			} else {
				v = redacted
			}
			q.Add(k, v)
		}
	}
	u.RawQuery = q.Encode()
	u.ForceQuery = false
	out := u.String()
	if d.slashes && !strings.HasPrefix(out, u.Scheme+"://") {
		out = u.Scheme + "://" + strings.TrimPrefix(out, u.Scheme+":")
	}
	return out
}

// Errorf builds an ErrInvalidConfig error that names this (redacted) DSN.
func (d *DSN) Errorf(format string, args ...any) error {
	return fmt.Errorf("%w: DSN %s: %s", backend.ErrInvalidConfig, d.String(), fmt.Sprintf(format, args...))
}

// Has reports whether the parameter is present, without consuming it.
func (d *DSN) Has(name string) bool { _, ok := d.params[name]; return ok }

// Param returns the parameter's single value (consuming it), or def. A
// parameter given twice is an error.
func (d *DSN) Param(name, def string) (string, error) {
	d.public[name] = true
	return d.param(name, def)
}

// param is Param for a value that may be a secret: it stays hidden in
// String.
func (d *DSN) param(name, def string) (string, error) {
	d.consumed[name] = true
	vs, ok := d.params[name]
	if !ok {
		return def, nil
	}
	if len(vs) > 1 {
		return "", d.Errorf("parameter %q given %d times", name, len(vs))
	}
	return vs[0], nil
}

// Params returns every value of a repeatable parameter (e.g. addr=),
// consuming it.
func (d *DSN) Params(name string) []string {
	d.consumed[name] = true
	d.public[name] = true
	return append([]string(nil), d.params[name]...)
}

// Hide keeps the values of a parameter out of String (and so out of
// Errorf): for an opener that found a value is not what the parameter
// takes, and may be a secret put in the wrong place.
func (d *DSN) Hide(name string) { d.public[name] = false }

// Int reads an integer parameter in [lo, hi].
func (d *DSN) Int(name string, def, lo, hi int) (int, error) {
	s, err := d.Param(name, "")
	if err != nil || !d.Has(name) {
		return def, err
	}
	n, err := strconv.Atoi(strings.ReplaceAll(s, "_", ""))
	if err != nil {
		return 0, d.Errorf("parameter %s=%q is not a whole number", name, s)
	}
	if n < lo || n > hi {
		return 0, d.Errorf("parameter %s=%d is out of range [%d, %d]", name, n, lo, hi)
	}
	return n, nil
}

// Duration reads a Go duration ("750ms", "5s") in [lo, hi]. A bare number
// is rejected: "5" could mean seconds or milliseconds.
func (d *DSN) Duration(name string, def, lo, hi time.Duration) (time.Duration, error) {
	s, err := d.Param(name, "")
	if err != nil || !d.Has(name) {
		return def, err
	}
	v, err := time.ParseDuration(s)
	if err != nil {
		return 0, d.Errorf("parameter %s=%q is not a duration (want e.g. 500ms, 5s)", name, s)
	}
	if v < lo || v > hi {
		return 0, d.Errorf("parameter %s=%s is out of range [%s, %s]", name, v, lo, hi)
	}
	return v, nil
}

// Bool reads true/false/1/0/yes/no.
func (d *DSN) Bool(name string, def bool) (bool, error) {
	s, err := d.Param(name, "")
	if err != nil || !d.Has(name) {
		return def, err
	}
	switch strings.ToLower(s) {
	case "1", "true", "yes", "on":
		return true, nil
	case "0", "false", "no", "off":
		return false, nil
	}
	return false, d.Errorf("parameter %s=%q is not a boolean (want true or false)", name, s)
}

// Secret reads a secret that may be given inline (name=...) or from a file
// (name_file=/path; see ReadSecretFile for what the file may hold). Giving
// both is an error, and so is a secret given but empty, or holding a CR,
// LF or NUL: an empty password would make a client library log in as the
// "default" user instead of failing. Errors never include the secret.
func (d *DSN) Secret(name string) (string, bool, error) {
	inline, err := d.param(name, "")
	if err != nil {
		return "", false, err
	}
	path, err := d.Param(name+"_file", "")
	if err != nil {
		return "", false, err
	}
	hasInline, hasFile := d.Has(name), d.Has(name+"_file")
	switch {
	case hasInline && hasFile:
		return "", false, d.Errorf("give %s or %s_file, not both", name, name)
	case hasFile:
		s, err := d.ReadSecretFile(name+"_file", path)
		return s, err == nil, err
	case hasInline && inline == "":
		return "", false, d.Errorf("%s= is empty: give the password, or leave the parameter out (an empty password is never sent)", name)
	case hasInline && strings.ContainsAny(inline, "\r\n\x00"):
		return "", false, d.Errorf("%s holds a line break or NUL, which no password may hold", name)
	case hasInline:
		return inline, true, nil
	}
	return "", false, nil
}

// Unknown returns an error naming every parameter nobody consumed, or
// nil. It never shows their values, and it leaves out the names that
// cannot be parameter names or that follow a secret's or an unknown
// parameter's value (an unescaped '&' in a password makes its tail look
// like a parameter): those it counts.
func (d *DSN) Unknown() error {
	var left []string
	for k := range d.params {
		if !d.consumed[k] {
			left = append(left, k)
		}
	}
	if len(left) == 0 {
		return nil
	}
	hidden := hiddenNames(d.u.RawQuery, func(n string) bool { return d.consumed[n] })
	var shown []string
	nHidden := 0
	for _, k := range left {
		if hidden[k] || !printableName(k) {
			nHidden++
		} else {
			shown = append(shown, k)
		}
	}
	sort.Strings(shown)
	const why = "names not shown: each follows the value of a secret or unknown parameter, as when a password holds an unescaped '&' (write it %26)"
	switch {
	case nHidden == 0:
		return d.Errorf("unknown parameter %s for scheme %s", strings.Join(quoteAll(shown), ", "), d.Scheme())
	case len(shown) == 0:
		return d.Errorf("%d unknown parameter(s) for scheme %s (%s)", nHidden, d.Scheme(), why)
	}
	return d.Errorf("unknown parameter %s for scheme %s, and %d more (%s)", strings.Join(quoteAll(shown), ", "), d.Scheme(), nHidden, why)
}

func quoteAll(ss []string) []string {
	out := make([]string, len(ss))
	for i, s := range ss {
		out[i] = strconv.Quote(s)
	}
	return out
}

// prefixPattern is the allow-list of prefix characters: letters, digits and
// ":_.-{}" (braces for Redis Cluster hash tags). Anything else (spaces,
// '*', '?', '[' which are glob characters in SCAN/KEYS, newlines) is
// refused, so a prefix can never match another tenant's keys.
var prefixPattern = regexp.MustCompile(`^[A-Za-z0-9:_.\-{}]{1,128}$`)

// CheckPrefix validates a key prefix against the allow-list.
func CheckPrefix(p string) error {
	if !prefixPattern.MatchString(p) {
		return fmt.Errorf("%w: prefix %q: use 1 to 128 of the characters A-Z a-z 0-9 : _ . - { }", backend.ErrInvalidConfig, p)
	}
	return nil
}

// Common parses the parameters every backend shares, with one spelling
// everywhere:
//
//	prefix           key prefix, default "apt_detection:"
//	max_alerts       cap of the store, 1..10000000, default 1000
//	max_alert_bytes  cap of one encoded alert, 256..67108864, default 262144
//	timeout          deadline of each call, 1ms..10m, default 5s
//	client_name      this client in audit records, default program@host/pid
func (d *DSN) Common() (backend.Config, error) {
	var c backend.Config
	var err error
	if c.Prefix, err = d.Param("prefix", backend.DefaultPrefix); err != nil {
		return c, err
	}
	if err := CheckPrefix(c.Prefix); err != nil {
		return c, d.Errorf("%v", trimSentinel(err))
	}
	if c.MaxAlerts, err = d.Int("max_alerts", backend.DefaultMaxAlerts, 1, backend.MaxMaxAlerts); err != nil {
		return c, err
	}
	c.MaxAlertsDefault = !d.Has("max_alerts")
	if c.MaxAlertBytes, err = d.Int("max_alert_bytes", backend.DefaultMaxAlertBytes, 256, 64<<20); err != nil {
		return c, err
	}
	if c.Timeout, err = d.Duration("timeout", backend.DefaultTimeout, time.Millisecond, 10*time.Minute); err != nil {
		return c, err
	}
	if c.ClientName, err = d.Param("client_name", ""); err != nil {
		return c, err
	}
	if d.Has("client_name") && !clientNamePattern.MatchString(c.ClientName) {
		return c, d.Errorf("parameter client_name: use 1 to 128 of the characters A-Z a-z 0-9 : _ . - @ /")
	}
	return c, nil
}

// clientNamePattern is what a client name in audit records may hold:
// printable, no spaces, no quotes, nothing a terminal interprets.
var clientNamePattern = regexp.MustCompile(`^[A-Za-z0-9:_.\-@/]{1,128}$`)

func trimSentinel(err error) string {
	return strings.TrimPrefix(err.Error(), backend.ErrInvalidConfig.Error()+": ")
}

// secretParam reports whether a parameter name denotes a secret.
func secretParam(name string) bool {
	n := strings.ToLower(name)
	if strings.HasSuffix(n, "_file") {
		return false // a path, not the secret
	}
	for _, w := range []string{"password", "passwd", "secret", "token", "key_pass", "credential"} {
		if strings.Contains(n, w) {
			return true
		}
	}
	return false
}

const redacted = "xxxxx"

// redactUser redacts the password of the user info, and a user name given
// without one: "s3cret@host" is most likely a password that lost its ':'.
func redactUser(ui *url.Userinfo) *url.Userinfo {
	if ui == nil {
		return nil
	}
	if _, has := ui.Password(); has {
		return url.UserPassword(ui.Username(), redacted)
	}
	if ui.Username() != "" {
		return url.User(redacted)
	}
	return ui
}

// RedactDSN returns s with secrets replaced: the user-info password,
// secret-named parameters, and nested DSNs in parameter values (escaped
// once or more). A DSN that does not parse cleanly is reduced to its
// scheme, and its host where that is certain, since we cannot tell where
// its secrets are.
//
// RedactDSN shows the values of the other parameters: it cannot tell a
// misspelled secret parameter from a real one. Print it for a DSN that
// opened (every parameter of which its backend knows); about one that did
// not, print DSN.String or use DSN.Errorf, which never show the value of a
// parameter no getter read.
func RedactDSN(s string) string {
	u, q, p := inspect(s)
	if p != nil {
		return p.show()
	}
	u.User = redactUser(u.User)
	if u.RawQuery != "" {
		for k, vs := range q {
			if !printableName(k) {
				delete(q, k)
				for range vs {
					q.Add(redacted, redacted)
				}
				continue
			}
			for i, v := range vs {
				if secretParam(k) {
					vs[i] = redacted
				} else {
					vs[i] = nestedValue(v)
				}
			}
		}
		u.RawQuery = encodeQuery(q)
	}
	return keepSlashes(s, u)
}

// DSNOrigin returns only s's scheme and host (a bolt path's is empty),
// never its user info, path or parameters: what to print about a DSN
// before it has opened, when a misspelled secret parameter cannot yet be
// told from a harmless one. A DSN that does not parse cleanly gives what
// RedactDSN gives for it.
func DSNOrigin(s string) string {
	u, _, p := inspect(s)
	if p != nil {
		return p.show()
	}
	scheme := strings.ToLower(u.Scheme)
	if u.Host == "" {
		return scheme + "://"
	}
	return scheme + "://" + u.Host
}

// keepSlashes is u.String(), with the "//" that url.URL.String drops from
// an empty authority ("mem://" would print as "mem:") put back when the
// original had it.
func keepSlashes(orig string, u *url.URL) string {
	out := u.String()
	if strings.HasPrefix(strings.ToLower(orig), strings.ToLower(u.Scheme)+"://") && !strings.HasPrefix(out, u.Scheme+"://") {
		out = u.Scheme + "://" + strings.TrimPrefix(out, u.Scheme+":")
	}
	return out
}

// encodeQuery is url.Values.Encode with the original order of keys lost
// but stable (sorted), and the redaction marker left readable.
func encodeQuery(q url.Values) string {
	return q.Encode()
}

// ConfigParams turns cfg back into the shared DSN parameters Common reads
// (prefix, max_alerts, max_alert_bytes, timeout), leaving out the fields
// that are zero (and max_alerts when MaxAlertsDefault is set), so that
// Common gives them their defaults. The signing keys (Config.Sign) are
// not a driver's: they are not turned back into sign_key_file. Harnesses and
// wrappers use it to open a driver by DSN with a given configuration:
//
//	dsn, err := registry.WithParams(userDSN, registry.ConfigParams(cfg))
func ConfigParams(cfg backend.Config) url.Values {
	q := url.Values{}
	if cfg.Prefix != "" {
		q.Set("prefix", cfg.Prefix)
	}
	if cfg.MaxAlerts != 0 && !cfg.MaxAlertsDefault {
		q.Set("max_alerts", strconv.Itoa(cfg.MaxAlerts))
	}
	if cfg.MaxAlertBytes != 0 {
		q.Set("max_alert_bytes", strconv.Itoa(cfg.MaxAlertBytes))
	}
	if cfg.Timeout != 0 {
		q.Set("timeout", cfg.Timeout.String())
	}
	if cfg.ClientName != "" {
		q.Set("client_name", cfg.ClientName)
	}
	return q
}

// WithParams returns dsn with the given parameters set (replacing every
// value they had), keeping everything else as written. Tools use it to
// point a user's DSN at a scratch namespace (prefix=...), and, with
// ConfigParams, to apply a whole backend.Config. A parameter set to no
// values (nil) is removed.
func WithParams(dsn string, set url.Values) (string, error) {
	u, q, p := inspect(dsn)
	if p != nil {
		return "", fmt.Errorf("%w: DSN %s: %s", backend.ErrInvalidConfig, p.show(), p.reason)
	}
	for k, vs := range set {
		q[k] = append([]string(nil), vs...)
	}
	u.RawQuery = q.Encode()
	return keepSlashes(dsn, u), nil
}
