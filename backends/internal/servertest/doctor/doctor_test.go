// Package doctor_test runs `alertstore doctor`'s checks (backends/doctor)
// against real servers, each set up to fail some checks and pass others.
package doctor_test

import (
	"context"
	"encoding/base64"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/apt-detection/alertstore/backend"
	"github.com/apt-detection/alertstore/backends/doctor"
	_ "github.com/apt-detection/alertstore/backends/goredis" // redis://, which the namespace checks open
	"github.com/apt-detection/alertstore/backends/internal/redislist"
	"github.com/apt-detection/alertstore/backends/internal/servertest/redistest"
	"github.com/apt-detection/alertstore/conformance/containers"
)

func TestMain(m *testing.M) { redistest.Main(m) }

// want is one expected finding: check (in the DSN's own scope) has
// verdict v and its line says says.
type want struct {
	check string
	v     doctor.Verdict
	says  string
}

func expect(t *testing.T, dsn string, unsafe bool, wants ...want) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	rep, err := doctor.Run(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	var lines []string
	for _, f := range rep.Findings {
		lines = append(lines, f.String())
	}
	all := strings.Join(lines, "\n")
	for _, w := range wants {
		f, ok := rep.Find("", w.check)
		if !ok || f.Verdict != w.v || !strings.Contains(f.String(), w.says) {
			t.Errorf("%s: got %q, want %s saying %q\nall findings:\n%s", w.check, f.String(), w.v, w.says, all)
		}
	}
	if rep.Unsafe() != unsafe {
		t.Errorf("Unsafe = %t, want %t\n%s", rep.Unsafe(), unsafe, all)
	}
	for _, secret := range []string{adminPass, writerPass, readerPass} {
		if strings.Contains(all, secret) {
			t.Errorf("a finding shows a password:\n%s", all)
		}
	}
}

const (
	adminPass  = "admin-Pa55"
	writerPass = "writer-Pa55"
	readerPass = "reader-Pa55"
)

func withUser(dsn, user, pass string) string {
	return strings.Replace(dsn, "://", "://"+url.UserPassword(user, pass).String()+"@", 1)
}

