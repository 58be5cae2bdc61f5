package doctor

import (
	"bytes"
	"context"
	"encoding/base64"
	"errors"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/apt-detection/alertstore/backend"
	"github.com/apt-detection/alertstore/registry"
)

func TestKnownVulns(t *testing.T) {
	for _, tt := range []struct {
		name    string
		table   []vuln
		version string
		want    []string // ids expected; nil: none
		not     []string // ids that must not be named
	}{
		{"RedisFixed", redisVulns, "8.2.8", nil, nil},
		{"RedisNewerBranch", redisVulns, "9.0.0", nil, nil},
		{"Redis80Old", redisVulns, "8.0.2", []string{"CVE-2025-49844", "CVE-2025-32023"}, []string{"CVE-2025-62507"}},
		{"Redis80Newest", redisVulns, "8.0.6", []string{"security release of 2026-07", "never fixed on the 8.0 branch"}, []string{"CVE-2025-49844", "2026-02", "CVE-2025-62507"}},
		{"Redis82BeforeXACKDELFix", redisVulns, "8.2.2", []string{"CVE-2025-62507", "2026-02", "2026-07"}, []string{"CVE-2025-49844"}},
		{"Redis70EndOfLife", redisVulns, "7.0.15", []string{"CVE-2025-49844", "CVE-2024-31449", "CVE-2024-51741", "never fixed on the 7.0 branch"}, []string{"CVE-2025-62507"}},
		{"Redis62BeforeSelectors", redisVulns, "6.2.23", nil, []string{"CVE-2024-51741", "2026-02"}},
		{"Redis72OneBehind", redisVulns, "7.2.10", []string{"CVE-2025-49844"}, []string{"CVE-2025-32023"}},
		{"Valkey81Debian", valkeyVulns, "8.1.1", []string{"CVE-2025-49844", "CVE-2025-32023", "CVE-2026-56684"}, []string{"CVE-2025-21605"}},
		{"Valkey81Patched", valkeyVulns, "8.1.9", nil, nil},
		{"Valkey80RevokedRelease", valkeyVulns, "8.0.8", []string{"CVE-2026-23479 (", "fixed in 8.0.9"}, nil},
		{"Valkey80", valkeyVulns, "8.0.1", []string{"CVE-2024-46981"}, []string{"CVE-2024-31449"}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			v, ok := parseVersion(tt.version)
			if !ok {
				t.Fatalf("parseVersion(%q) failed", tt.version)
			}
			got := strings.Join(knownVulns(tt.table, v), "\n")
			if tt.want == nil && got != "" {
				t.Errorf("%s: %s, want none", tt.version, got)
			}
			for _, w := range tt.want {
				if !strings.Contains(got, w) {
					t.Errorf("%s: %q does not name %s", tt.version, got, w)
				}
			}
			for _, n := range tt.not {
				if strings.Contains(got, n) {
					t.Errorf("%s: %q names %s", tt.version, got, n)
				}
			}
		})
	}
}

// A vulnerable version is FAIL, unless INFO server suggests a
// distribution's package (which backports fixes and keeps the upstream
// version): then WARN, saying why and how to check the package.
func TestCheckVersionDistribution(t *testing.T) {
	for _, tt := range []struct {
		name string
		info map[string]string
		want Verdict
		says string
	}{
		{"UpstreamOld", map[string]string{"redis_version": "7.2.4", "executable": "/usr/local/bin/redis-server"}, Fail, "CVE-2025-49844"},
		{"RelativeStart", map[string]string{"redis_version": "7.0.15", "executable": "/data/redis-server", "config_file": ""}, Fail, "security tracker"},
		{"DebianBinary", map[string]string{"redis_version": "7.0.15", "executable": "/usr/bin/redis-server"}, Warn, "executable /usr/bin/redis-server"},
		{"DebianConfig", map[string]string{"redis_version": "7.2.4", "valkey_version": "8.1.1", "executable": "/opt/x", "config_file": "/etc/valkey/valkey.conf"}, Warn, "config_file /etc/valkey/valkey.conf"},
		{"UpstreamCurrent", map[string]string{"redis_version": "8.2.8", "executable": "/usr/bin/redis-server"}, OK, "no known vulnerability"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			var r Report
			r.checkVersion("", tt.info, nil)
			f, ok := r.Find("", "version")
			if !ok {
				t.Fatal("no version finding")
			}
			if f.Verdict != tt.want || !strings.Contains(f.String(), tt.says) {
				t.Errorf("%s, want %s saying %q", f, tt.want, tt.says)
			}
			if tt.want == Warn && !strings.Contains(f.String(), "backport") {
				t.Errorf("%s does not explain backports", f)
			}
		})
	}
}

