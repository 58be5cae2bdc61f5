package doctor

import (
	"fmt"
	"strconv"
	"strings"
)

// vuln is a published vulnerability (or one security release fixing
// several) of the server, the first version it affects, and the first
// release of each maintained branch that fixes it. A branch newer than
// every branch listed was released with the fix; an older one, or one
// between listed branches but absent (Redis 7.0 and 8.0, end of life),
// never got it. Versions before since are not affected.
type vuln struct {
	id, what string
	since    string            // first affected version; "" for all
	fixed    map[string]string // branch "7.2" -> first fixed release "7.2.11"
}

// The tables are data: add a row per advisory, newest first, with its
// source in a comment. Each row was checked (2026-11) against the source
// named next to it: the vendors' release pull requests and release
// notes, or the image updates that quote them. Where a branch's release
// could not be checked, the comment says so. The authorities are the
// advisories themselves:
//
//	Redis:  https://github.com/redis/redis/security/advisories
//	        https://github.com/redis/redis/releases
//	Valkey: https://github.com/valkey-io/valkey/security/advisories
//	        https://github.com/valkey-io/valkey/releases
//
// Distributions (Debian, Ubuntu, ...) backport these fixes without
// changing the version: see checkVersion.
var redisVulns = []vuln{
	// docker-library/official-images#21922 (2026-07-24): "urgent,
	// unscheduled security release", all supported versions 6 to 8:
	// 8.8.1, 8.6.5, 8.4.5, 8.2.8, 7.4.10, 7.2.15, 6.2.23. The pull request
	// names no CVE ids; see the releases' notes.
	{"Redis security release of 2026-07", "vulnerabilities that may allow remote code execution", "",
		map[string]string{"6.2": "6.2.23", "7.2": "7.2.15", "7.4": "7.4.10", "8.2": "8.2.8", "8.4": "8.4.5", "8.6": "8.6.5", "8.8": "8.8.1"}},
	// docker-library/official-images#20902 (2026-02-23): "only one
	// security fix" in 8.6.1, 8.4.2, 8.2.5, 8.0.6, 7.4.8, 7.2.13; no CVE
	// id there. No 6.2 release that day: 6.2 is taken as not affected.
	{"Redis security release of 2026-02", "one security fix (see the releases' notes)", "7.0.0",
		map[string]string{"7.2": "7.2.13", "7.4": "7.4.8", "8.0": "8.0.6", "8.2": "8.2.5", "8.4": "8.4.2", "8.6": "8.6.1"}},
	// GHSA-jhjx-x4cf-4vm8, fixed in 8.2.3 (release notes, quoted by
	// DandyDeveloper/charts#385); XACKDEL is new in 8.2.
	{"CVE-2025-62507", "stack buffer overflow in XACKDEL: remote code execution by an authenticated user", "8.2.0",
		map[string]string{"8.2": "8.2.3"}},
	// docker-library/official-images#20011 and redis/docker-library-redis#478
	// (2025-10-03): 6.2.20, 7.2.11, 7.4.6, 8.0.4, 8.2.2 fix all four.
	{"CVE-2025-49844", "use-after-free in the Lua parser: remote code execution by any user allowed to run scripts", "",
		map[string]string{"6.2": "6.2.20", "7.2": "7.2.11", "7.4": "7.4.6", "8.0": "8.0.4", "8.2": "8.2.2"}},
	{"CVE-2025-46817", "Lua unpack integer overflow: remote code execution by a user allowed to run scripts", "",
		map[string]string{"6.2": "6.2.20", "7.2": "7.2.11", "7.4": "7.4.6", "8.0": "8.0.4", "8.2": "8.2.2"}},
	{"CVE-2025-46818", "Lua metatables: a script can run code in the context of another user", "",
		map[string]string{"6.2": "6.2.20", "7.2": "7.2.11", "7.4": "7.4.6", "8.0": "8.0.4", "8.2": "8.2.2"}},
	{"CVE-2025-46819", "Lua out-of-bounds read: a crash by a user allowed to run scripts", "",
		map[string]string{"6.2": "6.2.20", "7.2": "7.2.11", "7.4": "7.4.6", "8.0": "8.0.4", "8.2": "8.2.2"}},
	// docker-library/official-images#19401 (2025-07-06): 8.0.3, 7.4.5,
	// 7.2.10, 6.2.19 fix both.
	{"CVE-2025-32023", "out-of-bounds write with crafted HyperLogLog strings: remote code execution by an authenticated user", "",
		map[string]string{"6.2": "6.2.19", "7.2": "7.2.10", "7.4": "7.4.5", "8.0": "8.0.3"}},
	{"CVE-2025-48367", "an error on an accepted connection stops the server accepting others: denial of service by unauthenticated clients", "",
		map[string]string{"6.2": "6.2.19", "7.2": "7.2.10", "7.4": "7.4.5", "8.0": "8.0.3"}},
	// redis/redis#13971 (6.2.18) and #13993 (the fix); 7.4.3's notes list
	// it; 7.2.8, released the same day (2025-04-23), not checked.
	{"CVE-2025-21605", "unauthenticated clients can grow the output buffer without limit: denial of service", "",
		map[string]string{"6.2": "6.2.18", "7.2": "7.2.8", "7.4": "7.4.3"}},
	// redis/redis#13729 (7.2.7: CVE-2024-46981, CVE-2024-51741);
	// zkteco-home/redis-windows#84 (7.4.2 fixes both); 6.2.17 not checked.
	// ACL selectors (CVE-2024-51741) are new in 7.0.
	{"CVE-2024-46981", "Lua garbage-collector use-after-free: remote code execution by a user allowed to run scripts", "",
		map[string]string{"6.2": "6.2.17", "7.2": "7.2.7", "7.4": "7.4.2"}},
	{"CVE-2024-51741", "malformed ACL selectors crash the server: denial of service by a user allowed to set ACLs", "7.0.0",
		map[string]string{"7.2": "7.2.7", "7.4": "7.4.2"}},
	// redis/redis#13582 (7.2.6: CVE-2024-31449, -31227, -31228); the
	// affected ranges of CVE-2024-31228 (before 6.2.16, 7.0.0 to 7.2.5,
	// 7.4.0) give 6.2.16 and 7.4.1.
	{"CVE-2024-31449", "stack overflow in the Lua bit library: remote code execution by a user allowed to run scripts", "",
		map[string]string{"6.2": "6.2.16", "7.2": "7.2.6", "7.4": "7.4.1"}},
	{"CVE-2024-31228", "unbounded pattern matching (KEYS, SCAN, PSUBSCRIBE, ACL patterns): denial of service by an authenticated user", "",
		map[string]string{"6.2": "6.2.16", "7.2": "7.2.6", "7.4": "7.4.1"}},
}

