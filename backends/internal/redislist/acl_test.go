package redislist

import (
	"os"
	"regexp"
	"slices"
	"strings"
	"testing"
)

// docs/security.md shows the roles exactly as this package defines them.
func TestRolesDocumented(t *testing.T) {
	doc, err := os.ReadFile("../../../docs/security.md")
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range []string{
		SetUserLine("alertstore-writer", "apt_detection:", WriterCommands),
		SetUserLine("alertstore-reader", "apt_detection:", ReaderCommands),
	} {
		if !strings.Contains(string(doc), line+"\n") {
			t.Errorf("docs/security.md does not show\n%s", line)
		}
	}
}

// The reader role has no command that writes, trims or deletes, and every
// reader command is a writer command too (a writer can read).
func TestReaderCannotWrite(t *testing.T) {
	writes := map[string]bool{"rpush": true, "ltrim": true, "del": true, "set": true, "incrby": true,
		"publish": true, "eval": true, "evalsha": true, "multi": true, "exec": true}
	writer := map[string]bool{}
	for _, c := range WriterCommands {
		writer[c] = true
	}
	for _, c := range ReaderCommands {
		if writes[c] {
			t.Errorf("the reader role has %s", c)
		}
		if !writer[c] {
			t.Errorf("the reader role has %s, which the writer role lacks", c)
		}
	}
}

func TestRoleRulesEscapeGlob(t *testing.T) {
	got := strings.Join(RoleRules("a*b?[c]:", "pw", nil), " ")
	if !strings.Contains(got, `~a\*b\?\[c\]:*`) || !strings.Contains(got, `&a\*b\?\[c\]:*`) {
		t.Errorf("RoleRules = %s", got)
	}
}

// Every command a script calls is in the role that runs it: the server
// checks a script's commands against the user's rights, so a command
// missing from a role fails the script at run time, for that role only
// (as SETNX in CapInitScript, MGET in InfoScript and LINDEX in
// WindowScript once did). The read scripts run as the reader (EVAL_RO).
func TestScriptsStayInTheirRole(t *testing.T) {
	call := regexp.MustCompile(`redis\.p?call\(\s*'([A-Za-z_]+)'`)
	for _, sc := range []struct {
		name, script string
		role         []string
	}{
		{"WindowScript", WindowScript, ReaderCommands},
		{"InfoScript", InfoScript, ReaderCommands},
		{"RepairScript", RepairScript, WriterCommands},
		{"CapInitScript", CapInitScript, WriterCommands},
		{"ClearScript", ClearScript, WriterCommands},
		{"SetCapScript", SetCapScript, WriterCommands},
	} {
		t.Run(sc.name, func(t *testing.T) {
			calls := call.FindAllStringSubmatch(sc.script, -1)
			if len(calls) == 0 {
				t.Fatal("no redis.call found: the pattern no longer matches the scripts")
			}
			for _, c := range calls {
				if cmd := strings.ToLower(c[1]); !slices.Contains(sc.role, cmd) {
					t.Errorf("%s calls %s, which its role does not grant", sc.name, strings.ToUpper(cmd))
				}
			}
		})
	}
	// The check catches a script outside its role.
	if cmd := "mget"; slices.Contains(ReaderCommands, cmd) || !call.MatchString("redis.call('MGET', KEYS[1])") {
		t.Error("the check cannot fail")
	}
}
