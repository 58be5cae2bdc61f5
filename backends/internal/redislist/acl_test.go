package redislist

import (
	"os"
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
