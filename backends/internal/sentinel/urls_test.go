package sentinel

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/apt-detection/alertstore/backend"
	"github.com/apt-detection/alertstore/registry"
)

// secret and sentinelSecret are the passwords of the DSNs below: neither
// may appear in an error or a String().
const (
	secret         = "s3cr3t-Pa55"
	sentinelSecret = "s3nt1nel-Pa55"
)

// parse runs what the opener runs before any I/O: the shared parameters,
// then ours, then the registry's check that nothing was left over.
func parse(t *testing.T, s string) (Config, error) {
	t.Helper()
	d, err := registry.ParseDSN(s)
	if err != nil {
		return Config{}, err
	}
	common, err := d.Common()
	if err != nil {
		return Config{}, err
	}
	c, err := ParseDSN(d, common)
	if err != nil {
		return c, err
	}
	return c, d.Unknown()
}

// testSchemes are the schemes the backends register Open under.
var testSchemes = []string{"redis+sentinel", "valkey+sentinel"}

// testRegistry registers testSchemes with Open and a client constructor
// that fails the test: the DSNs opened through it must fail before a
// client is made (no client library is linked into this package).
func testRegistry(t *testing.T) *registry.Registry {
	r := &registry.Registry{}
	for _, scheme := range testSchemes {
		r.Register(scheme, func(ctx context.Context, dsn *registry.DSN, cfg backend.Config) (backend.Driver, error) {
			return Open(ctx, dsn, cfg, func(context.Context, Config) (Client, error) {
				t.Errorf("%s: a client was made for a DSN that must fail before", dsn)
				return nil, errors.New("no client in this test")
			})
		})
	}
	return r
}

