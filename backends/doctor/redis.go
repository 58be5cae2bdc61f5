package doctor

import (
	"bufio"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"strconv"
	"strings"
	"time"

	"github.com/apt-detection/alertstore/backend"
	"github.com/apt-detection/alertstore/backends/internal/redisconf"
	"github.com/apt-detection/alertstore/backends/internal/redislist"
	"github.com/apt-detection/alertstore/internal/resp"
	"github.com/apt-detection/alertstore/registry"
)

// conn is one connection of doctor's own RESP client.
type conn struct {
	nc net.Conn
	r  *resp.Reader
}

// dial connects as rc says: TLS, AUTH, SELECT. withAuth false skips AUTH
// (the default-user check).
func dial(ctx context.Context, rc redisconf.Config, withAuth bool) (*conn, error) {
	d := net.Dialer{Timeout: rc.DialTimeout}
	nc, err := d.DialContext(ctx, rc.Network, rc.Addr)
	if err != nil {
		return nil, err
	}
	if dl, ok := ctx.Deadline(); ok {
		_ = nc.SetDeadline(dl)
	}
	if rc.TLS != nil {
		tc := tls.Client(nc, rc.TLS)
		if err := tc.HandshakeContext(ctx); err != nil {
			_ = nc.Close()
			return nil, err
		}
		nc = tc
	}
	c := &conn{nc: nc, r: resp.NewReader(bufio.NewReader(nc), resp.Limits{})}
	if withAuth && rc.Password != "" {
		args := []string{"AUTH", rc.Password}
		if rc.Username != "" {
			args = []string{"AUTH", rc.Username, rc.Password}
		}
		if _, err := c.do(args...); err != nil {
			c.close()
			return nil, fmt.Errorf("AUTH: %w", err) // never the arguments
		}
	}
	if rc.DB != 0 {
		if _, err := c.do("SELECT", strconv.Itoa(rc.DB)); err != nil {
			c.close()
			return nil, fmt.Errorf("SELECT %d: %w", rc.DB, err)
		}
	}
	return c, nil
}

func (c *conn) close() { _ = c.nc.Close() }

// do sends one command and reads its reply; an error reply is a
// resp.Error.
func (c *conn) do(args ...string) (any, error) {
	if _, err := c.nc.Write(resp.AppendCommand(nil, args...)); err != nil {
		return nil, err
	}
	return c.r.Read()
}

func noPerm(err error) bool {
	var re resp.Error
	return errors.As(err, &re) && re.Code() == "NOPERM"
}

// checkTimeout bounds the whole of one DSN's server checks.
const checkTimeout = 30 * time.Second

