package main

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"unicode/utf8"

	"github.com/apt-detection/alertstore/registry"
)

// secretAlphabet is what fuzzed secrets are made of: letters that appear
// in no message of ours (so that a 4-byte piece of the secret found in an
// output is a leak, not a coincidence), every character that moves a
// URL's boundaries, and non-ASCII.
var secretAlphabet = []string{"Q", "Z", "J", "V", "K", "W", "q", "z", "j", "v", "k", "w", "/", "?", "#", "&", "%", "@", ":", "=", "+", ";", " ", "é", "ß", "😀"}

// makeSecret turns fuzz bytes into a secret of 6 to 40 characters with at
// least one letter in every 4 of them.
func makeSecret(raw []byte) string {
	var b strings.Builder
	for i, c := range raw {
		if i >= 40 {
			break
		}
		if i%3 == 0 {
			b.WriteString(secretAlphabet[int(c)%12]) // a letter
			continue
		}
		b.WriteString(secretAlphabet[int(c)%len(secretAlphabet)])
	}
	for b.Len() < 6 {
		b.WriteString("QZJ")
	}
	return b.String()
}

// pieces are the 4-byte pieces of secret that must not appear in any
// output: those with a letter (pieces made only of "/?#&%@:=+; " occur in
// every DSN).
func pieces(secret string) []string {
	var out []string
	for i := 0; i+4 <= len(secret); i++ {
		p := secret[i : i+4]
		if strings.ContainsAny(p, "QZJVKWqzjvkw") || !utf8.ValidString(p) || strings.ContainsAny(p, "éß") {
			out = append(out, p)
		}
	}
	return out
}

// schemes: every registered scheme, with an address where a server does
// not answer (nothing listens on port 1) and, for sentinel, a master.
var fuzzSchemes = []struct{ scheme, where string }{
	{"mem", "name"},
	{"bolt", ""}, // a path in a temporary directory
	{"redis", "127.0.0.1:1/0"},
	{"rediss", "127.0.0.1:1/0"},
	{"unix", "/nonexistent/redis.sock"},
	{"valkey", "127.0.0.1:1/0"},
	{"valkeys", "127.0.0.1:1/0"},
	{"redis+sentinel", "127.0.0.1:1/mymaster"},
	{"valkey+sentinel", "127.0.0.1:1/mymaster"},
}

// escape writes s raw (mode 0), escaped for its place (1) or escaped twice (2).
func escape(s string, mode uint8, esc func(string) string) string {
	switch mode % 3 {
	case 1:
		return esc(s)
	case 2:
		return esc(esc(s))
	}
	return s
}

// fuzzDSN builds a DSN of scheme index si with secret in position pos,
// written in mode, then broken by mal. dir is a temporary directory.
func fuzzDSN(si, pos, mode, mal uint8, secret, dir string) string {
	sc := fuzzSchemes[int(si)%len(fuzzSchemes)]
	where := sc.where
	if sc.scheme == "bolt" {
		where = filepath.Join(dir, "alerts.db")
	}
	base := func(userinfo string) string {
		if sc.scheme == "unix" || sc.scheme == "bolt" {
			return sc.scheme + "://" + userinfo + where
		}
		return sc.scheme + "://" + userinfo + where
	}
	pathEsc := func(s string) string { return url.UserPassword("", s).String()[1:] }
	var dsn string
	switch pos % 9 {
	case 0: // the user info's password
		dsn = base(":" + escape(secret, mode, pathEsc) + "@")
	case 1: // user and password
		dsn = base("alice:" + escape(secret, mode, pathEsc) + "@")
	case 2: // the user name alone: a password that lost its ':' (a ':'
		// in it would make what precedes it a user name, shown as such)
		userEsc := func(s string) string { return url.User(s).String() }
		dsn = base(escape(strings.ReplaceAll(secret, ":", "%3A"), mode, userEsc) + "@")
	case 3: // password=
		dsn = base("") + "?password=" + escape(secret, mode, url.QueryEscape)
	case 4: // a misspelled secret parameter
		name := []string{"passwrd", "pasword", "pw", "sentinel_pasword", "auth"}[int(mode)%5]
		dsn = base("") + "?" + name + "=" + escape(secret, mode/5, url.QueryEscape)
	case 5: // sentinel_password= (unknown to non-sentinel schemes)
		dsn = base("") + "?sentinel_password=" + escape(secret, mode, url.QueryEscape)
	case 6: // password_file= whose content is the secret
		f := filepath.Join(dir, "pw")
		_ = os.WriteFile(f, []byte(secret+"\n"), 0o644) // 0644: a warning too
		dsn = base("") + "?password_file=" + url.QueryEscape(f)
	case 7: // a credential in a sentinel addr=
		dsn = base(":"+url.PathEscape("data")+"@") + "?addr=" + escape("sam:"+secret+"@127.0.0.1:2", mode, url.QueryEscape)
	case 8: // a chain whose tier holds the secret, escaped once, twice or not
		tier := base(":" + url.PathEscape(secret) + "@")
		if mode%2 == 1 {
			tier = base(":" + secret + "@")
		}
		dsn = "chain://?tier=" + escape(tier, mode/2+1, url.QueryEscape) + "&tier=mem://"
	}
	switch mal % 6 {
	case 1:
		dsn += "#" + secret[:len(secret)/2]
	case 2:
		dsn += "%zz"
	case 3:
		dsn = strings.Replace(dsn, "://", "://:99x", 1)
	case 4: // the tail of a password split off by an unescaped '&'
		if p := pos % 9; p >= 3 && p <= 5 {
			dsn += "&" + secret
		}
	case 5:
		dsn = strings.Replace(dsn, "?", "&", 1)
	}
	return dsn
}