func TestDoctor(t *testing.T) {
	redistest.ForEachServer(t, func(t *testing.T, spec containers.ServerSpec) {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
		defer cancel()

		// An open server: no password, an evicting policy, no
		// persistence (the helpers' default: --save "" --appendonly no).
		open := containers.StartServer(ctx, t, spec, containers.WithArgs("--maxmemory-policy", "allkeys-lru"))
		// A replica of it.
		replica := containers.StartServer(ctx, t, spec, containers.WithArgs("--replicaof", "127.0.0.1", strconv.Itoa(open.Port())))
		// A hardened server: AOF with fsync always, noeviction (the
		// default), default user off, an admin and the two roles.
		hard := containers.StartServer(ctx, t, spec, containers.WithAOF(), containers.WithPassword(adminPass))
		prefix := "doctor:"
		setupUsers(ctx, t, hard, prefix)

		t.Run("OpenServer", func(t *testing.T) {
			expect(t, "redis://"+open.Addr()+"/0", true,
				want{"reachable", doctor.OK, "answers"},
				want{"tls", doctor.OK, "this machine only"},
				want{"default-user", doctor.Fail, "without any password"},
				want{"eviction", doctor.Fail, "allkeys-lru"},
				want{"persistence", doctor.Fail, "persistence is off"},
				want{"permissions", doctor.Fail, "config get"},
			)
		})
		t.Run("Replica", func(t *testing.T) {
			expect(t, "redis://"+replica.Addr()+"/0", true, want{"replication", doctor.Fail, "is a replica of 127.0.0.1:" + strconv.Itoa(open.Port())})
		})
		t.Run("OldVersion", func(t *testing.T) {
			// The matrix images are all behind a fixed advisory.
			expect(t, "redis://"+open.Addr()+"/0", true, want{"version", doctor.Fail, "CVE-2025-49844"})
		})
		dsn := "redis://" + hard.Addr() + "/0?prefix=" + url.QueryEscape(prefix)
		t.Run("HardenedAsAdmin", func(t *testing.T) {
			expect(t, withUser(dsn, "admin", adminPass), true,
				want{"default-user", doctor.OK, "refused"},
				want{"eviction", doctor.OK, "noeviction"},
				want{"persistence", doctor.OK, "appendfsync always"},
				want{"replication", doctor.Warn, "without replicas"},
				want{"permissions", doctor.Fail, "neither the writer nor the reader role needs"},
			)
		})
		t.Run("HardenedAsWriter", func(t *testing.T) {
			expect(t, withUser(dsn, "writer", writerPass), false,
				want{"reachable", doctor.OK, `user "writer"`},
				want{"default-user", doctor.OK, "refused"},
				want{"permissions", doctor.OK, "writer role"},
				want{"eviction", doctor.Warn, "may not run INFO"},
				want{"namespace", doctor.OK, `"doctor:" is empty`},
				want{"signing", doctor.Warn, "no sign_key_file"},
				want{"audit", doctor.OK, "no clear or cap change"},
			)
		})
		t.Run("HardenedAsReader", func(t *testing.T) {
			expect(t, withUser(dsn, "reader", readerPass), false, want{"permissions", doctor.OK, "reader role"})
		})
		t.Run("UserMissingLTRIM", func(t *testing.T) {
			expect(t, withUser(dsn, "partial", writerPass), true, want{"permissions", doctor.Fail, "ltrim"})
		})
		t.Run("WrongPassword", func(t *testing.T) {
			expect(t, withUser(dsn, "writer", "not-it"), true, want{"reachable", doctor.Fail, "refused the credentials"})
		})
		t.Run("TLS", func(t *testing.T) {
			pki, other := redistest.NewPKI(t, "alertstore"), redistest.NewPKI(t, "impostor")
			srv := containers.StartServer(ctx, t, spec, containers.WithTLS(containers.TLSFiles{Cert: pki.ServerCert, Key: pki.ServerKey, CA: pki.CAPEM}))
			base := "rediss://" + srv.TLSAddr() + "/0?tls_ca="
			expect(t, base+url.QueryEscape(redistest.WriteFile(t, "ca.pem", pki.CAPEM)), true,
				want{"tls", doctor.OK, "certificate verified"})
			expect(t, base+url.QueryEscape(redistest.WriteFile(t, "other.pem", other.CAPEM)), true,
				want{"reachable", doctor.Fail, "TLS failed"})
			expect(t, base+url.QueryEscape(redistest.WriteFile(t, "other.pem", other.CAPEM))+"&tls_insecure_skip_verify=true", true,
				want{"tls", doctor.Fail, "tls_insecure_skip_verify"})
		})
		t.Run("Namespace", func(t *testing.T) {
			testNamespace(ctx, t, open)
		})
		t.Run("OtherPrefix", func(t *testing.T) {
			other := "redis://" + hard.Addr() + "/0?prefix=elsewhere%3A"
			expect(t, withUser(other, "reader", readerPass), true, want{"permissions", doctor.Fail, "may not run llen"})
		})
	})
}

// setupUsers creates admin, writer, reader and a writer without LTRIM on
// srv, then turns the default user off.
func setupUsers(ctx context.Context, t *testing.T, srv *containers.Server, prefix string) {
	t.Helper()
	if _, err := srv.Do(ctx, "ACL", "SETUSER", "admin", "on", ">"+adminPass, "~*", "&*", "+@all"); err != nil {
		t.Fatal(err)
	}
	admin := redis.NewClient(&redis.Options{Addr: srv.Addr(), Username: "admin", Password: adminPass, Protocol: 2})
	t.Cleanup(func() { _ = admin.Close() })
	set := func(user, pass string, cmds []string) {
		for _, drop := range []string{"", "client|setinfo"} { // Redis 7.0 has no CLIENT SETINFO
			cmds = slices.DeleteFunc(slices.Clone(cmds), func(c string) bool { return c == drop })
			args := []any{"ACL", "SETUSER", user}
			for _, r := range redislist.RoleRules(prefix, pass, cmds) {
				args = append(args, r)
			}
			err := admin.Do(ctx, args...).Err()
			if err == nil {
				return
			}
			if drop != "" {
				t.Fatalf("ACL SETUSER %s: %v", user, err)
			}
		}
	}
	set("writer", writerPass, redislist.WriterCommands)
	set("reader", readerPass, redislist.ReaderCommands)
	set("partial", writerPass, slices.DeleteFunc(slices.Clone(redislist.WriterCommands), func(c string) bool { return c == "ltrim" }))
	if err := admin.Do(ctx, "ACL", "SETUSER", "default", "off").Err(); err != nil {
		t.Fatal(err)
	}
}