func TestParseDSN(t *testing.T) {
	passFile := filepath.Join(t.TempDir(), "sentinel-pass")
	if err := os.WriteFile(passFile, []byte(sentinelSecret+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	// want lists only the fields compared; zero values are compared too.
	type want struct {
		master           string
		sentinels        []string
		sentUser, sentPw string
		user, pw         string
		db               int
		minReplicas      int
		replicaTimeout   time.Duration
		checkInterval    time.Duration
		tls              bool
		tlsServerName    string
		dialTimeout      time.Duration
		readTimeout      time.Duration
		timeout          time.Duration
	}
	def := func(w want) want {
		if w.checkInterval == 0 {
			w.checkInterval = DefaultCheckInterval
		}
		if w.dialTimeout == 0 {
			w.dialTimeout = 5 * time.Second
		}
		if w.timeout == 0 {
			w.timeout = backend.DefaultTimeout
		}
		return w
	}
	tests := []struct {
		name string
		dsn  string
		want want
	}{
		{"one sentinel, default port", "redis+sentinel://sentinel1/mymaster",
			want{master: "mymaster", sentinels: []string{"sentinel1:26379"}}},
		{"addr list in order", "redis+sentinel://s1:26379/mymaster?addr=s2:26380&addr=s3",
			want{master: "mymaster", sentinels: []string{"s1:26379", "s2:26380", "s3:26379"}}},
		{"ipv6 host and addr", "valkey+sentinel://[::1]:26379/mymaster?addr=[fe80::2]:26380&addr=[2001:db8::3]",
			want{master: "mymaster", sentinels: []string{"[::1]:26379", "[fe80::2]:26380", "[2001:db8::3]:26379"}}},
		{"ipv6 with a zone", "redis+sentinel://[fe80::1%25eth0]/m?addr=[fe80::2%25eth0]:26380",
			want{master: "m", sentinels: []string{"[fe80::1%eth0]:26379", "[fe80::2%eth0]:26380"}}},
		{"db in the path", "redis+sentinel://s1/alerts-master/3",
			want{master: "alerts-master", sentinels: []string{"s1:26379"}, db: 3}},
		{"db parameter", "redis+sentinel://s1/m?db=15",
			want{master: "m", sentinels: []string{"s1:26379"}, db: 15}},
		{"trailing slash", "redis+sentinel://s1/m/",
			want{master: "m", sentinels: []string{"s1:26379"}}},
		{"escaped master name", "redis+sentinel://s1/team%2Fmaster.1/2",
			want{master: "team/master.1", sentinels: []string{"s1:26379"}, db: 2}},
		{"data password in user info", "redis+sentinel://:" + secret + "@s1/m",
			want{master: "m", sentinels: []string{"s1:26379"}, pw: secret}},
		{"data acl user in user info", "valkey+sentinel://alice:" + secret + "@s1/m",
			want{master: "m", sentinels: []string{"s1:26379"}, user: "alice", pw: secret}},
		{"data credentials as parameters", "redis+sentinel://s1/m?username=alice&password=" + secret,
			want{master: "m", sentinels: []string{"s1:26379"}, user: "alice", pw: secret}},
		{"sentinel password only", "redis+sentinel://s1/m?sentinel_password=" + sentinelSecret,
			want{master: "m", sentinels: []string{"s1:26379"}, sentPw: sentinelSecret}},
		{"both kinds of credentials", "valkey+sentinel://alice:" + secret + "@s1/m?sentinel_username=sam&sentinel_password=" + sentinelSecret,
			want{master: "m", sentinels: []string{"s1:26379"}, user: "alice", pw: secret, sentUser: "sam", sentPw: sentinelSecret}},
		{"sentinel password from a file", "redis+sentinel://s1/m?sentinel_username=sam&sentinel_password_file=" + passFile,
			want{master: "m", sentinels: []string{"s1:26379"}, sentUser: "sam", sentPw: sentinelSecret}},
		{"min_replicas with the default wait", "redis+sentinel://s1/m?min_replicas=1",
			want{master: "m", sentinels: []string{"s1:26379"}, minReplicas: 1, replicaTimeout: time.Second}},
		{"min_replicas wait capped at half the timeout", "redis+sentinel://s1/m?min_replicas=2&timeout=1s",
			want{master: "m", sentinels: []string{"s1:26379"}, minReplicas: 2, replicaTimeout: 500 * time.Millisecond, timeout: time.Second}},
		{"min_replicas and replica_timeout", "valkey+sentinel://s1/m?min_replicas=2&replica_timeout=250ms",
			want{master: "m", sentinels: []string{"s1:26379"}, minReplicas: 2, replicaTimeout: 250 * time.Millisecond}},
		{"check_interval", "redis+sentinel://s1/m?check_interval=1s",
			want{master: "m", sentinels: []string{"s1:26379"}, checkInterval: time.Second}},
		{"redisconf timeouts", "redis+sentinel://s1/m?dial_timeout=300ms&read_timeout=2s",
			want{master: "m", sentinels: []string{"s1:26379"}, dialTimeout: 300 * time.Millisecond, readTimeout: 2 * time.Second}},
		{"tls checks each node's own name", "redis+sentinel://s1/m?tls=true",
			want{master: "m", sentinels: []string{"s1:26379"}, tls: true}},
		{"tls with a fixed name", "redis+sentinel://s1/m?tls=true&tls_server_name=redis.example",
			want{master: "m", sentinels: []string{"s1:26379"}, tls: true, tlsServerName: "redis.example"}},
		{"shared parameters", "redis+sentinel://s1/m?prefix=x:&max_alerts=5&timeout=2s",
			want{master: "m", sentinels: []string{"s1:26379"}, timeout: 2 * time.Second}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := parse(t, tt.dsn)
			if err != nil {
				t.Fatal(err)
			}
			w := def(tt.want)
			tlsOn, serverName := c.Data.TLS != nil, ""
			if tlsOn {
				serverName = c.Data.TLS.ServerName
			}
			for _, f := range []struct {
				field     string
				got, want any
			}{
				{"MasterName", c.MasterName, w.master},
				{"Sentinels", c.Sentinels, w.sentinels},
				{"SentinelUsername", c.SentinelUsername, w.sentUser},
				{"SentinelPassword", c.SentinelPassword == w.sentPw, true},
				{"Data.Username", c.Data.Username, w.user},
				{"Data.Password", c.Data.Password == w.pw, true},
				{"Data.DB", c.Data.DB, w.db},
				{"MinReplicas", c.MinReplicas, w.minReplicas},
				{"ReplicaTimeout", c.ReplicaTimeout, w.replicaTimeout},
				{"CheckInterval", c.CheckInterval, w.checkInterval},
				{"Data.DialTimeout", c.Data.DialTimeout, w.dialTimeout},
				{"Data.ReadTimeout", c.Data.ReadTimeout, w.readTimeout},
				{"Timeout", c.Timeout, w.timeout},
				{"TLS", tlsOn, w.tls},
				{"TLS.ServerName", serverName, w.tlsServerName},
			} {
				if !reflect.DeepEqual(f.got, f.want) {
					t.Errorf("%s = %v, want %v", f.field, f.got, f.want)
				}
			}
			for _, s := range []string{c.String(), fmt.Sprintf("%#v", c), fmt.Sprintf("%v", c)} {
				if strings.Contains(s, secret) || strings.Contains(s, sentinelSecret) {
					t.Errorf("a password shows in %q", s)
				}
			}
		})
	}
}

func TestParseDSNRejects(t *testing.T) {
	userinfo := "alice:" + secret + "@"
	emptyFile := filepath.Join(t.TempDir(), "empty")
	if err := os.WriteFile(emptyFile, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name, dsn, want string
	}{
		{"no host", "redis+sentinel:///mymaster", "no sentinel address"},
		{"no master name", "redis+sentinel://" + userinfo + "s1:26379", "no master name"},
		{"empty master name", "redis+sentinel://s1:26379//0", "no master name"},
		{"too many path parts", "redis+sentinel://s1/m/0/1", "want /<master-name> or /<master-name>/<db>"},
		{"db not a number", "redis+sentinel://s1/m/zero", "not a database number"},
		{"db out of range", "redis+sentinel://s1/m/10001", "out of range"},
		{"db twice", "redis+sentinel://s1/m/1?db=2", "database given twice"},
		{"space in master name", "redis+sentinel://s1/my%20master", "no spaces"},
		{"bad sentinel port", "redis+sentinel://" + userinfo + "s1:0/m", "not in 1..65535"},
		{"empty sentinel port", "redis+sentinel://s1:/m", "port"},
		{"unbracketed ipv6 addr", "redis+sentinel://s1/m?addr=::1:26379", "IPv6 address goes in brackets"},
		{"bad bracketed addr", "redis+sentinel://s1/m?addr=[::1", "missing ']'"},
		{"not an ipv6 in brackets", "redis+sentinel://s1/m?addr=[s2]:1", "is not an IPv6 address"},
		{"empty addr", "redis+sentinel://s1/m?addr=", "empty address"},
		{"duplicate sentinel", "redis+sentinel://s1:26379/m?addr=s1", "given twice"},
		{"addr with a path", "redis+sentinel://s1/m?addr=s2/x", "value not shown"},
		{"stray bracket", "redis+sentinel://s1/m?addr=]", "value not shown"},
		{"ipv4 in brackets", "redis+sentinel://s1/m?addr=[10.0.0.1]:1", "is not an IPv6 address"},
		{"sentinel user without password", "redis+sentinel://s1/m?sentinel_username=sam", "without sentinel_password"},
		{"empty sentinel user", "redis+sentinel://s1/m?sentinel_username=&sentinel_password=" + sentinelSecret, "sentinel_username= is empty"},
		{"sentinel password twice", "redis+sentinel://s1/m?sentinel_password=" + sentinelSecret + "&sentinel_password_file=/x", "not both"},
		{"sentinel password file missing", "redis+sentinel://s1/m?sentinel_password_file=/nonexistent/x", "reading sentinel_password_file"},
		{"data password twice", "redis+sentinel://" + userinfo + "s1/m?password=" + secret, "password given twice"},
		{"replica_timeout alone", "redis+sentinel://s1/m?replica_timeout=1s", "replica_timeout without min_replicas"},
		{"replica_timeout not below timeout", "redis+sentinel://s1/m?min_replicas=1&replica_timeout=5s", "must be below timeout"},
		{"min_replicas negative", "redis+sentinel://s1/m?min_replicas=-1", "out of range"},
		{"min_replicas too big", "redis+sentinel://s1/m?min_replicas=101", "out of range"},
		{"min_replicas not a number", "redis+sentinel://s1/m?min_replicas=all", "not a whole number"},
		{"check_interval too short", "redis+sentinel://s1/m?check_interval=10ms", "out of range"},
		{"check_interval bare number", "redis+sentinel://s1/m?check_interval=5", "not a duration"},
		{"go-redis' master_name", "redis+sentinel://s1/m?master_name=m", `unknown parameter "master_name"`},
		{"valkey-go's master_set", "valkey+sentinel://s1/m?master_set=m", `unknown parameter "master_set"`},
		{"a client retry option", "redis+sentinel://" + userinfo + "s1/m?max_retries=3&sentinel_password=" + sentinelSecret, `unknown parameter "max_retries"`},
		{"a typo", "valkey+sentinel://s1/m?min_replica=1", `unknown parameter "min_replica"`},
		{"tls option without tls", "redis+sentinel://s1/m?tls_ca=/x", "TLS is off"},
		{"bad dial_timeout", "redis+sentinel://" + userinfo + "s1/m?dial_timeout=fast", "not a duration"},
		{"bad prefix", "redis+sentinel://s1/m?prefix=a*b", "prefix"},
		{"credentials in addr", "redis+sentinel://s1/m?addr=sam:" + sentinelSecret + "@s2:26379", "%40"},
		{"a dsn in addr", "redis+sentinel://s1/m?addr=redis://:" + sentinelSecret + "@s2:26379", "value not shown"},
		{"a password in addr", "redis+sentinel://s1/m?addr=" + url.QueryEscape("p/"+sentinelSecret+"?x"), "value not shown"},
		{"empty sentinel password", "redis+sentinel://s1/m?sentinel_password=", "sentinel_password= is empty"},
		{"empty sentinel password file", "redis+sentinel://s1/m?sentinel_password_file=" + emptyFile, "holds no password"},
		{"sentinel user with empty password", "redis+sentinel://s1/m?sentinel_username=sam&sentinel_password=", "sentinel_password= is empty"},
		{"data user without password", "redis+sentinel://alice@s1/m", "user name without a password"},
		{"data user with empty password", "valkey+sentinel://alice:@s1/m", "password in the user info is empty"},
		{"data username param without password", "valkey+sentinel://s1/m?username=alice", "user name without a password"},
		{"empty data password param", "redis+sentinel://s1/m?password=", "password= is empty"},
		{"unknown after the sentinel password not named", "redis+sentinel://s1/m?sentinel_password=" + sentinelSecret + "&tail=1", "1 unknown parameter(s)"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := parse(t, tt.dsn)
			if err == nil {
				t.Fatalf("%s accepted", registry.RedactDSN(tt.dsn))
			}
			if !errors.Is(err, backend.ErrInvalidConfig) {
				t.Errorf("error %v does not wrap ErrInvalidConfig", err)
			}
			if !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error %q does not say %q", err, tt.want)
			}
			if strings.Contains(err.Error(), secret) || strings.Contains(err.Error(), sentinelSecret) {
				t.Errorf("error shows a password: %v", err)
			}
			// Through the registry too: rejected before any I/O (nothing
			// listens on s1), with the scheme in the error.
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			_, err = testRegistry(t).Open(ctx, tt.dsn)
			if !errors.Is(err, backend.ErrInvalidConfig) {
				t.Errorf("registry.Open: %v, want ErrInvalidConfig", err)
			}
			if err != nil && (strings.Contains(err.Error(), secret) || strings.Contains(err.Error(), sentinelSecret)) {
				t.Errorf("registry.Open error shows a password: %v", err)
			}
		})
	}
}