// logMu serialises the tests that replace slog's default logger.
var logMu sync.Mutex

// findLeak opens dsn through the library and runs commands on it, and
// describes where a 4-byte piece of secret shows in an error, a String(),
// the command's output or a log record, or returns "".
func findLeak(dsn, secret string) string {
	logMu.Lock()
	defer logMu.Unlock()
	var logs bytes.Buffer
	old := slog.Default()
	slog.SetDefault(slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug})))
	defer slog.SetDefault(old)

	var seen []string
	ctx := context.Background()
	drv, err := registry.OpenDriver(ctx, dsn)
	if err != nil {
		seen = append(seen, "OpenDriver error: "+err.Error())
	} else {
		seen = append(seen, "driver: "+fmt.Sprint(drv), fmt.Sprintf("driver %%+v: %+v", drv))
		if perr := drv.Ping(ctx); perr != nil {
			seen = append(seen, "Ping error: "+perr.Error())
		}
		_ = drv.Close()
	}
	if s, err := registry.Open(ctx, dsn); err == nil {
		seen = append(seen, "store: "+fmt.Sprint(s))
		_ = s.Close()
	}
	for i, args := range [][]string{
		{"status", "--dsn", dsn},
		{"count", "--dsn=" + dsn},
		{"count", dsn},             // a stray positional
		{"list", "--limit", dsn},   // a DSN as a flag's value
		{"--dsn=" + dsn},           // no command at all
		{"status", "--dns=" + dsn}, // a misspelled flag
	} {
		var out, errb bytes.Buffer
		code := run(ctx, args, strings.NewReader(""), &out, &errb)
		seen = append(seen, fmt.Sprintf("command %d (exit %d) stdout: %s", i, code, out.String()),
			fmt.Sprintf("command %d (exit %d) stderr: %s", i, code, errb.String()))
	}
	seen = append(seen, "logs: "+logs.String())
	for _, s := range seen {
		for _, p := range pieces(secret) {
			if strings.Contains(s, p) {
				return fmt.Sprintf("%q of the secret %q shows in\n%s\n(DSN %q)", p, secret, s, dsn)
			}
		}
	}
	return ""
}

// FuzzNoSecretInOutput puts random secrets in every secret position of
// DSNs of every scheme, well-formed and broken, and checks every output.
// `go test -run XXX -fuzz FuzzNoSecretInOutput ./cmd/alertstore` explores;
// without -fuzz the seeds below run (every scheme, position and mode).
func FuzzNoSecretInOutput(f *testing.F) {
	seeds := [][]byte{
		[]byte("Q/Z?J#K&V%W@q:z"),
		[]byte("QZJVKWqzjvkw"),
		{0x51, 0x8f, 0x12, 0x33, 0x99, 0xee, 0x01, 0x7a, 0x40, 0x22},
	}
	for i, raw := range seeds {
		for si := range len(fuzzSchemes) {
			for pos := range 9 {
				f.Add(raw, uint8(si), uint8(pos), uint8(i+pos), uint8((si+pos+i)%6))
			}
		}
	}
	f.Fuzz(func(t *testing.T, raw []byte, si, pos, mode, mal uint8) {
		secret := makeSecret(raw)
		dsn := fuzzDSN(si, pos, mode, mal, secret, t.TempDir())
		if leak := findLeak(dsn, secret); leak != "" {
			t.Fatal(leak)
		}
	})
}

