// Package doctor_test runs `alertstore doctor`'s checks (backends/doctor)
// against real servers, each set up to fail some checks and pass others.
package doctor_test

import (
	"context"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/apt-detection/alertstore/backends/doctor"
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
	for _, spec := range containers.Matrix() {
		t.Run(spec.Name, func(t *testing.T) {
			t.Parallel()
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
					want{"namespace", doctor.OK, "doctor:alerts"},
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
			t.Run("OtherPrefix", func(t *testing.T) {
				other := "redis://" + hard.Addr() + "/0?prefix=elsewhere%3A"
				expect(t, withUser(other, "reader", readerPass), true, want{"permissions", doctor.Fail, "may not run llen"})
			})
		})
	}
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