var valkeyVulns = []vuln{
	// valkey 9.1.1 release notes (quoted by SlyBase/helm-charts#531);
	// tazama-lf/tazama-stack#267: 7.2.14, 8.0.10, 8.1.9, 9.0.5, 9.1.1
	// (2026-07-21) fix both; microsoft/azurelinux#18077 (8.0.10).
	{"CVE-2026-56684", "use-after-free in TLS connection handling: remote code execution by an authenticated client with CLIENT KILL", "",
		map[string]string{"7.2": "7.2.14", "8.0": "8.0.10", "8.1": "8.1.9", "9.0": "9.0.5", "9.1": "9.1.1"}},
	{"CVE-2026-63639", "a corrupt stream RDB payload (RESTORE, replication) can lead to remote code execution", "",
		map[string]string{"7.2": "7.2.14", "8.0": "8.0.10", "8.1": "8.1.9", "9.0": "9.0.5", "9.1": "9.1.1"}},
	// valkey-io/valkey#3631 (7.2.13), #3632 (8.0.8, revoked:
	// redis-rs/redis-rs#2102 moves to 8.0.9), #3633 (8.1.7), #3635 (9.1.0
	// GA includes them); 9.0.4 per getsolus/packages#9782.
	{"CVE-2026-23479", "use-after-free in the unblock client flow: remote code execution by an authenticated user", "",
		map[string]string{"7.2": "7.2.13", "8.0": "8.0.9", "8.1": "8.1.7", "9.0": "9.0.4"}},
	{"CVE-2026-25243", "invalid memory access in RESTORE: by an authenticated user", "",
		map[string]string{"7.2": "7.2.13", "8.0": "8.0.9", "8.1": "8.1.7", "9.0": "9.0.4"}},
	{"CVE-2026-23631", "use-after-free when a full sync runs during a yielding script or function", "",
		map[string]string{"7.2": "7.2.13", "8.0": "8.0.9", "8.1": "8.1.7", "9.0": "9.0.4"}},
	// valkey-io/valkey#2687 (8.1.4) and getsolus/packages#6416 (all four
	// in 8.1.4); #2686 (8.0.6) and #2684/#2685 (7.2.11), released the
	// same day (2025-10-03).
	{"CVE-2025-49844", "use-after-free in the Lua parser: remote code execution by any user allowed to run scripts", "",
		map[string]string{"7.2": "7.2.11", "8.0": "8.0.6", "8.1": "8.1.4"}},
	{"CVE-2025-46817", "Lua unpack integer overflow: remote code execution by a user allowed to run scripts", "",
		map[string]string{"7.2": "7.2.11", "8.0": "8.0.6", "8.1": "8.1.4"}},
	{"CVE-2025-46818", "Lua metatables: a script can run code in the context of another user", "",
		map[string]string{"7.2": "7.2.11", "8.0": "8.0.6", "8.1": "8.1.4"}},
	{"CVE-2025-46819", "Lua out-of-bounds read: a crash by a user allowed to run scripts", "",
		map[string]string{"7.2": "7.2.11", "8.0": "8.0.6", "8.1": "8.1.4"}},
	// valkey-io/valkey#2317 (8.1.3) and getsolus/packages#5998 (both in
	// 8.1.3); 8.0.4 (#2316) and 7.2.10 released with it (2025-07-07,
	// shogo82148/actions-setup-redis#1145).
	{"CVE-2025-32023", "out-of-bounds write with crafted HyperLogLog strings: remote code execution by an authenticated user", "",
		map[string]string{"7.2": "7.2.10", "8.0": "8.0.4", "8.1": "8.1.3"}},
	{"CVE-2025-48367", "an error on an accepted connection stops the server accepting others: denial of service by unauthenticated clients", "",
		map[string]string{"7.2": "7.2.10", "8.0": "8.0.4", "8.1": "8.1.3"}},
	// getsolus/packages#5515 (8.1.1); 8.0.3 released with it
	// (shogo82148/actions-setup-redis#1097); 7.2.9 not checked.
	{"CVE-2025-21605", "unauthenticated clients can grow the output buffer without limit: denial of service", "",
		map[string]string{"7.2": "7.2.9", "8.0": "8.0.3", "8.1": "8.1.1"}},
	// Not checked against a source (none found offline): Valkey's
	// releases of 2025-01 (8.0.2, 7.2.8) and 2024-10 (8.0.1, 7.2.7), from
	// the Redis advisories of the same days.
	{"CVE-2024-46981", "Lua garbage-collector use-after-free: remote code execution by a user allowed to run scripts", "",
		map[string]string{"7.2": "7.2.8", "8.0": "8.0.2"}},
	{"CVE-2024-31449", "stack overflow in the Lua bit library: remote code execution by a user allowed to run scripts", "",
		map[string]string{"7.2": "7.2.7", "8.0": "8.0.1"}},
}

