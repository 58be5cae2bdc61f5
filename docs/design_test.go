// Package docs holds the tests that keep the pages in this directory true:
// the import rules of design.md, checked against `go list -deps`, and the
// tables of README.md, dsn.md and writing-a-backend.md, checked against
// the registry and the conformance suite. It has no non-test code.
package docs

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"testing"
)

// module is the import path of the library module.
const module = "github.com/apt-detection/alertstore"

// Client libraries and container code, by import path prefix.
const (
	goRedis        = "github.com/redis/go-redis/..."
	valkeyGo       = "github.com/valkey-io/valkey-go/..."
	bbolt          = "go.etcd.io/bbolt/..."
	testcontainers = "github.com/testcontainers/..."
	moby           = "github.com/moby/..."
	dockerClient   = "github.com/docker/..."
)

// importRule is one rule of design.md's "Import rules", as data. Patterns
// are import paths, module-relative ones written "./backends/*": "*" is one
// path element, a trailing "/..." is the package and everything under it.
type importRule struct {
	Name string // stable subtest name; design.md names it too
	Rule string // the rule, as the failure message states it

	From   []string // the packages the rule applies to
	Except []string // packages among them it does not apply to
	Forbid []string // what they must not import ("a&b": not both)
	Allow  []string // imports exempt from Forbid
	// Direct restricts the rule to the packages' own imports; otherwise
	// every package they link (go list's Deps) counts.
	Direct bool
	// Sibling exempts an import whose first "*" matches the importer's:
	// a backend may import its own subpackages, not another backend.
	Sibling bool
	// Required names packages that must exist (a rule about a package
	// that is gone must be updated, not pass silently). Packages matched
	// only by From patterns may be missing.
	Required []string
}

// importRules is the list design.md documents. To rename a package, edit
// the patterns here and the page; a pattern that matches nothing is fine.
var importRules = []importRule{
	{
		Name:     "BackendsImportNoSibling",
		Rule:     "no backend imports a sibling backend (shared code goes in backends/internal)",
		From:     []string{"./backends/*/..."},
		Except:   []string{"./backends/all", "./backends/doctor", "./backends/internal/..."},
		Forbid:   []string{"./backends/*/..."},
		Allow:    []string{"./backends/internal/..."},
		Sibling:  true,
		Required: []string{"./backends/memory"},
	},
	{
		Name:   "InternalImportsNoBackend",
		Rule:   "backends/internal packages import no backend: backends import them, not the reverse",
		From:   []string{"./backends/internal/...", "./internal/..."},
		Forbid: []string{"./backends/*/..."},
		Allow:  []string{"./backends/internal/..."},
	},
	{
		Name:     "OneClientLibraryGoRedis",
		Rule:     "the go-redis backend does not link valkey-go",
		From:     []string{"./backends/goredis/..."},
		Forbid:   []string{valkeyGo},
		Required: []string{"./backends/goredis"},
	},
	{
		Name:     "OneClientLibraryValkey",
		Rule:     "the valkey-go backend does not link go-redis",
		From:     []string{"./backends/valkeygo/..."},
		Forbid:   []string{goRedis},
		Required: []string{"./backends/valkeygo"},
	},
	{
		Name:   "BackendLinksOneRedisClient",
		Rule:   "no backend links both go-redis and valkey-go (a binary links only the client library it imports)",
		From:   []string{"./backends/*/..."},
		Except: []string{"./backends/all", "./backends/internal/..."},
		Forbid: []string{goRedis + "&" + valkeyGo},
	},
	{
		Name:     "CommandImportsNoClientLibrary",
		Rule:     "cmd/alertstore imports no client library (go-redis, valkey-go, bbolt) directly, only backends through backends/all",
		From:     []string{"./cmd/..."},
		Forbid:   []string{goRedis, valkeyGo, bbolt},
		Direct:   true,
		Required: []string{"./cmd/alertstore"},
	},
	{
		Name:     "CoreImportsNoBackend",
		Rule:     "backend and registry (and archive, which works through any Store) import no backend, no client library and no test code",
		From:     []string{"./backend", "./registry", "./archive"},
		Forbid:   []string{"./backends/...", "./conformance/...", goRedis, valkeyGo, bbolt, "testing"},
		Required: []string{"./backend", "./registry", "./archive"},
	},
	{
		Name:     "DashboardLinksNoStore",
		Rule:     "the dashboard links no alertstore package: it is static files reading the HTTP API, so it sees only what a reader token may",
		From:     []string{"./dashboard/..."},
		Forbid:   []string{"./..."},
		Required: []string{"./dashboard"},
	},
	{
		Name:     "ConformanceImportsNoContainers",
		Rule:     "conformance imports no container code, so a third-party backend runs the suite without testcontainers",
		From:     []string{"./conformance"},
		Forbid:   []string{"./conformance/containers/...", testcontainers, moby, dockerClient},
		Required: []string{"./conformance"},
	},
	{
		Name:     "ServerLinksNoClientLibrary",
		Rule:     "the HTTP server, the client backend and their protocol link no client library (go-redis, valkey-go, bbolt): the server opens storage by DSN through the registry, the client speaks HTTP only",
		From:     []string{"./server/...", "./backends/remote/...", "./internal/wire/..."},
		Forbid:   []string{goRedis, valkeyGo, bbolt},
		Required: []string{"./server", "./backends/remote", "./internal/wire"},
	},
	{
		Name: "LibraryLinksNoContainers",
		Rule: "no library package links container code; only the container helpers and the tests built on them do",
		From: []string{"./..."},
		// The container helpers and the real-server tests are modules of
		// their own, which ./... of the library does not reach; named here
		// so that the rule stays true if one of them ever moves back.
		Except: []string{"./conformance/containers/...", "./backends/internal/servertest/..."},
		Forbid: []string{testcontainers, moby, dockerClient},
	},
}

