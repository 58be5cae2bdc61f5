package dashboard

import (
	"bytes"
	"io"
	"io/fs"
	"net/http"
	"net/http/httptest"
	"path"
	"regexp"
	"strings"
	"testing"
)

// embedded lists the embedded files by name ("app.js").
func embedded(t *testing.T) map[string][]byte {
	t.Helper()
	out := map[string][]byte{}
	err := fs.WalkDir(static, "static", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := static.ReadFile(p)
		out[strings.TrimPrefix(p, "static/")] = b
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(out) == 0 {
		t.Fatal("no embedded files")
	}
	return out
}

func do(t *testing.T, method, target string, header http.Header) *http.Response {
	t.Helper()
	req := httptest.NewRequest(method, target, nil)
	for k, v := range header {
		req.Header[k] = v
	}
	rec := httptest.NewRecorder()
	Handler().ServeHTTP(rec, req)
	return rec.Result()
}

func TestSecurityHeaders(t *testing.T) {
	for _, tc := range []struct {
		name, method, path string
		status             int
	}{
		{"Index", http.MethodGet, "/", http.StatusOK},
		{"UIIndex", http.MethodGet, "/ui/", http.StatusOK},
		{"Script", http.MethodGet, "/ui/app.js", http.StatusOK},
		{"Head", http.MethodHead, "/ui/app.css", http.StatusOK},
		{"NotFound", http.MethodGet, "/ui/nope.js", http.StatusNotFound},
		{"NoDirectoryListing", http.MethodGet, "/ui/static/", http.StatusNotFound},
		{"NoTraversal", http.MethodGet, "/ui/../dashboard.go", http.StatusNotFound},
		{"Post", http.MethodPost, "/", http.StatusMethodNotAllowed},
	} {
		t.Run(tc.name, func(t *testing.T) {
			resp := do(t, tc.method, tc.path, nil)
			if resp.StatusCode != tc.status {
				t.Fatalf("%s %s: status %d, want %d", tc.method, tc.path, resp.StatusCode, tc.status)
			}
			want := map[string]string{
				"Content-Security-Policy": ContentSecurityPolicy,
				"X-Content-Type-Options":  "nosniff",
				"Referrer-Policy":         "no-referrer",
				"X-Frame-Options":         "DENY",
			}
			for k, v := range want {
				if got := resp.Header.Get(k); got != v {
					t.Errorf("%s: %q, want %q", k, got, v)
				}
			}
			if tc.status == http.StatusMethodNotAllowed && resp.Header.Get("Allow") != "GET, HEAD" {
				t.Errorf("Allow: %q", resp.Header.Get("Allow"))
			}
		})
	}
}

// TestContentSecurityPolicy checks the policy's directives one by one, so
// a loosened policy fails by name.
func TestContentSecurityPolicy(t *testing.T) {
	directives := map[string]string{}
	for _, d := range strings.Split(ContentSecurityPolicy, ";") {
		f := strings.Fields(d)
		if len(f) > 0 {
			directives[f[0]] = strings.Join(f[1:], " ")
		}
	}
	for _, tc := range []struct{ directive, want string }{
		{"default-src", "'self'"},
		{"script-src", "'self'"},
		{"style-src", "'self'"},
		{"connect-src", "'self'"},
		{"frame-ancestors", "'none'"},
		{"object-src", "'none'"},
		{"base-uri", "'none'"},
	} {
		t.Run(tc.directive, func(t *testing.T) {
			if got := directives[tc.directive]; got != tc.want {
				t.Errorf("%s %q, want %q", tc.directive, got, tc.want)
			}
		})
	}
	for _, bad := range []string{"'unsafe-inline'", "'unsafe-eval'", "*", "http:", "https:"} {
		if strings.Contains(" "+ContentSecurityPolicy+" ", " "+bad+" ") || strings.Contains(ContentSecurityPolicy, bad+";") {
			t.Errorf("policy allows %s: %s", bad, ContentSecurityPolicy)
		}
	}
}

func TestEveryFileServed(t *testing.T) {
	types := map[string]string{
		".html": "text/html; charset=utf-8",
		".css":  "text/css; charset=utf-8",
		".js":   "text/javascript; charset=utf-8",
	}
	for name, body := range embedded(t) {
		t.Run(name, func(t *testing.T) {
			resp := do(t, http.MethodGet, "/ui/"+name, nil)
			if resp.StatusCode != http.StatusOK {
				t.Fatalf("status %d", resp.StatusCode)
			}
			want, ok := types[path.Ext(name)]
			if !ok {
				t.Fatalf("an embedded file of a type this test does not know: %s", name)
			}
			if got := resp.Header.Get("Content-Type"); got != want {
				t.Errorf("Content-Type %q, want %q", got, want)
			}
			got, _ := io.ReadAll(resp.Body)
			if !bytes.Equal(got, body) {
				t.Errorf("served %d bytes, embedded %d", len(got), len(body))
			}
			etag := resp.Header.Get("ETag")
			if etag == "" {
				t.Fatal("no ETag")
			}
			again := do(t, http.MethodGet, "/ui/"+name, http.Header{"If-None-Match": {etag}})
			if again.StatusCode != http.StatusNotModified {
				t.Errorf("If-None-Match %s: status %d, want 304", etag, again.StatusCode)
			}
		})
	}
	t.Run("IndexAtRoot", func(t *testing.T) {
		resp := do(t, http.MethodGet, "/", nil)
		got, _ := io.ReadAll(resp.Body)
		if !bytes.Equal(got, embedded(t)["index.html"]) {
			t.Error("/ does not serve index.html")
		}
	})
}

// TestPageReferencesOnlyEmbeddedFiles: every script, style sheet and module
// import names a file the handler serves (a typo would be a blank page).
func TestPageReferencesOnlyEmbeddedFiles(t *testing.T) {
	files := embedded(t)
	refs := regexp.MustCompile(`(?:src|href)="(/ui/[^"]*)"`)
	for _, m := range refs.FindAllStringSubmatch(string(files["index.html"]), -1) {
		if resp := do(t, http.MethodGet, m[1], nil); resp.StatusCode != http.StatusOK {
			t.Errorf("index.html references %s: status %d", m[1], resp.StatusCode)
		}
	}
	imports := regexp.MustCompile(`(?m)^import .* from '([^']+)';`)
	for name, body := range files {
		if path.Ext(name) != ".js" {
			continue
		}
		for _, m := range imports.FindAllStringSubmatch(string(body), -1) {
			target := path.Clean(path.Join("/ui", m[1]))
			if !strings.HasPrefix(m[1], "./") {
				t.Errorf("%s imports %q: not a relative path of our own", name, m[1])
			} else if resp := do(t, http.MethodGet, target, nil); resp.StatusCode != http.StatusOK {
				t.Errorf("%s imports %s: status %d", name, target, resp.StatusCode)
			}
		}
	}
}

// TestNoExternalURL fails on any http:// or https:// reference in a served
// file outside comments, and on protocol-relative references: the page
// fetches nothing from anywhere but its own origin, and names no other.
func TestNoExternalURL(t *testing.T) {
	for name, body := range embedded(t) {
		t.Run(name, func(t *testing.T) {
			for _, p := range externalRefs(name, string(body)) {
				t.Errorf("%s: external reference %q", name, p)
			}
		})
	}
}

// TestNoExternalURLCanFail runs the checker on text that must fail and on
// comments that must pass, so it cannot pass by finding nothing.
func TestNoExternalURLCanFail(t *testing.T) {
	for _, tc := range []struct {
		name, file, text string
		bad              bool
	}{
		{"JSString", "a.js", `fetch("https://cdn.example/x.js");`, true},
		{"JSTemplate", "a.js", "const u = `http://example.org/${x}`;", true},
		{"JSSingleQuoteAfterComment", "a.js", "// note\nimport x from 'https://esm.sh/x';", true},
		{"JSProtocolRelative", "a.js", `el.src = "//cdn.example/x.js";`, true},
		{"HTMLScript", "a.html", `<script src="https://cdn.example/x.js"></script>`, true},
		{"HTMLProtocolRelative", "a.html", `<link rel="stylesheet" href="//cdn.example/x.css">`, true},
		{"HTMLAfterComment", "a.html", `<!-- x --><img src="http://example.org/a.png">`, true},
		{"CSSImport", "a.css", `@import url("https://fonts.example/x.css");`, true},
		{"CSSProtocolRelative", "a.css", `body { background: url(//example.org/a.png); }`, true},
		{"JSLineComment", "a.js", "// see https://html.spec.whatwg.org/\nconst a = 1;", false},
		{"JSBlockComment", "a.js", "/* https://example.org */ const a = '//';", false},
		{"JSCommentMarkerInString", "a.js", "const a = 'x // https://example.org';", true},
		{"HTMLComment", "a.html", "<!-- https://example.org -->\n<p>x</p>", false},
		{"CSSComment", "a.css", "/* https://example.org */ a { color: red; }", false},
		{"RelativePaths", "a.html", `<script type="module" src="/ui/app.js"></script><a href="#x">`, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := externalRefs(tc.file, tc.text)
			if tc.bad && len(got) == 0 {
				t.Errorf("%q: not caught", tc.text)
			}
			if !tc.bad && len(got) > 0 {
				t.Errorf("%q: caught %q in a comment or a relative reference", tc.text, got)
			}
		})
	}
}