func (r *Report) checkRedis(ctx context.Context, full string, d *registry.DSN, scope string) error {
	cfg, err := d.Common()
	if err != nil {
		return err
	}
	t := redisconf.TCP
	switch d.Scheme() {
	case "rediss", "valkeys":
		t = redisconf.TLS
	case "unix":
		t = redisconf.Unix
	}
	rc, err := redisconf.Parse(d, t)
	if err != nil {
		return err
	}
	if cfg.Prefix == "" {
		cfg.Prefix = backend.DefaultPrefix
	}
	if cfg.MaxAlerts <= 0 {
		cfg.MaxAlerts = backend.DefaultMaxAlerts
	}
	ctx, cancel := context.WithTimeout(ctx, checkTimeout)
	defer cancel()

	where := rc.Addr
	c, err := dial(ctx, rc, true)
	switch {
	case err == nil:
	case redisconf.TLSFailure(err):
		r.add(scope, "reachable", Fail, fmt.Sprintf("%s answers, but TLS failed: %v", where, err),
			"give the CA that signed the server's certificate as tls_ca, a tls_server_name the certificate carries, and a client certificate (tls_cert, tls_key) if the server requires one")
		return nil
	case authRefused(err):
		r.add(scope, "reachable", Fail, fmt.Sprintf("%s refused the credentials: %v", where, err),
			"check the user name and password (password_file=) against the server's ACL users")
		return nil
	default:
		r.add(scope, "reachable", Fail, fmt.Sprintf("cannot reach %s: %v", where, err),
			"is the server running and reachable from here? check host, port and firewall")
		return nil
	}
	defer c.close()
	if v, err := c.do("PING"); v != "PONG" {
		if authRefused(err) {
			r.add(scope, "reachable", Fail, fmt.Sprintf("%s refuses PING: %v", where, err), "connect with credentials (user info, password_file=) of a user with the writer or reader role")
		} else {
			r.add(scope, "reachable", Fail, fmt.Sprintf("%s does not answer PING like a Redis or Valkey server (%v, %v)", where, v, err), "check host and port")
		}
		return nil
	}
	user := rc.Username
	if user == "" {
		user = "default"
	}
	r.add(scope, "reachable", OK, fmt.Sprintf("%s answers; authenticated as user %q", where, user), "")

	r.checkTLS(scope, rc)
	r.checkDefaultUser(ctx, scope, rc)
	info, infoErr := c.do("INFO")
	fields := parseInfo(info)
	r.checkVersion(scope, fields, infoErr)
	r.checkEviction(scope, fields, infoErr)
	r.checkPersistence(scope, c, fields, infoErr)
	r.checkReplication(scope, fields, infoErr)
	r.checkPermissions(scope, c, user, cfg.Prefix)
	r.namespaceChecks(ctx, scope, full)
	return nil
}

func authRefused(err error) bool {
	var re resp.Error
	if !errors.As(err, &re) {
		return false
	}
	return redisconf.Refusal(string(re)) || (re.Code() == "ERR" && strings.Contains(string(re), "AUTH"))
}

func (r *Report) checkTLS(scope string, rc redisconf.Config) {
	switch {
	case rc.TLS != nil && rc.TLS.InsecureSkipVerify:
		r.add(scope, "tls", Fail, "TLS without checking the server's certificate (tls_insecure_skip_verify=true): anyone on the network path can impersonate the server",
			"remove tls_insecure_skip_verify and give the server's CA as tls_ca")
	case rc.TLS != nil && len(rc.TLS.Certificates) > 0:
		r.add(scope, "tls", OK, "TLS, the server's certificate verified, with a client certificate (mutual TLS)", "")
	case rc.TLS != nil:
		r.add(scope, "tls", OK, "TLS, the server's certificate verified", "")
	case rc.Network == "unix" || isLoopback(rc.Host):
		r.add(scope, "tls", OK, "no TLS, on this machine only ("+rc.Addr+")", "")
	default:
		r.add(scope, "tls", Warn, "no TLS to "+rc.Addr+": the password and every alert cross the network in clear text",
			"configure TLS on the server (tls-port) and use rediss:// or valkeys:// with tls_ca (docs/security.md, TLS)")
	}
}