// listedPackage is the part of `go list -json` the rules need.
type listedPackage struct {
	ImportPath string
	Imports    []string
	Deps       []string
	Module     *struct{ Path string }
	Standard   bool
}

// goList returns the packages of the library module (not their
// dependencies), by import path.
func goList(t *testing.T) map[string]*listedPackage {
	t.Helper()
	goBin, err := exec.LookPath("go")
	if err != nil {
		t.Fatalf("the import rules need the go command: %v", err)
	}
	cmd := exec.Command(goBin, "list", "-e", "-json=ImportPath,Imports,Deps,Module,Standard", "./...")
	cmd.Dir = ".." // the module root
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("go list ./...: %v\n%s", err, stderr.String())
	}
	pkgs := map[string]*listedPackage{}
	dec := json.NewDecoder(bytes.NewReader(out))
	for {
		var p listedPackage
		if err := dec.Decode(&p); errors.Is(err, io.EOF) {
			break
		} else if err != nil {
			t.Fatalf("decoding go list output: %v", err)
		}
		if p.Module != nil && p.Module.Path == module {
			pkgs[p.ImportPath] = &p
		}
	}
	if len(pkgs) == 0 {
		t.Fatalf("go list found no package of module %s", module)
	}
	return pkgs
}

// match reports whether path matches pattern, and the element the first
// "*" matched.
func match(pattern, path string) (bool, string) {
	if strings.HasPrefix(pattern, "./") || pattern == "." {
		pattern = strings.TrimSuffix(module+"/"+strings.TrimPrefix(pattern, "./"), "/")
		if pattern == module+"/..." {
			pattern = module + "/..."
		}
	}
	pe, xe := strings.Split(pattern, "/"), strings.Split(path, "/")
	star := ""
	for i, p := range pe {
		if p == "..." && i == len(pe)-1 {
			return true, star
		}
		if i >= len(xe) {
			return false, ""
		}
		switch {
		case p == "*":
			if star == "" {
				star = xe[i]
			}
		case p != xe[i]:
			return false, ""
		}
	}
	if len(xe) != len(pe) {
		return false, ""
	}
	return true, star
}

func matchAny(patterns []string, path string) bool {
	for _, p := range patterns {
		if ok, _ := match(p, path); ok {
			return true
		}
	}
	return false
}

// violations returns, per offending package, what it imports against the
// rule.
func (r importRule) violations(pkgs map[string]*listedPackage) map[string][]string {
	out := map[string][]string{}
	for path, p := range pkgs {
		applies, fromStar := false, ""
		for _, f := range r.From {
			if ok, s := match(f, path); ok {
				applies, fromStar = true, s
				break
			}
		}
		if !applies || matchAny(r.Except, path) {
			continue
		}
		imports := p.Deps
		if r.Direct {
			imports = p.Imports
		}
		for _, forbid := range r.Forbid {
			// "a&b": forbidden only together.
			// Every import that breaks the rule; for "a&b", only if
			// each part has one.
			var hits []string
			for _, part := range strings.Split(forbid, "&") {
				var partHits []string
				for _, imp := range imports {
					ok, star := match(part, imp)
					if !ok || matchAny(r.Allow, imp) || r.Sibling && star == fromStar {
						continue
					}
					partHits = append(partHits, strings.TrimPrefix(imp, module+"/"))
				}
				if len(partHits) == 0 {
					hits = nil
					break
				}
				if !strings.HasPrefix(part, "./") {
					// One package of a library says it is linked.
					sort.Strings(partHits)
					partHits = partHits[:1]
				}
				hits = append(hits, partHits...)
			}
			out[path] = append(out[path], hits...)
		}
		if len(out[path]) == 0 {
			delete(out, path)
		}
	}
	return out
}