// TestLeakChecker: the checker finds a secret that does show (a store
// name is printed by status, as it should be), and pieces cover it.
func TestLeakChecker(t *testing.T) {
	const secret = "QZJVKWqz"
	if len(pieces(secret)) == 0 {
		t.Fatalf("pieces(%q) is empty", secret)
	}
	if leak := findLeak("mem://"+secret, secret); leak == "" {
		t.Fatalf("findLeak found nothing of %q in mem://%s", secret, secret)
	}
}

// TestWarningOnStderr: a password file others may read gives one stderr
// line per run, naming the file, never the password; mode 0600 none.
func TestWarningOnStderr(t *testing.T) {
	dir := t.TempDir()
	f := filepath.Join(dir, "pw")
	if err := os.WriteFile(f, []byte("QZJVKWqzjvkw\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	dsn := "--dsn=chain://?tier=" + url.QueryEscape("redis://127.0.0.1:1/0?password_file="+url.QueryEscape(f)) + "&tier=mem://"
	for _, c := range []struct {
		name  string
		mode  os.FileMode
		lines int
	}{
		{"readable-by-others", 0o644, 1},
		{"private", 0o600, 0},
	} {
		t.Run(c.name, func(t *testing.T) {
			if err := os.Chmod(f, c.mode); err != nil {
				t.Fatal(err)
			}
			_, _, stderr := runCLI(t, "", "status", dsn)
			if got := strings.Count(stderr, "alertstore status: warning: password_file"); got != c.lines {
				t.Errorf("%d warnings, want %d; stderr:\n%s", got, c.lines, stderr)
			}
			if strings.Contains(stderr, "QZJV") {
				t.Errorf("stderr shows the password:\n%s", stderr)
			}
		})
	}
}

// TestPositionalDSNRefused: a DSN given as an argument is refused (exit 2),
// not ignored (which would work on the default store), and not echoed.
func TestPositionalDSNRefused(t *testing.T) {
	for _, args := range [][]string{
		{"count", "redis://:QZJVKW@h"},
		{"list", "redis://:QZJVKW@h"},
		{"clear", "--yes", "redis://:QZJVKW@h"},
		{"ping", "redis://:QZJVKW@h"},
		{"status", "redis://:QZJVKW@h"},
		{"selftest", "redis://:QZJVKW@h"},
		{"count", "QZJVKW@h"},
		{"redis://:QZJVKW@h"},
		{"list", "--limit=redis://:QZJVKW@h"},
	} {
		t.Run(strings.Join(args, "_"), func(t *testing.T) {
			code, out, stderr := runCLI(t, "", args...)
			if code != exitUsage {
				t.Errorf("exit %d, want %d", code, exitUsage)
			}
			if strings.Contains(out+stderr, "QZJVKW") {
				t.Errorf("output shows the password:\n%s%s", out, stderr)
			}
		})
	}
}

// TestMisspelledSecretNeverEchoed: every command that names its DSN in
// its output, given one with a misspelled secret parameter, fails as a
// configuration error without printing the value, also before it opens
// the store (doctor's "checking ..." line did).
func TestMisspelledSecretNeverEchoed(t *testing.T) {
	dsn := "redis://127.0.0.1:1/0?passwrod=QZJVKWXY"
	for _, cmd := range []string{"doctor", "status", "selftest", "demo", "count", "list", "ping", "replay"} {
		t.Run(cmd, func(t *testing.T) {
			code, out, stderr := runCLI(t, "", cmd, "--dsn", dsn)
			if code != exitUsage {
				t.Errorf("exit %d, want %d\n%s%s", code, exitUsage, out, stderr)
			}
			if strings.Contains(out+stderr, "QZJV") {
				t.Errorf("output shows the misspelled secret's value:\n%s%s", out, stderr)
			}
		})
	}
}
