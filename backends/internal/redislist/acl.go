package redislist

import "strings"

// The least-privilege ACL roles of a namespace (docs/security.md, "Least
// privilege: writer and reader"), as data: the tests create these users
// and run the backends as them, `alertstore doctor` compares the
// connecting user with them, and docs/security.md shows them as ACL
// SETUSER lines (a test checks that the page and this file agree).
//
// Each command is there because a backend sends it; nothing else is:
//
//	ping                         Ping
//	hello, client|setname,       the connection handshake of go-redis and
//	client|setinfo               valkey-go (AUTH is always allowed)
//	multi exec rpush incrby      the append transaction (MGET reads the
//	ltrim publish mget           recorded cap inside it)
//	role wait                    the Sentinel schemes' append (ROLE in the
//	                             transaction, WAIT for min_replicas)
//	evalsha eval                 RepairScript, which raises the counter (SET),
//	                             and the namespace's record: CapInitScript,
//	                             ClearScript, SetCapScript (GET, SET, LLEN,
//	                             DEL, RPUSH, LTRIM)
//	evalsha_ro eval_ro           WindowScript: List, Watch (LLEN, GET,
//	                             LRANGE; the sharded scripts LINDEX too);
//	                             InfoScript: status, cap, doctor
//	get lrange lindex set        what the scripts call (scripts are checked
//	                             against the user's rights too; a test
//	                             keeps every script within its role)
//	llen                         Count
//	subscribe unsubscribe        Watch (valkey-go also sends punsubscribe
//	punsubscribe sunsubscribe    and sunsubscribe when it ends one)
//	del                          Clear and Drop
//
// The writer has DEL (and SET, LTRIM) on its keys: a writer can always
// empty its list (LTRIM does it), so refusing DEL would take nothing
// away, and the conformance suite and `alertstore clear` need it. What a
// stolen writer credential cannot do is reach other prefixes, other
// channels, or the server (CLIENT KILL, CLIENT PAUSE, FUNCTION FLUSH,
// FLUSHALL, CONFIG, KEYS, MONITOR, SCRIPT FLUSH, ...).

// connCommands are what every connection sends before its first command.
var connCommands = []string{"ping", "hello", "client|setname", "client|setinfo"}

// WriterCommands are the commands of the writer role: every command the
// backends send for a namespace.
var WriterCommands = append(append([]string{}, connCommands...),
	"multi", "exec", "discard", "rpush", "incrby", "ltrim", "publish", "mget", "role", "wait",
	"evalsha", "eval", "evalsha_ro", "eval_ro", "get", "lrange", "lindex", "set",
	"llen", "subscribe", "unsubscribe", "punsubscribe", "sunsubscribe", "del")

// ReaderCommands are the commands of the reader role: List, Count, Watch
// and Ping, and nothing that writes. Its scripts run with EVALSHA_RO and
// EVAL_RO, which the server refuses to run a writing command from.
var ReaderCommands = append(append([]string{}, connCommands...),
	"evalsha_ro", "eval_ro", "get", "lrange", "lindex", "llen", "subscribe", "unsubscribe", "punsubscribe", "sunsubscribe")

// RoleRules are the ACL SETUSER rules (after the user name) of a role with
// commands on the namespace prefix, authenticating with password: all
// rights reset first, then the keys and channel of the namespace, then
// the commands. The key and channel patterns are the prefix and anything
// after it: the namespace's keys (NewKeys) and its events channel, and
// the namespaces whose prefix extends it (a role for "alertstore-
// conformance:" covers the suite's scratch namespaces under it).
func RoleRules(prefix, password string, commands []string) []string {
	p := globEscape(prefix) + "*"
	rules := []string{"reset", "on", ">" + password, "~" + p, "&" + p}
	for _, c := range commands {
		rules = append(rules, "+"+c)
	}
	return rules
}

// SetUserLine is the ACL SETUSER command of a role, for docs and doctor's
// advice: ACL SETUSER user rules... with the password shown as <password>.
func SetUserLine(user, prefix string, commands []string) string {
	rules := RoleRules(prefix, "PASSWORD", commands)
	for i, r := range rules {
		if r == ">PASSWORD" {
			rules[i] = "'><password>'"
		}
	}
	return "ACL SETUSER " + user + " " + strings.Join(rules, " ")
}

// globEscape escapes the glob characters of a prefix for an ACL pattern.
func globEscape(s string) string {
	return strings.NewReplacer(`\`, `\\`, "*", `\*`, "?", `\?`, "[", `\[`, "]", `\]`).Replace(s)
}