// TestImportRules checks every rule of design.md against the packages as
// they are. A failure names the rule, the package and the import.
func TestImportRules(t *testing.T) {
	pkgs := goList(t)
	for _, r := range importRules {
		t.Run(r.Name, func(t *testing.T) {
			for _, req := range r.Required {
				if pkgs[module+strings.TrimPrefix(req, ".")] == nil {
					t.Errorf("rule %s is about %s, which no longer exists: update importRules and docs/design.md", r.Name, req)
				}
			}
			bad := r.violations(pkgs)
			var paths []string
			for p := range bad {
				paths = append(paths, p)
			}
			sort.Strings(paths)
			for _, p := range paths {
				how := "imports"
				if !r.Direct {
					how = "links"
				}
				t.Errorf("rule: %s\nbroken: %s %s %s", r.Rule, strings.TrimPrefix(p, module+"/"), how, strings.Join(bad[p], " and "))
			}
		})
	}
}

// TestImportRulesCanFail runs each rule against a made-up package graph
// that breaks it, so that no rule passes because its patterns match
// nothing.
func TestImportRulesCanFail(t *testing.T) {
	m := func(s string) string { return module + "/" + s }
	pkg := func(path string, imports ...string) *listedPackage {
		return &listedPackage{ImportPath: path, Imports: imports, Deps: imports}
	}
	broken := map[string]map[string]*listedPackage{
		"BackendsImportNoSibling": {
			m("backends/sentinel"): pkg(m("backends/sentinel"), m("backends/goredis"), m("backends/internal/redisconf")),
		},
		"InternalImportsNoBackend": {
			m("backends/internal/servertest/redistest"): pkg(m("backends/internal/servertest/redistest"), m("backends/goredis")),
		},
		"OneClientLibraryGoRedis": {
			m("backends/goredis"): pkg(m("backends/goredis"), "github.com/valkey-io/valkey-go"),
		},
		"OneClientLibraryValkey": {
			m("backends/valkeygo"): pkg(m("backends/valkeygo"), "github.com/redis/go-redis/v9"),
		},
		"BackendLinksOneRedisClient": {
			m("backends/sentinel"): pkg(m("backends/sentinel"), "github.com/redis/go-redis/v9", "github.com/valkey-io/valkey-go/internal/cmds"),
		},
		"CommandImportsNoClientLibrary": {
			m("cmd/alertstore"): pkg(m("cmd/alertstore"), m("backends/all"), "github.com/redis/go-redis/v9"),
		},
		"CoreImportsNoBackend": {
			m("registry"): pkg(m("registry"), m("backends/memory")),
		},
		"DashboardLinksNoStore": {
			m("dashboard"): pkg(m("dashboard"), m("backend")),
		},
		"ConformanceImportsNoContainers": {
			m("conformance"): pkg(m("conformance"), m("conformance/containers")),
		},
		"LibraryLinksNoContainers": {
			m("backends/goredis"): pkg(m("backends/goredis"), "github.com/testcontainers/testcontainers-go"),
		},
		"ServerLinksNoClientLibrary": {
			m("server"): pkg(m("server"), m("backends/chain"), "go.etcd.io/bbolt"),
		},
	}
	allowed := map[string]*listedPackage{
		m("backends/goredis"):                       pkg(m("backends/goredis"), m("backends/goredis/internal/x"), m("backends/internal/redisconf"), "github.com/redis/go-redis/v9"),
		m("backends/all"):                           pkg(m("backends/all"), m("backends/goredis"), m("backends/valkeygo")),
		m("cmd/alertstore"):                         pkg(m("cmd/alertstore"), m("backends/all"), m("backends/chain")),
		m("conformance/containers"):                 pkg(m("conformance/containers"), "github.com/testcontainers/testcontainers-go"),
		m("backends/internal/sentinel"):             pkg(m("backends/internal/sentinel"), m("internal/resp")),
		m("backends/valkeygo"):                      pkg(m("backends/valkeygo"), "github.com/valkey-io/valkey-go"),
		m("conformance"):                            pkg(m("conformance"), m("backend"), m("registry")),
		m("backends/internal/servertest/redistest"): pkg(m("backends/internal/servertest/redistest"), m("conformance/containers"), "github.com/testcontainers/testcontainers-go"),
		m("backends/goredis/internal/x"):            pkg(m("backends/goredis/internal/x"), m("backends/goredis/internal/y")),
		m("backends/internal/goredisconv"):          pkg(m("backends/internal/goredisconv"), "github.com/redis/go-redis/v9"),
		m("backends/internal/valkeyconv"):           pkg(m("backends/internal/valkeyconv"), "github.com/valkey-io/valkey-go"),
		m("backends/bolt"):                          pkg(m("backends/bolt"), "go.etcd.io/bbolt"),
		m("backends/internal/notify"):               pkg(m("backends/internal/notify"), m("backend")),
		m("registry"):                               pkg(m("registry"), m("backend")),
		m("dashboard"):                              pkg(m("dashboard"), "embed", "net/http"),
		m("backends/memory"):                        pkg(m("backends/memory"), m("backends/internal/notify"), m("registry")),
		m("backends/chain"):                         pkg(m("backends/chain"), m("registry")),
		m("server"):                                 pkg(m("server"), m("backends/chain"), m("internal/wire"), m("registry")),
		m("backends/remote"):                        pkg(m("backends/remote"), m("internal/wire"), m("registry")),
		m("backends/goredis/internal/y"):            pkg(m("backends/goredis/internal/y")),
		m("backends/valkeygo/internal/whatever"):    pkg(m("backends/valkeygo/internal/whatever"), m("backends/valkeygo")),
	}
	for _, r := range importRules {
		t.Run(r.Name, func(t *testing.T) {
			if got := r.violations(allowed); len(got) > 0 {
				t.Errorf("rule %s rejects the target layout: %v", r.Name, got)
			}
			b, ok := broken[r.Name]
			if !ok {
				t.Fatalf("no broken package graph for rule %s: add one to this test", r.Name)
			}
			if got := r.violations(b); len(got) == 0 {
				t.Errorf("rule %s passed a package graph that breaks it", r.Name)
			}
		})
	}
}