// Every fixed version of the tables parses and belongs to its branch, so
// that a typo cannot silently pass every server.
func TestVulnTablesWellFormed(t *testing.T) {
	for _, table := range [][]vuln{redisVulns, valkeyVulns} {
		for _, x := range table {
			release := strings.HasPrefix(x.id, "Redis security release of 20") || strings.HasPrefix(x.id, "Valkey security release of 20")
			if (!strings.HasPrefix(x.id, "CVE-") && !release) || x.what == "" || len(x.fixed) == 0 {
				t.Errorf("%+v: incomplete row", x)
			}
			if _, ok := parseVersion(x.since); x.since != "" && !ok {
				t.Errorf("%s: since %q is no version", x.id, x.since)
			}
			for b, f := range x.fixed {
				v, ok := parseVersion(f)
				if !ok || v.branch() != b {
					t.Errorf("%s: fixed[%q] = %q is not a release of that branch", x.id, b, f)
				}
			}
		}
	}
}

func TestFileChecks(t *testing.T) {
	dir := t.TempDir()
	if err := os.Chmod(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	private := filepath.Join(dir, "private.db")
	open := filepath.Join(dir, "open.db")
	for p, mode := range map[string]os.FileMode{private: 0o600, open: 0o644} {
		if err := os.WriteFile(p, nil, mode); err != nil {
			t.Fatal(err)
		}
		if err := os.Chmod(p, mode); err != nil {
			t.Fatal(err)
		}
	}
	link := filepath.Join(dir, "link.db")
	if err := os.Symlink(private, link); err != nil {
		t.Fatal(err)
	}
	bolt := func(p string) string { return "bolt://" + (&url.URL{Path: p}).EscapedPath() }
	for _, tt := range []struct {
		name, dsn, scope, check string
		want                    Verdict
		says                    string
	}{
		{"Private", bolt(private), "", "file", OK, "0600"},
		{"ReadableByOthers", bolt(open), "", "file", Fail, "chmod 600"},
		{"Symlink", bolt(link), "", "file", Warn, "symbolic link"},
		{"Missing", bolt(filepath.Join(dir, "none.db")), "", "file", Warn, "does not exist yet"},
		{"Memory", "mem://", "", "memory", Warn, "lost"},
		{"ChainTiers", "chain://?tier=" + url.QueryEscape("mem://") + "&tier=" + url.QueryEscape(bolt(open)), "tier 2", "file", Fail, "0644"},
		{"Sentinel", "redis+sentinel://s1:26379/mymaster", "", "sentinel", Warn, "each replica"},
		{"Cluster", "redis+cluster://n1:7000?addr=n2:7000", "", "cluster", Warn, "each master"},
		{"ValkeyCluster", "valkey+cluster://[::1]:7000", "", "cluster", Warn, "each master"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			rep, err := Run(context.Background(), tt.dsn)
			if err != nil {
				t.Fatal(err)
			}
			f, ok := rep.Find(tt.scope, tt.check)
			if !ok || f.Verdict != tt.want || !strings.Contains(f.String(), tt.says) {
				t.Fatalf("finding %s/%s = %v (found %t), want %s saying %q; all: %v", tt.scope, tt.check, f, ok, tt.want, tt.says, rep.Findings)
			}
			if rep.Unsafe() != (tt.want == Fail) {
				t.Errorf("Unsafe = %t with %v", rep.Unsafe(), rep.Findings)
			}
		})
	}
}

func TestBadDSN(t *testing.T) {
	for _, dsn := range []string{"redis://h/0?bogus=1", "bolt://host/x.db", "chain://"} {
		if _, err := Run(context.Background(), dsn); !errors.Is(err, backend.ErrInvalidConfig) {
			t.Errorf("Run(%q) = %v, want ErrInvalidConfig", dsn, err)
		}
	}
}

