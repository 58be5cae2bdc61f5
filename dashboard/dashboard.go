// Package dashboard is the live dashboard of `alertstore serve`: static
// files (HTML, CSS and plain JavaScript modules) embedded in the binary, and
// the http.Handler that serves them.
//
// # Why static files and nothing else
//
// The machines alertstore runs on often reach no package registry and no
// CDN, and a dashboard for a security system should not pull code from
// anywhere at run time. So the page is written in plain modern JavaScript
// with no build step and no third-party code: its chart is a small SVG drawn
// by our own code, and everything it shows comes from the server's JSON API
// (/v1/summary, /v1/alerts, /v1/stream, /v1/status) on the page's own
// origin. The tests fail on any http:// or https:// reference in a served
// file.
//
// # Why the strict headers
//
// The page shows text written by detectors, which an attacker may control
// (an entity name, a message, a feature value). It never turns alert data
// into markup (text nodes only), and the Content-Security-Policy makes that
// a rule of the browser too: scripts and styles only from the page's own
// origin, no inline script, no framing (frame-ancestors 'none', against
// clickjacking), no plugins, no base-URI or form hijacking. Responses are
// not sniffed (X-Content-Type-Options) and leak no URL to other sites
// (Referrer-Policy).
//
// # URLs
//
// Handler serves the page at "/" and "/ui/", and its other files under
// "/ui/" (for example "/ui/app.js"); everything else is 404. The page keeps
// its view and filters in its own URL ("/?severity=High&since=24h#alert/ID"),
// so a view can be bookmarked and shared. It reads the API with the reader
// token kept in sessionStorage, which it asks for when the server answers
// 401.
package dashboard

import (
	"bytes"
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"io/fs"
	"net/http"
	"path"
	"strings"
	"time"
)

//go:embed static
var static embed.FS

// ContentSecurityPolicy is the policy sent with every response of Handler.
// connect-src 'self' lets the page call the API on its own origin only;
// img-src allows data: for the empty favicon, which keeps the browser from
// asking the server for /favicon.ico.
const ContentSecurityPolicy = "default-src 'self'; script-src 'self'; style-src 'self'; " +
	"img-src 'self' data:; connect-src 'self'; object-src 'none'; base-uri 'none'; " +
	"form-action 'self'; frame-ancestors 'none'"

// securityHeaders are set on every response, errors included.
var securityHeaders = map[string]string{
	"Content-Security-Policy":      ContentSecurityPolicy,
	"X-Content-Type-Options":       "nosniff",
	"Referrer-Policy":              "no-referrer",
	"X-Frame-Options":              "DENY", // for browsers that predate frame-ancestors
	"Cross-Origin-Opener-Policy":   "same-origin",
	"Cross-Origin-Resource-Policy": "same-origin",
}

// contentTypes maps the extensions of the embedded files to their media
// types. It is ours rather than mime.TypeByExtension's because that one
// reads the host's /etc/mime.types, which may say something else for .js;
// a module script served with the wrong type is refused by the browser.
var contentTypes = map[string]string{
	".html": "text/html; charset=utf-8",
	".css":  "text/css; charset=utf-8",
	".js":   "text/javascript; charset=utf-8",
}

// file is one embedded file, ready to serve.
type file struct {
	name        string
	contentType string
	etag        string
	body        []byte
}

// files is every embedded file by its URL path, with the page itself at
// "/" and "/ui/". Built once: the files cannot change.
var files = mustLoad()

func mustLoad() map[string]*file {
	m := map[string]*file{}
	err := fs.WalkDir(static, "static", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		body, err := static.ReadFile(p)
		if err != nil {
			return err
		}
		ct, ok := contentTypes[path.Ext(p)]
		if !ok {
			// A file the table does not know would be served without a
			// type; refuse to build such a binary's dashboard at all.
			panic("dashboard: no content type for embedded file " + p)
		}
		sum := sha256.Sum256(body)
		name := strings.TrimPrefix(p, "static/")
		m["/ui/"+name] = &file{name: name, contentType: ct, etag: `"` + hex.EncodeToString(sum[:16]) + `"`, body: body}
		return nil
	})
	if err != nil {
		panic("dashboard: reading the embedded files: " + err.Error())
	}
	index, ok := m["/ui/index.html"]
	if !ok {
		panic("dashboard: no index.html embedded")
	}
	m["/"] = index
	m["/ui/"] = index
	return m
}

// Handler returns the handler of the dashboard's files. Mount it at "/" (it
// answers 404 for what is not its own) or at "/" and "/ui/". It does no
// authentication: the page and its files are public, like any login page;
// the data comes from the API, which checks the token.
func Handler() http.Handler {
	return http.HandlerFunc(serve)
}

func serve(w http.ResponseWriter, r *http.Request) {
	h := w.Header()
	for k, v := range securityHeaders {
		h.Set(k, v)
	}
	f, ok := files[r.URL.Path]
	if !ok {
		http.Error(w, "404 page not found", http.StatusNotFound)
		return
	}
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		h.Set("Allow", "GET, HEAD")
		http.Error(w, "405 method not allowed", http.StatusMethodNotAllowed)
		return
	}
	h.Set("Content-Type", f.contentType)
	// Revalidate on every load, so a new binary's page is never mixed with
	// an old one's cached modules; the ETag makes that a 304.
	h.Set("Cache-Control", "no-cache")
	h.Set("ETag", f.etag)
	http.ServeContent(w, r, f.name, time.Time{}, bytes.NewReader(f.body))
}