// TestLibraryModuleRequiresNoContainers: a user of the library does not
// inherit testcontainers, moby and their dependencies through go.mod.
func TestLibraryModuleRequiresNoContainers(t *testing.T) {
	goBin, err := exec.LookPath("go")
	if err != nil {
		t.Fatalf("need the go command: %v", err)
	}
	out, err := exec.Command(goBin, "mod", "edit", "-json", filepath.Join("..", "go.mod")).Output()
	if err != nil {
		t.Fatalf("go mod edit -json: %v", err)
	}
	var mod struct {
		Module  struct{ Path string }
		Require []struct{ Path string }
	}
	if err := json.Unmarshal(out, &mod); err != nil {
		t.Fatal(err)
	}
	if mod.Module.Path != module {
		t.Fatalf("../go.mod is module %s, want %s", mod.Module.Path, module)
	}
	var bad []string
	for _, r := range mod.Require {
		if matchAny([]string{testcontainers, moby, dockerClient}, r.Path) {
			bad = append(bad, r.Path)
		}
	}
	if len(bad) > 0 {
		t.Errorf("rule: the library's go.mod carries no container code (conformance/containers is a module of its own)\nbroken: go.mod requires %s", strings.Join(bad, ", "))
	}
}

// TestDesignNamesEveryRule: design.md lists each rule by name, and names
// no rule this test does not check.
func TestDesignNamesEveryRule(t *testing.T) {
	page := readPage(t, "design.md")
	names := map[string]bool{}
	for _, r := range importRules {
		names[r.Name] = true
		if !strings.Contains(page, "`"+r.Name+"`") {
			t.Errorf("design.md does not name the import rule `%s` (%s)", r.Name, r.Rule)
		}
	}
	for _, row := range tableRows(section(page, "## Import rules")) {
		if n := strings.Trim(row[0], "` "); !names[n] && n != "" {
			t.Errorf("design.md lists an import rule %q that TestImportRules does not check", n)
		}
	}
}

func readPage(t *testing.T, name string) string {
	t.Helper()
	b, err := os.ReadFile(name)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// section returns the text from the heading to the next heading of the
// same or a higher level.
func section(page, heading string) string {
	i := strings.Index(page, "\n"+heading+"\n")
	if i < 0 {
		return ""
	}
	rest := page[i+len(heading)+2:]
	level := strings.Count(strings.Fields(heading)[0], "#")
	for _, l := range []string{"\n# ", "\n## ", "\n### "}[:level] {
		if j := strings.Index(rest, l); j >= 0 {
			rest = rest[:j]
		}
	}
	return rest
}

// tableRows returns the cells of the body rows of the first Markdown table
// in s (the header and separator rows left out).
func tableRows(s string) [][]string {
	var rows [][]string
	inTable := false
	for _, line := range strings.Split(s, "\n") {
		line = strings.TrimSpace(line)
		if !strings.HasPrefix(line, "|") {
			if inTable {
				break
			}
			continue
		}
		if !inTable {
			inTable = true // header
			continue
		}
		cells := strings.Split(strings.Trim(line, "|"), "|")
		if strings.Trim(cells[0], " -:") == "" {
			continue // separator
		}
		for i := range cells {
			cells[i] = strings.TrimSpace(cells[i])
		}
		rows = append(rows, cells)
	}
	return rows
}