// The namespace, signing and audit checks of a bolt file, each set up to
// fail: an explicit max_alerts below the recorded cap, unsigned alerts, an
// alert signed with a key the DSN lacks, a clear that destroyed alerts.
func TestBoltNamespaceChecks(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	keyFile := func(name, id string, fill byte) string {
		p := filepath.Join(dir, name)
		secret := base64.StdEncoding.EncodeToString(bytes.Repeat([]byte{fill}, 32))
		if err := os.WriteFile(p, []byte(id+" "+secret+"\n"), 0o600); err != nil {
			t.Fatal(err)
		}
		return url.QueryEscape(p)
	}
	k1, k2 := keyFile("k1.keys", "k1", 'a'), keyFile("k2.keys", "k2", 'b')
	db := func(name string) string {
		return "bolt://" + (&url.URL{Path: filepath.Join(dir, name)}).EscapedPath()
	}
	put := func(dsn string, n int) {
		t.Helper()
		s, err := registry.Open(ctx, dsn)
		if err != nil {
			t.Fatal(err)
		}
		defer s.Close()
		for range n {
			a := backend.NewAlert()
			if err := a.SetEntity("host-1"); err != nil {
				t.Fatal(err)
			}
			if err := s.Store(ctx, a); err != nil {
				t.Fatal(err)
			}
		}
	}
	put(db("signed.db")+"?sign_key_file="+k1, 3)
	put(db("unsigned.db"), 2)
	put(db("mixed.db")+"?sign_key_file="+k1, 2)
	put(db("mixed.db")+"?sign_key_file="+k2, 1)
	put(db("cleared.db"), 4)
	if s, err := registry.Open(ctx, db("cleared.db")); err != nil {
		t.Fatal(err)
	} else {
		if err := s.Clear(ctx); err != nil {
			t.Fatal(err)
		}
		s.Close()
	}
	for _, tt := range []struct {
		name, dsn, check string
		want             Verdict
		says             string
	}{
		{"CapFollowed", db("unsigned.db"), "namespace", OK, "recorded cap 1000; this DSN sets no max_alerts"},
		{"CapAbove", db("unsigned.db") + "?max_alerts=5000", "namespace", OK, "max_alerts is 5000"},
		{"CapBelowRecorded", db("unsigned.db") + "?max_alerts=10", "namespace", Fail, "max_alerts=10 is below the cap 1000"},
		{"NoSigning", db("signed.db"), "signing", Warn, "no sign_key_file"},
		{"AllVerify", db("signed.db") + "?sign_key_file=" + k1, "signing", OK, "the newest 3 alerts all verify"},
		{"Unsigned", db("unsigned.db") + "?sign_key_file=" + k1, "signing", Warn, "2 of the newest 2 alerts are unsigned"},
		{"SignedWithAnotherKey", db("mixed.db") + "?sign_key_file=" + k1, "signing", Fail, "1 of the newest 3 alerts have a signature that does not verify"},
		{"NoAudit", db("signed.db"), "audit", OK, "no clear or cap change"},
		{"Cleared", db("cleared.db"), "audit", Warn, "cleared 4 entries"},
		{"EmptyFileUntouched", db("empty.db"), "namespace", OK, "empty: nothing stored yet"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			if tt.name == "EmptyFileUntouched" {
				if err := os.WriteFile(filepath.Join(dir, "empty.db"), nil, 0o600); err != nil {
					t.Fatal(err)
				}
			}
			rep, err := Run(ctx, tt.dsn)
			if err != nil {
				t.Fatal(err)
			}
			f, ok := rep.Find("", tt.check)
			if !ok || f.Verdict != tt.want || !strings.Contains(f.String(), tt.says) {
				t.Fatalf("finding %s = %v (found %t), want %s saying %q; all: %v", tt.check, f, ok, tt.want, tt.says, rep.Findings)
			}
			if tt.name == "EmptyFileUntouched" {
				if st, err := os.Stat(filepath.Join(dir, "empty.db")); err != nil || st.Size() != 0 {
					t.Errorf("doctor changed the empty file: %v, %v", st, err)
				}
			}
		})
	}
}