// TestCredentialMapping checks the monitor's half of the table of the
// package doc: the master check authenticates to the sentinels with the
// sentinel credentials and to the data nodes with the data credentials.
// (Each backend's TestCredentialMapping checks its library's half.)
func TestCredentialMapping(t *testing.T) {
	c, err := parse(t, "redis+sentinel://alice:"+secret+"@s1:26379/mymaster/2?addr=[::1]:26380&sentinel_username=sam&sentinel_password="+sentinelSecret+"&timeout=3s&read_timeout=1s&pool_size=7")
	if err != nil {
		t.Fatal(err)
	}
	// The master check: sentinels with the sentinel credentials, data
	// nodes with the data credentials.
	m := newMonitor(c, nil)
	if m.sentinelEP.username != "sam" || m.sentinelEP.password != sentinelSecret {
		t.Errorf("monitor's sentinel credentials = %q/%t", m.sentinelEP.username, m.sentinelEP.password == sentinelSecret)
	}
	if m.dataEP.username != "alice" || m.dataEP.password != secret {
		t.Errorf("monitor's data credentials = %q/%t", m.dataEP.username, m.dataEP.password == secret)
	}
}

// TestOpenNoSentinel needs no server: with nothing listening on the
// sentinel addresses, Open fails at once with ErrUnavailable naming every
// sentinel it tried, and leaves nothing running.
func TestOpenNoSentinel(t *testing.T) {
	var addrs []string
	for range 2 {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		addrs = append(addrs, ln.Addr().String())
		ln.Close()
	}
	for _, scheme := range testSchemes {
		t.Run(scheme, func(t *testing.T) {
			dsn := scheme + "://:" + secret + "@" + addrs[0] + "/mymaster?addr=" + addrs[1] + "&sentinel_password=" + sentinelSecret + "&timeout=2s"
			begin := time.Now()
			_, err := testRegistry(t).Open(context.Background(), dsn)
			if !errors.Is(err, backend.ErrUnavailable) {
				t.Fatalf("Open = %v, want ErrUnavailable", err)
			}
			if d := time.Since(begin); d > 2*time.Second {
				t.Errorf("Open took %s with every sentinel refusing connections", d)
			}
			for _, a := range addrs {
				if !strings.Contains(err.Error(), a) {
					t.Errorf("error does not name sentinel %s: %v", a, err)
				}
			}
			if !strings.Contains(err.Error(), "mymaster") {
				t.Errorf("error does not name the master: %v", err)
			}
			if strings.Contains(err.Error(), secret) || strings.Contains(err.Error(), sentinelSecret) {
				t.Errorf("error shows a password: %v", err)
			}
		})
	}
}

