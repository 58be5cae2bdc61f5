package docs

import (
	"flag"
	"fmt"
	"os"
	"regexp"
	"sort"
	"strings"
	"testing"

	_ "github.com/apt-detection/alertstore/backends/all"
	"github.com/apt-detection/alertstore/conformance"
	"github.com/apt-detection/alertstore/registry"
)

var update = flag.Bool("update", false, "rewrite the generated table of writing-a-backend.md from conformance.Checks()")

// schemeRE finds `scheme://` in a table cell.
var schemeRE = regexp.MustCompile("`([a-z0-9+.-]+)://")

// documentedSchemes returns the schemes named in the first column of the
// first table of a page's section.
func documentedSchemes(t *testing.T, page, heading string) map[string]bool {
	t.Helper()
	sec := section(page, heading)
	if sec == "" {
		t.Fatalf("no section %q", heading)
	}
	out := map[string]bool{}
	for _, row := range tableRows(sec) {
		for _, m := range schemeRE.FindAllStringSubmatch(row[0], -1) {
			out[m[1]] = true
		}
	}
	return out
}

// TestSchemesDocumented: every scheme the command registers (through
// backends/all) has a row in the README's backend table and in dsn.md's
// scheme table, and neither lists a scheme nobody registers.
func TestSchemesDocumented(t *testing.T) {
	registered := map[string]bool{}
	for _, s := range registry.Schemes() {
		registered[s] = true
	}
	for _, c := range []struct{ name, file, heading string }{
		{"README", "../README.md", "## Backends"},
		{"dsn.md", "dsn.md", "## Schemes"},
	} {
		t.Run(c.name, func(t *testing.T) {
			documented := documentedSchemes(t, readPage(t, c.file), c.heading)
			for _, s := range sortedKeys(registered) {
				if !documented[s] {
					t.Errorf("scheme %s:// is registered but not in the table under %q of %s", s, c.heading, c.file)
				}
			}
			for _, s := range sortedKeys(documented) {
				if !registered[s] {
					t.Errorf("the table under %q of %s lists %s://, which no backend in backends/all registers", c.heading, c.file, s)
				}
			}
		})
	}
}

const (
	tableStart = "<!-- generated from conformance.Checks() -->\n"
	tableEnd   = "<!-- end generated -->\n"
)

// checksTable is the table of writing-a-backend.md, as generated.
func checksTable() string {
	var b strings.Builder
	b.WriteString("| # | Subtest | Rule |\n| --- | --- | --- |\n")
	for i, c := range conformance.Checks() {
		fmt.Fprintf(&b, "| %d | `%s` | %s |\n", i+1, c.Name, strings.ReplaceAll(c.Rule, "|", "\\|"))
	}
	return b.String()
}

// TestConformanceTable: the table of checks in writing-a-backend.md is
// exactly conformance.Checks(). Regenerate it with
//
//	go test ./docs -run TestConformanceTable -update
func TestConformanceTable(t *testing.T) {
	const file = "writing-a-backend.md"
	page := readPage(t, file)
	i, j := strings.Index(page, tableStart), strings.Index(page, tableEnd)
	if i < 0 || j < i {
		t.Fatalf("%s has no %q ... %q markers", file, strings.TrimSpace(tableStart), strings.TrimSpace(tableEnd))
	}
	got, want := page[i+len(tableStart):j], checksTable()
	if got == want {
		return
	}
	if *update {
		if err := os.WriteFile(file, []byte(page[:i+len(tableStart)]+want+page[j:]), 0o644); err != nil {
			t.Fatal(err)
		}
		t.Logf("rewrote the table of %s", file)
		return
	}
	gotRows, wantRows := rowSet(got), rowSet(want)
	for _, r := range strings.Split(strings.TrimSpace(want), "\n") {
		if !gotRows[r] {
			t.Errorf("%s lacks: %s", file, r)
		}
	}
	for _, r := range strings.Split(strings.TrimSpace(got), "\n") {
		if !wantRows[r] {
			t.Errorf("%s has, but conformance.Checks() does not: %s", file, r)
		}
	}
	t.Errorf("the table of %s is not conformance.Checks() (%d checks); run: go test ./docs -run TestConformanceTable -update", file, len(conformance.Checks()))
}

func rowSet(s string) map[string]bool {
	out := map[string]bool{}
	for _, r := range strings.Split(strings.TrimSpace(s), "\n") {
		out[r] = true
	}
	return out
}

func sortedKeys(m map[string]bool) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}