// version is major.minor.patch.
type version [3]int

func parseVersion(s string) (version, bool) {
	var v version
	parts := strings.SplitN(strings.TrimSpace(s), ".", 3)
	if len(parts) < 2 {
		return v, false
	}
	for i, p := range parts {
		n, err := strconv.Atoi(p)
		if err != nil {
			return v, false
		}
		v[i] = n
	}
	return v, true
}

func (v version) less(w version) bool {
	for i := range v {
		if v[i] != w[i] {
			return v[i] < w[i]
		}
	}
	return false
}

func (v version) branch() string { return fmt.Sprintf("%d.%d", v[0], v[1]) }

// knownVulns returns the vulnerabilities of table that server version v
// has, each with what fixes it.
func knownVulns(table []vuln, v version) []string {
	var out []string
	for _, x := range table {
		if since, ok := parseVersion(x.since); ok && v.less(since) {
			continue
		}
		if fix, ok := x.fixed[v.branch()]; ok {
			if f, ok := parseVersion(fix); ok && v.less(f) {
				out = append(out, fmt.Sprintf("%s (%s; fixed in %s)", x.id, x.what, fix))
			}
			continue
		}
		newest := version{}
		for b := range x.fixed {
			if f, ok := parseVersion(b + ".0"); ok && newest.less(f) {
				newest = f
			}
		}
		if v.less(newest) {
			out = append(out, fmt.Sprintf("%s (%s; never fixed on the %s branch, which is no longer maintained)", x.id, x.what, v.branch()))
		}
	}
	return out
}