var (
	absURL      = regexp.MustCompile(`(?i)\bhttps?://[^\s"'` + "`" + `)<>]*`)
	protoRelRef = regexp.MustCompile(`(?i)(?:src|href|action)\s*=\s*["']?//|url\(\s*["']?//|["'` + "`" + `]//[a-z0-9]`)
)

// externalRefs returns the external references in the text of a file,
// comments removed.
func externalRefs(name, text string) []string {
	code := stripComments(path.Ext(name), text)
	refs := absURL.FindAllString(code, -1)
	refs = append(refs, protoRelRef.FindAllString(code, -1)...)
	return refs
}

// stripComments removes the comments of an HTML, CSS or JavaScript file,
// keeping string literals (a "//" inside a string is not a comment).
func stripComments(ext, s string) string {
	if ext == ".html" {
		return regexp.MustCompile(`(?s)<!--.*?-->`).ReplaceAllString(s, " ")
	}
	var out strings.Builder
	var quote byte
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case quote != 0:
			out.WriteByte(c)
			if c == '\\' && i+1 < len(s) {
				i++
				out.WriteByte(s[i])
			} else if c == quote {
				quote = 0
			}
		case c == '"' || c == '\'' || c == '`':
			quote = c
			out.WriteByte(c)
		case c == '/' && i+1 < len(s) && s[i+1] == '*':
			end := strings.Index(s[i+2:], "*/")
			if end < 0 {
				return out.String()
			}
			i += end + 3
			out.WriteByte(' ')
		case ext == ".js" && c == '/' && i+1 < len(s) && s[i+1] == '/':
			end := strings.IndexByte(s[i:], '\n')
			if end < 0 {
				return out.String()
			}
			i += end - 1
		default:
			out.WriteByte(c)
		}
	}
	return out.String()
}

// TestNoMarkupFromData keeps the scripts from ever parsing text as markup
// or code: alert data reaches the page as text nodes only, and the CSP
// forbids inline script and eval besides.
func TestNoMarkupFromData(t *testing.T) {
	banned := regexp.MustCompile(`\.innerHTML\b|\.outerHTML\b|insertAdjacentHTML|document\.write|\beval\(|new Function\(|createContextualFragment|DOMParser|javascript:`)
	inlineHTML := regexp.MustCompile(`(?i)<script(?:\s[^>]*)?>\s*[^<\s]|\son[a-z]+\s*=|\sstyle\s*=|javascript:`)
	for name, body := range embedded(t) {
		t.Run(name, func(t *testing.T) {
			code := stripComments(path.Ext(name), string(body))
			switch path.Ext(name) {
			case ".js":
				if m := banned.FindString(code); m != "" {
					t.Errorf("%s uses %s", name, m)
				}
			case ".html":
				if m := inlineHTML.FindString(code); m != "" {
					t.Errorf("%s has inline script or style: %q", name, m)
				}
			}
		})
	}
}