// testNamespace sets up namespaces on srv that fail the namespace,
// signing and audit checks: a list another tool trimmed below the
// recorded cap, a DSN whose max_alerts is below it, an alert edited
// after it was signed, unsigned alerts, a clear.
func testNamespace(ctx context.Context, t *testing.T, srv *containers.Server) {
	keys := redistest.WriteFile(t, "sign.keys", []byte("k1 "+base64.StdEncoding.EncodeToString([]byte(strings.Repeat("s", 32)))+"\n"))
	dsn := func(prefix, extra string) string {
		return "redis://" + srv.Addr() + "/0?prefix=" + url.QueryEscape(prefix) + extra
	}
	signed := "&sign_key_file=" + url.QueryEscape(keys)
	put := func(d string, n int) {
		t.Helper()
		s := redistest.Open(t, d)
		for i := range n {
			a := backend.NewAlert()
			if err := a.SetEntity("host-" + strconv.Itoa(i)); err != nil {
				t.Fatal(err)
			}
			if err := s.Store(ctx, a); err != nil {
				t.Fatal(err)
			}
		}
	}
	do := func(args ...string) any {
		t.Helper()
		v, err := srv.Do(ctx, args...)
		if err != nil {
			t.Fatal(err)
		}
		return v
	}

	trimmed := redistest.Prefix(t)
	put(dsn(trimmed, ""), 5)
	// An old tool's own trim, below the recorded cap of 1000.
	do("LTRIM", trimmed+"alerts", "-2", "-1")

	forged := redistest.Prefix(t)
	put(dsn(forged, signed), 3)
	// Someone with RPUSH edits the newest alert and pushes it again: its
	// signature no longer verifies.
	last, _ := do("LINDEX", forged+"alerts", "-1").(string)
	edited := strings.Replace(last, `"entity":"host-2"`, `"entity":"host-9"`, 1)
	if edited == last {
		t.Fatalf("cannot edit %q", last)
	}
	do("RPUSH", forged+"alerts", edited)

	cleared := redistest.Prefix(t)
	put(dsn(cleared, ""), 2)
	s := redistest.Open(t, dsn(cleared, ""))
	if err := s.Clear(ctx); err != nil {
		t.Fatal(err)
	}

	t.Run("TrimmedByAnotherTool", func(t *testing.T) {
		expect(t, dsn(trimmed, ""), true, want{"missing", doctor.Fail, "3 entries missing"})
	})
	t.Run("MaxAlertsBelowCap", func(t *testing.T) {
		expect(t, dsn(forged, "&max_alerts=2"), true, want{"namespace", doctor.Fail, "max_alerts=2 is below the cap 1000"})
	})
	t.Run("EditedAfterSigning", func(t *testing.T) {
		expect(t, dsn(forged, signed), true,
			want{"namespace", doctor.OK, "recorded cap 1000"},
			want{"missing", doctor.OK, "no entries missing"},
			want{"signing", doctor.Fail, "1 of the newest 4 alerts have a signature that does not verify"})
	})
	t.Run("Unsigned", func(t *testing.T) {
		expect(t, dsn(trimmed, signed), true, want{"signing", doctor.Warn, "2 of the newest 2 alerts are unsigned"})
	})
	t.Run("Cleared", func(t *testing.T) {
		expect(t, dsn(cleared, ""), true, want{"audit", doctor.Warn, "cleared 2 entries"})
	})
}