func isLoopback(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// checkDefaultUser connects without credentials: a server that answers
// PING then lets anyone who reaches the port read, alter and delete.
func (r *Report) checkDefaultUser(ctx context.Context, scope string, rc redisconf.Config) {
	c, err := dial(ctx, rc, false)
	if err != nil {
		r.add(scope, "default-user", Warn, fmt.Sprintf("could not check: %v", err), "")
		return
	}
	defer c.close()
	_, err = c.do("PING")
	switch {
	case err == nil:
		r.add(scope, "default-user", Fail, "the server answers without any password (the default user is on with nopass): anyone who reaches the port can read, forge and delete alerts",
			"ACL SETUSER default off (or requirepass), and give the application the writer role (docs/security.md)")
	case authRefused(err):
		r.add(scope, "default-user", OK, "a connection without credentials is refused", "")
	default:
		r.add(scope, "default-user", Warn, fmt.Sprintf("could not check: PING without credentials: %v", err), "")
	}
}

// parseInfo reads INFO's "key:value" lines.
func parseInfo(v any) map[string]string {
	s, _ := v.(string)
	out := map[string]string{}
	for _, line := range strings.Split(s, "\n") {
		k, val, ok := strings.Cut(strings.TrimSpace(line), ":")
		if ok {
			out[k] = val
		}
	}
	return out
}

func (r *Report) cannotRead(scope, check string, err error) {
	if noPerm(err) {
		r.add(scope, check, Warn, "could not check: the user may not run INFO (as it should be for the writer and reader roles)",
			"run alertstore doctor once more with an operator's DSN to check the server's settings")
		return
	}
	r.add(scope, check, Warn, fmt.Sprintf("could not check: %v", err), "")
}

func (r *Report) checkVersion(scope string, info map[string]string, infoErr error) {
	if infoErr != nil {
		r.cannotRead(scope, "version", infoErr)
		return
	}
	name, table, raw := "Redis", redisVulns, info["redis_version"]
	if v, ok := info["valkey_version"]; ok {
		name, table, raw = "Valkey", valkeyVulns, v
	}
	v, ok := parseVersion(raw)
	if !ok {
		r.add(scope, "version", Warn, fmt.Sprintf("cannot read the server version %q", raw), "")
		return
	}
	found := knownVulns(table, v)
	if len(found) == 0 {
		r.add(scope, "version", OK, fmt.Sprintf("%s %s: no known vulnerability in doctor's table", name, raw), "")
		return
	}
	detail := fmt.Sprintf("%s %s has %d known, fixed vulnerabilities: %s", name, raw, len(found), strings.Join(found, "; "))
	if hint := distributionBuild(info); hint != "" {
		r.add(scope, "version", Warn, detail+fmt.Sprintf(". But this looks like a distribution's build (%s), and distributions (Debian, Ubuntu, ...) backport security fixes without changing the upstream version, so it may have them", hint),
			fmt.Sprintf("check the installed package against the distribution's security tracker (Debian: dpkg -l '%s-server', then https://security-tracker.debian.org/tracker/<CVE>); upgrade the package if it is not fixed", strings.ToLower(name)))
		return
	}
	r.add(scope, "version", Fail, detail,
		"upgrade the server to the newest release of a maintained branch. If it is a distribution's package (Debian and Ubuntu backport fixes and keep the upstream version, which INFO cannot tell apart), check the package against the distribution's security tracker instead")
}

// distributionBuild says why INFO server suggests a distribution's
// package rather than an upstream build, or "". INFO names no
// distribution (redis_git_sha1 is zero in upstream tarball builds too,
// and os is the kernel), so this is a hint from where the package puts
// things: its binary in /usr/bin or /usr/sbin (upstream's make install
// and the official images use /usr/local/bin) and its configuration in
// /etc/redis or /etc/valkey. A server started another way (a relative
// path, no config file) gives no hint, and the check stays FAIL.
func distributionBuild(info map[string]string) string {
	exe, conf := info["executable"], info["config_file"]
	switch {
	case strings.HasPrefix(exe, "/usr/bin/") || strings.HasPrefix(exe, "/usr/sbin/"):
		return "executable " + exe
	case strings.HasPrefix(conf, "/etc/redis/") || strings.HasPrefix(conf, "/etc/valkey/"):
		return "config_file " + conf
	}
	return ""
}

func (r *Report) checkEviction(scope string, info map[string]string, infoErr error) {
	if infoErr != nil {
		r.cannotRead(scope, "eviction", infoErr)
		return
	}
	policy := info["maxmemory_policy"]
	switch policy {
	case "noeviction":
		r.add(scope, "eviction", OK, "maxmemory-policy noeviction: a full server refuses writes (reported as unavailable) instead of deleting alerts", "")
	case "":
		r.add(scope, "eviction", Warn, "INFO does not show maxmemory_policy", "")
	default:
		r.add(scope, "eviction", Fail, fmt.Sprintf("maxmemory-policy %s: when memory is full the server deletes keys, the alert list among them", policy),
			"CONFIG SET maxmemory-policy noeviction (and in the config file), or keep alerts on a server of their own with noeviction")
	}
}

func (r *Report) checkPersistence(scope string, c *conn, info map[string]string, infoErr error) {
	if infoErr != nil {
		r.cannotRead(scope, "persistence", infoErr)
		return
	}
	aof := info["aof_enabled"] == "1"
	if aof {
		fsync, err := configGet(c, "appendfsync")
		switch {
		case err != nil:
			r.add(scope, "persistence", OK, fmt.Sprintf("append-only file on (appendfsync unknown: %v)", err), "")
		case fsync == "always":
			r.add(scope, "persistence", OK, "append-only file with appendfsync always: an acknowledged alert is on disk", "")
		case fsync == "everysec":
			r.add(scope, "persistence", OK, "append-only file with appendfsync everysec: a crash of the machine can lose about the last second of alerts", "")
		default:
			r.add(scope, "persistence", Warn, fmt.Sprintf("append-only file with appendfsync %s: the operating system decides when alerts reach the disk", fsync),
				"CONFIG SET appendfsync everysec (or always)")
		}
		return
	}
	save, err := configGet(c, "save")
	switch {
	case err != nil:
		r.add(scope, "persistence", Warn, fmt.Sprintf("append-only file off; the snapshot schedule is unknown (%v)", err),
			"check CONFIG GET save with an operator's DSN; enable appendonly yes for alerts")
	case strings.TrimSpace(save) == "":
		r.add(scope, "persistence", Fail, "persistence is off (no append-only file, no snapshots): a restart of the server loses every alert",
			"CONFIG SET appendonly yes and appendfsync everysec (and in the config file)")
	default:
		r.add(scope, "persistence", Warn, fmt.Sprintf("snapshots only (save %q): a crash loses the alerts since the last snapshot", save),
			"CONFIG SET appendonly yes and appendfsync everysec")
	}
}

func configGet(c *conn, name string) (string, error) {
	v, err := c.do("CONFIG", "GET", name)
	if err != nil {
		return "", err
	}
	switch arr := v.(type) {
	case []any:
		if len(arr) == 2 {
			s, _ := arr[1].(string)
			return s, nil
		}
	}
	return "", fmt.Errorf("unexpected CONFIG GET reply %v", v)
}

// maxLag is the replica lag, in seconds, beyond which replication is
// reported: a failover then loses that much.
const maxLag = 10

func (r *Report) checkReplication(scope string, info map[string]string, infoErr error) {
	if infoErr != nil {
		r.cannotRead(scope, "replication", infoErr)
		return
	}
	switch info["role"] {
	case "master":
		n, _ := strconv.Atoi(info["connected_slaves"])
		if n == 0 {
			r.add(scope, "replication", Warn, "a master without replicas: the alerts are on one machine",
				"add a replica (and Sentinel, with redis+sentinel:// and min_replicas=1; docs/guarantees.md)")
			return
		}
		var lagging []string
		for i := range n {
			fields := map[string]string{}
			for _, kv := range strings.Split(info["slave"+strconv.Itoa(i)], ",") {
				k, v, _ := strings.Cut(kv, "=")
				fields[k] = v
			}
			if lag, _ := strconv.Atoi(fields["lag"]); lag > maxLag || fields["state"] != "online" {
				lagging = append(lagging, fmt.Sprintf("%s:%s state %s lag %ss", fields["ip"], fields["port"], fields["state"], fields["lag"]))
			}
		}
		if len(lagging) > 0 {
			r.add(scope, "replication", Warn, fmt.Sprintf("master with %d replicas, behind by more than %ds or not online: %s", n, maxLag, strings.Join(lagging, "; ")),
				"check the replicas' links and load; a failover now would lose what they have not received")
			return
		}
		r.add(scope, "replication", OK, fmt.Sprintf("master with %d replicas, all online within %ds", n, maxLag), "")
	case "slave":
		r.add(scope, "replication", Fail, fmt.Sprintf("this server is a replica of %s:%s (link %s): it refuses writes (READONLY), and its alerts may lag the master's",
			info["master_host"], info["master_port"], info["master_link_status"]),
			"point the DSN at the master, or use redis+sentinel:// so that the store follows failovers")
	default:
		r.add(scope, "replication", Warn, fmt.Sprintf("unknown role %q", info["role"]), "")
	}
}

// dangerous are side-effect-free commands that neither role grants: a user
// that may run one of them has more rights than the application needs.
var dangerous = [][]string{
	{"CONFIG", "GET", "maxmemory-policy"},
	{"ACL", "LIST"},
	{"CLIENT", "LIST"},
	{"FUNCTION", "LIST"},
	{"INFO", "server"},
}

// checkPermissions compares the user's rights with the roles. Writer
// commands are probed inside MULTI, then DISCARD: the server checks a
// queued command's rights when it queues it, so nothing runs.
func (r *Report) checkPermissions(scope string, c *conn, user, prefix string) {
	var extra []string
	for _, cmd := range dangerous {
		if _, err := c.do(cmd...); err == nil {
			extra = append(extra, strings.ToLower(strings.Join(cmd[:min(2, len(cmd))], " ")))
		}
	}
	if len(extra) > 0 {
		r.add(scope, "permissions", Fail, fmt.Sprintf("user %q may run %s, which neither the writer nor the reader role needs: a stolen credential can do the same", user, strings.Join(extra, ", ")),
			"give the application a user with exactly the writer or reader role (docs/security.md); keep administrators' credentials out of DSNs")
		return
	}
	k := redislist.NewKeys(prefix)
	var missingWrite []string
	if _, err := c.do("MULTI"); err == nil {
		for _, cmd := range [][]string{
			{"RPUSH", k.List, "{}"}, {"INCRBY", k.Seq, "1"}, {"LTRIM", k.List, "-1", "-1"},
			{"PUBLISH", k.Events, "1"}, {"DEL", k.List},
		} {
			if _, err := c.do(cmd...); err != nil {
				missingWrite = append(missingWrite, strings.ToLower(cmd[0]))
			}
		}
		_, _ = c.do("DISCARD")
	} else {
		missingWrite = append(missingWrite, "multi")
	}
	var missingRead []string
	for _, cmd := range [][]string{
		{"LLEN", k.List}, {"EVAL_RO", "return 1", "1", k.List}, {"PING"},
	} {
		if _, err := c.do(cmd...); err != nil && !strings.Contains(err.Error(), "unknown command") {
			missingRead = append(missingRead, strings.ToLower(cmd[0]))
		}
	}
	switch {
	case len(missingRead) > 0:
		r.add(scope, "permissions", Fail, fmt.Sprintf("user %q may not run %s on the namespace %q: the store's reads will be refused", user, strings.Join(missingRead, ", "), prefix),
			"grant the reader role (or the writer role) on the namespace's prefix (docs/security.md)")
	case len(missingWrite) == 0:
		r.add(scope, "permissions", OK, fmt.Sprintf("user %q has the writer role's rights on %q and none of the server's", user, prefix), "")
	case len(missingWrite) == 5 || (len(missingWrite) == 1 && missingWrite[0] == "multi"):
		r.add(scope, "permissions", OK, fmt.Sprintf("user %q has the reader role's rights on %q: it can list, count and watch, and cannot write", user, prefix), "")
	default:
		r.add(scope, "permissions", Fail, fmt.Sprintf("user %q may write but not run %s on %q: some writes will be refused", user, strings.Join(missingWrite, ", "), prefix),
			"grant the whole writer role (docs/security.md)")
	}
}