// TestErrorsNameTheUsersDSN: a data-node parameter is checked by the
// goredis/valkeygo parser on a DSN built for it, but the error shows the DSN
// the user wrote, master name, addr= and all (passwords redacted).
func TestErrorsNameTheUsersDSN(t *testing.T) {
	_, err := parse(t, "valkey+sentinel://:"+secret+"@s1:26379/mymaster/2?addr=s2:26379&dial_timeout=fast&sentinel_password="+sentinelSecret)
	if err == nil {
		t.Fatal("accepted")
	}
	for _, want := range []string{"valkey+sentinel://:xxxxx@s1:26379/mymaster/2?", "addr=s2%3A26379", "sentinel_password=xxxxx", `dial_timeout="fast" is not a duration`} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q lacks %q", err, want)
		}
	}
}

func FuzzParseDSN(f *testing.F) {
	for _, s := range []string{
		"s1:26379/mymaster",
		"s1/m/3?addr=s2&addr=[::1]:26380",
		"[::1]/m?min_replicas=1&replica_timeout=100ms&check_interval=1s",
		"s1/m?tls=true&tls_server_name=x&db=2",
		"s1/team%2Fm/0?sentinel_username=sam",
		"s1:0/m", "/m", "s1//", "s1/m?addr=::1", "s1/m?addr=[x]",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, rest string) {
		if strings.Contains(rest, "s3") || strings.Contains(rest, "Pa55") || strings.ContainsAny(rest, "%@") {
			return // could spell a password itself, or extend the user info
		}
		sep := "?"
		if strings.Contains(rest, "?") {
			sep = "&"
		}
		dsn := "redis+sentinel://alice:" + secret + "@" + rest + sep + "sentinel_password=" + sentinelSecret
		c, err := parse(t, dsn)
		if err != nil {
			if strings.Contains(err.Error(), secret) || strings.Contains(err.Error(), sentinelSecret) {
				t.Fatalf("error shows a password: %v", err)
			}
			return
		}
		if c.MasterName == "" || len(c.Sentinels) == 0 || c.Data.Password != secret || c.SentinelPassword != sentinelSecret {
			t.Fatalf("accepted %q as %s", rest, c)
		}
		for _, s := range c.Sentinels {
			if _, _, err := net.SplitHostPort(s); err != nil {
				t.Fatalf("sentinel address %q: %v", s, err)
			}
		}
		if s := c.String(); strings.Contains(s, secret) || strings.Contains(s, sentinelSecret) {
			t.Fatalf("String shows a password: %s", s)
		}
	})
}
