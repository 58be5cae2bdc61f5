package redistest

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/apt-detection/alertstore/backend"
	"github.com/apt-detection/alertstore/backends/internal/redislist"
	"github.com/apt-detection/alertstore/conformance"
	"github.com/apt-detection/alertstore/conformance/containers"
)

// The users of the ACL tests.
const (
	aclAdminPass  = "admin-Pa55"
	aclWriterPass = "writer-Pa55"
	aclReaderPass = "reader-Pa55"
	// conformancePrefix is where the conformance suite makes its scratch
	// namespaces (conformance.Run's default base).
	conformancePrefix = "alertstore-conformance:"
)

// RunACLTests runs the least-privilege roles of docs/security.md on a
// server of spec's own whose default user is disabled (an admin user sets
// up and inspects): the whole conformance suite passes as the writer, and
// the server's ACL LOG shows not one refusal (so the role grants every
// command the backend sends); the writer is refused what the role leaves
// out; the reader lists, counts and watches, and is refused every write,
// DEL, FLUSHALL, CONFIG, KEYS, scripts that write, and other prefixes.
func RunACLTests(t *testing.T, scheme string, spec containers.ServerSpec) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	srv := containers.StartServer(ctx, t, spec, containers.WithPassword(aclAdminPass))
	mustDo := func(args ...string) {
		t.Helper()
		if _, err := srv.Do(ctx, args...); err != nil {
			t.Fatalf("%s %s: %v", args[0], args[1], err)
		}
	}
	// The admin first, then the default user off: from here on the
	// helpers' own connections (AUTH as default) are refused too.
	mustDo("ACL", "SETUSER", "admin", "on", ">"+aclAdminPass, "~*", "&*", "+@all")
	admin := redis.NewClient(&redis.Options{Addr: srv.Addr(), Username: "admin", Password: aclAdminPass, Protocol: 2})
	t.Cleanup(func() { _ = admin.Close() })
	mustDo("ACL", "SETUSER", "default", "off")
	if _, err := srv.Do(ctx, "PING"); err == nil {
		t.Fatal("the default user still works after ACL SETUSER default off")
	}
	setUser := func(user, prefix, pass string, cmds []string) {
		t.Helper()
		set := func(cmds []string) error {
			args := []any{"ACL", "SETUSER", user}
			for _, r := range redislist.RoleRules(prefix, pass, cmds) {
				args = append(args, r)
			}
			return admin.Do(ctx, args...).Err()
		}
		err := set(cmds)
		if err != nil && strings.Contains(err.Error(), "'+client|setinfo'") {
			// Redis 7.0 has no CLIENT SETINFO (7.2 added it), and
			// refuses a rule naming it; the clients' SETINFO then
			// fails as an unknown command, which they ignore.
			err = set(slices.DeleteFunc(slices.Clone(cmds), func(c string) bool { return c == "client|setinfo" }))
		}
		if err != nil {
			t.Fatalf("ACL SETUSER %s: %v", user, err)
		}
	}
	userDSN := func(user, pass, prefix string) string {
		d := DSN(scheme, srv.Addr(), backend.Config{Prefix: prefix}, "")
		return strings.Replace(d, "://", "://"+url.UserPassword(user, pass).String()+"@", 1)
	}
	refusals := func(t *testing.T, user string) []string {
		t.Helper()
		entries, err := admin.Do(ctx, "ACL", "LOG").Slice()
		if err != nil {
			t.Fatal(err)
		}
		var out []string
		for _, e := range entries {
			m := fmt.Sprint(e)
			if strings.Contains(m, "username "+user+" ") {
				out = append(out, m)
			}
		}
		return out
	}

	t.Run("ConformanceAsWriter", func(t *testing.T) {
		setUser("suite-writer", conformancePrefix, aclWriterPass, redislist.WriterCommands)
		admin.Do(ctx, "ACL", "LOG", "RESET")
		conformance.RunConformanceTests(t, conformance.DSNHarness(func(context.Context, testing.TB) (string, error) {
			return strings.Replace(scheme+"://"+srv.Addr()+"/0", "://", "://"+url.UserPassword("suite-writer", aclWriterPass).String()+"@", 1), nil
		}))
		if r := refusals(t, "suite-writer"); len(r) > 0 {
			t.Errorf("the server refused the writer %d times (the role lacks a command the backend sends):\n%s", len(r), strings.Join(r, "\n"))
		}
	})

	prefix := Prefix(t)
	setUser("writer", prefix, aclWriterPass, redislist.WriterCommands)
	setUser("reader", prefix, aclReaderPass, redislist.ReaderCommands)
	keys := redislist.NewKeys(prefix)
	writerClient := redis.NewClient(&redis.Options{Addr: srv.Addr(), Username: "writer", Password: aclWriterPass, Protocol: 2})
	readerClient := redis.NewClient(&redis.Options{Addr: srv.Addr(), Username: "reader", Password: aclReaderPass, Protocol: 2})
	t.Cleanup(func() { _ = writerClient.Close(); _ = readerClient.Close() })
	// Commands neither role may run, whatever the key.
	serverCommands := [][]any{
		{"CLIENT", "KILL", "TYPE", "normal"},
		{"CLIENT", "PAUSE", "1000"},
		{"FUNCTION", "FLUSH"},
		{"SCRIPT", "FLUSH"},
		{"FLUSHALL"},
		{"FLUSHDB"},
		{"CONFIG", "GET", "*"},
		{"CONFIG", "SET", "appendonly", "no"},
		{"KEYS", "*"},
		{"SCAN", "0"},
		{"MONITOR"},
		{"SHUTDOWN", "NOSAVE"},
		{"CLIENT", "LIST"},
		{"SWAPDB", "0", "1"},
		{"ACL", "SETUSER", "x", "on"},
		{"ACL", "LIST"},
		{"RPUSH", "elsewhere:alerts", "{}"},
		{"DEL", "elsewhere:alerts"},
		{"LRANGE", "elsewhere:alerts", "0", "-1"},
		{"PUBLISH", "elsewhere:alerts:events", "1"},
	}
	refused := func(t *testing.T, c *redis.Client, who string, cmd []any) {
		t.Helper()
		err := c.Do(ctx, cmd...).Err()
		if err == nil || !strings.HasPrefix(err.Error(), "NOPERM") {
			t.Errorf("%s ran %v: %v, want NOPERM", who, cmd, err)
		}
	}

	t.Run("WriterIsRefusedTheServer", func(t *testing.T) {
		for _, cmd := range serverCommands {
			refused(t, writerClient, "the writer", cmd)
		}
	})

	t.Run("ReaderReadsAndWatches", func(t *testing.T) {
		w := Open(t, userDSN("writer", aclWriterPass, prefix))
		r := Open(t, userDSN("reader", aclReaderPass, prefix))
		ctx := testCtx(t)
		sub, err := r.Watch(ctx)
		if err != nil {
			t.Fatalf("Watch as the reader: %v", err)
		}
		defer sub.Close()
		x := store(t, w, 3, "acl")
		for _, want := range x {
			if got, err := sub.Next(ctx); err != nil || got.ID() != want.ID() {
				t.Fatalf("Watch.Next as the reader = %v, %v", got, err)
			}
		}
		wantIDs(t, list(t, r, backend.Query{}), newestFirst(x)...)
		if n := count(t, r); n != 3 {
			t.Errorf("Count as the reader = %d, want 3", n)
		}
		if err := r.Ping(ctx); err != nil {
			t.Errorf("Ping as the reader: %v", err)
		}
		// status, cap and doctor read the namespace's record, as either
		// role: its script only reads and runs with EVALSHA_RO.
		for role, st := range map[string]*backend.Store{"writer": w, "reader": r} {
			if info, err := st.NamespaceInfo(ctx); err != nil || info.Cap == 0 || info.Len != 3 {
				t.Errorf("NamespaceInfo as the %s = %+v, %v; want the recorded cap and 3 entries", role, info, err)
			}
		}
		if got := refusals(t, "reader"); len(got) > 0 {
			t.Errorf("the server refused the reader's reads:\n%s", strings.Join(got, "\n"))
		}
	})

	t.Run("ReaderCannotWrite", func(t *testing.T) {
		r := Open(t, userDSN("reader", aclReaderPass, prefix))
		ctx := testCtx(t)
		before, _ := admin.LLen(ctx, keys.List).Result()
		for op, err := range map[string]error{
			"store": r.Store(ctx, newAlert(t, "forged")),
			"clear": r.Clear(ctx),
			"drop":  r.Drop(ctx),
		} {
			if !errors.Is(err, backend.ErrSecurity) || !strings.Contains(err.Error(), "NOPERM") {
				t.Errorf("%s as the reader: %v, want ErrSecurity (NOPERM)", op, err)
			}
		}
		own := [][]any{
			{"RPUSH", keys.List, "{}"},
			{"LTRIM", keys.List, "0", "0"},
			{"DEL", keys.List},
			{"SET", keys.Seq, "0"},
			{"LSET", keys.List, "0", "{}"},
			{"PUBLISH", keys.Events, "1"},
			// A script that writes, through every script command.
			{"EVAL", "return redis.call('DEL', KEYS[1])", "1", keys.List},
			{"EVALSHA", "0000000000000000000000000000000000000000", "1", keys.List},
			{"EVAL_RO", "return redis.call('DEL', KEYS[1])", "1", keys.List},
			{"FCALL", "f", "1", keys.List},
		}
		for _, cmd := range own {
			err := readerClient.Do(ctx, cmd...).Err()
			// EVAL_RO runs, but the server refuses the DEL inside it.
			refusal := err != nil && slices.ContainsFunc([]string{
				"NOPERM", "Write commands are not allowed from read-only scripts",
				"ACL failure in script",                // Redis 8, Valkey
				"can't run this command or subcommand", // Redis 7.0
			}, func(s string) bool { return strings.Contains(err.Error(), s) })
			if !refusal {
				t.Errorf("the reader ran %v: %v, want a refusal", cmd, err)
			}
		}
		for _, cmd := range serverCommands {
			refused(t, readerClient, "the reader", cmd)
		}
		if after, _ := admin.LLen(ctx, keys.List).Result(); after != before {
			t.Errorf("LLEN went from %d to %d while the reader tried to write", before, after)
		}
	})
}
