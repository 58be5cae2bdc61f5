package doctor

import (
	"fmt"
	"strconv"
	"strings"
)

// vuln is a published vulnerability of the server and the first release
// of each maintained branch that fixes it. A branch newer than every
// branch listed was released with the fix; an older one, or one between
// listed branches but absent (Redis 7.0, end of life since 2024), never
// got it.
type vuln struct {
	id, what string
	fixed    map[string]string // branch "7.2" -> first fixed release "7.2.11"
}

// The tables are data: add a row per advisory. Sources (each CVE's NVD
// entry, https://nvd.nist.gov/vuln/detail/<CVE>, and the vendors'
// advisories and release notes):
//
//	Redis:  https://github.com/redis/redis/security/advisories
//	        https://github.com/redis/redis/releases
//	Valkey: https://github.com/valkey-io/valkey/security/advisories
//	        https://github.com/valkey-io/valkey/releases
//
// Compiled without network access from the advisories as recalled by the
// author: check a row against its advisory before relying on it, and
// when adding one.
var redisVulns = []vuln{
	{"CVE-2025-49844", "use-after-free in the Lua parser: remote code execution by any user allowed to run scripts",
		map[string]string{"6.2": "6.2.20", "7.2": "7.2.11", "7.4": "7.4.6", "8.0": "8.0.4", "8.2": "8.2.2"}},
	{"CVE-2025-46817", "Lua unpack integer overflow: remote code execution by a user allowed to run scripts",
		map[string]string{"6.2": "6.2.20", "7.2": "7.2.11", "7.4": "7.4.6", "8.0": "8.0.4", "8.2": "8.2.2"}},
	{"CVE-2025-46818", "Lua metatables: a script can run code in the context of another user",
		map[string]string{"6.2": "6.2.20", "7.2": "7.2.11", "7.4": "7.4.6", "8.0": "8.0.4", "8.2": "8.2.2"}},
	{"CVE-2025-32023", "out-of-bounds write with crafted HyperLogLog strings: remote code execution by an authenticated user",
		map[string]string{"6.2": "6.2.19", "7.2": "7.2.10", "7.4": "7.4.5", "8.0": "8.0.3"}},
	{"CVE-2025-21605", "unauthenticated clients can grow the output buffer without limit: denial of service",
		map[string]string{"6.2": "6.2.18", "7.2": "7.2.8", "7.4": "7.4.3"}},
	{"CVE-2024-46981", "Lua garbage-collector use-after-free: remote code execution by a user allowed to run scripts",
		map[string]string{"6.2": "6.2.17", "7.2": "7.2.7", "7.4": "7.4.2"}},
	{"CVE-2024-31449", "stack overflow in the Lua bit library: remote code execution by a user allowed to run scripts",
		map[string]string{"6.2": "6.2.16", "7.2": "7.2.6", "7.4": "7.4.1"}},
}

var valkeyVulns = []vuln{
	{"CVE-2025-49844", "use-after-free in the Lua parser: remote code execution by any user allowed to run scripts",
		map[string]string{"7.2": "7.2.11", "8.0": "8.0.6", "8.1": "8.1.4"}},
	{"CVE-2025-46817", "Lua unpack integer overflow: remote code execution by a user allowed to run scripts",
		map[string]string{"7.2": "7.2.11", "8.0": "8.0.6", "8.1": "8.1.4"}},
	{"CVE-2025-32023", "out-of-bounds write with crafted HyperLogLog strings: remote code execution by an authenticated user",
		map[string]string{"7.2": "7.2.10", "8.0": "8.0.4", "8.1": "8.1.3"}},
	{"CVE-2025-21605", "unauthenticated clients can grow the output buffer without limit: denial of service",
		map[string]string{"7.2": "7.2.9", "8.0": "8.0.3", "8.1": "8.1.1"}},
	{"CVE-2024-46981", "Lua garbage-collector use-after-free: remote code execution by a user allowed to run scripts",
		map[string]string{"7.2": "7.2.8", "8.0": "8.0.2"}},
	{"CVE-2024-31449", "stack overflow in the Lua bit library: remote code execution by a user allowed to run scripts",
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
