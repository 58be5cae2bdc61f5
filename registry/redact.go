package registry

import (
	"errors"
	"net/url"
	"regexp"
	"strings"
)

// A DSN that does not parse cleanly is printed as its scheme (and its host
// where that is certain), never more: once a password's '/', '?', '#', '&'
// or '%' has moved the URL's boundaries, any other piece of the DSN may be
// a piece of the password. The URL parser's own error text is never kept
// either: it quotes the part it choked on ("invalid port \":s3cr\"").

// unclean says why a DSN does not parse cleanly and what of it may be shown.
type unclean struct {
	scheme string // shown when not empty
	host   string // shown when not empty
	reason string // our words, never the parser's
}

// show is what may be printed of the DSN.
func (p *unclean) show() string {
	switch {
	case p.scheme == "":
		return "(DSN not shown)"
	case p.host == "":
		return p.scheme + "://(not shown)"
	}
	return p.scheme + "://" + p.host + " (rest not shown)"
}

// schemePattern is what a scheme may be (RFC 3986), short enough that it
// cannot be a password that lost its "://".
var schemePattern = regexp.MustCompile(`^[A-Za-z][A-Za-z0-9+.\-]{0,31}$`)

// rawScheme is the scheme of s when s starts with one and "://".
func rawScheme(s string) string {
	if i := strings.Index(s, "://"); i > 0 && schemePattern.MatchString(s[:i]) {
		return strings.ToLower(s[:i])
	}
	return ""
}

// inspect parses s and reports, in p, why it does not parse cleanly: the
// URL parser fails; no scheme; "scheme:" without "//"; an '@' after the
// host outside a secret's value or a nested DSN (a password's '/', '?' or
// '#' ended the user info early); a fragment; malformed parameters.
func inspect(s string) (u *url.URL, q url.Values, p *unclean) {
	u, err := url.Parse(s)
	if err != nil {
		return nil, nil, &unclean{scheme: rawScheme(s), reason: parseReason(err)}
	}
	if u.Scheme == "" {
		return nil, nil, &unclean{reason: "no scheme (want e.g. mem://, redis://host:6379)"}
	}
	scheme := strings.ToLower(u.Scheme)
	if !schemePattern.MatchString(u.Scheme) {
		return nil, nil, &unclean{reason: "the scheme is not a scheme name"}
	}
	if u.Opaque != "" {
		return nil, nil, &unclean{scheme: scheme, reason: "want scheme://address, e.g. " + scheme + "://..., with two slashes after the scheme"}
	}
	if !hostChars.MatchString(u.Host) {
		return nil, nil, &unclean{scheme: scheme, reason: "the host holds a character no host name has (parameters go after a '?'; a password's '/', '?', '#' must be percent-encoded as %2F, %3F, %23)"}
	}
	rest := afterAuthority(s)
	if why := strayAt(rest); why != "" {
		return nil, nil, &unclean{scheme: scheme, reason: why}
	}
	host := u.Host
	if strings.Contains(rest, "@") {
		host = "" // the '@' may end a password that holds a '#'
	}
	if u.Fragment != "" || u.RawFragment != "" || strings.Contains(s, "#") {
		return nil, nil, &unclean{scheme: scheme, host: host, reason: "unexpected fragment: a '#' (in a password, say) must be written %23"}
	}
	q, err = url.ParseQuery(u.RawQuery)
	if err != nil {
		return nil, nil, &unclean{scheme: scheme, host: host, reason: "malformed parameters: a '%' not followed by two hex digits (write a literal '%' as %25), or a ';' (write it %3B)"}
	}
	return u, q, nil
}

// hostChars are the characters of a host name, an IPv4 address or a
// bracketed IPv6 address with its zone ("[fe80::1%25eth0]"), a port, and
// the "~" and "." of bolt's home and relative paths.
var hostChars = regexp.MustCompile(`^[A-Za-z0-9._~\-:\[\]%]*$`)

// parseReason describes a url.Parse failure in our words.
func parseReason(err error) string {
	var ee url.EscapeError
	var he url.InvalidHostError
	msg := err.Error()
	switch {
	case errors.As(err, &ee):
		return "malformed DSN: a '%' not followed by two hex digits (write a literal '%' as %25)"
	case errors.As(err, &he):
		return "malformed DSN: a character that has no place in a host: percent-encode a password's '/', '?', '#' (%2F, %3F, %23)"
	case strings.Contains(msg, "userinfo"):
		return "malformed DSN: a character the user info cannot hold as is: percent-encode it (non-ASCII, spaces, quotes), or use password_file="
	case strings.Contains(msg, "port"):
		return "malformed DSN: the port is not a number: a '/', '?' or '#' in a password must be percent-encoded (%2F, %3F, %23)"
	}
	return "malformed DSN: want scheme://[user[:password]@]host[:port][/path][?params]"
}

// afterAuthority is the raw path, query and fragment of s.
func afterAuthority(s string) string {
	i := strings.Index(s, "://")
	if i < 0 {
		return ""
	}
	rest := s[i+3:]
	if j := strings.IndexAny(rest, "/?#"); j >= 0 {
		return rest[j:]
	}
	return ""
}

// strayAt reports an '@' after the host that is neither in a secret
// parameter's value nor in a nested DSN: the mark of a user info that a
// password's '/', '?' or '#' ended early, so that what follows is a piece
// of the password. A literal '@' there is written %40.
func strayAt(rest string) string {
	rest, _, _ = strings.Cut(rest, "#")
	path, query, _ := strings.Cut(rest, "?")
	const fix = " (a '/', '?' or '#' in a password must be percent-encoded as %2F, %3F, %23; a literal '@' here is written %40)"
	if strings.Contains(path, "@") {
		return "an '@' in the path" + fix
	}
	if strings.ContainsAny(path, "&=") {
		return "a '&' or '=' in the path: parameters go after a '?' (a literal '&' or '=' in a path is written %26, %3D)"
	}
	for _, piece := range strings.Split(query, "&") {
		name, value, _ := strings.Cut(piece, "=")
		if strings.Contains(name, "@") {
			return "an '@' in a parameter name" + fix
		}
		if !strings.Contains(value, "@") {
			continue
		}
		n, _ := url.QueryUnescape(name)
		v, _ := url.QueryUnescape(value)
		if secretParam(n) || strings.Contains(v, "://") {
			continue
		}
		return "an '@' in a parameter's value" + fix
	}
	return ""
}

// namePattern is what a parameter name must look like to be printed: a
// name that does not cannot be a parameter and may be a piece of a secret.
var namePattern = regexp.MustCompile(`^[A-Za-z0-9_.\-]{1,64}$`)

func printableName(n string) bool { return namePattern.MatchString(n) }

// nestedValue is a parameter value made printable: a DSN nested in it,
// escaped once or more, is redacted as a DSN; anything else is returned
// as is.
func nestedValue(v string) string {
	cur := v
	for range 3 {
		if strings.Contains(cur, "://") || strings.Contains(cur, "@") {
			return RedactDSN(cur)
		}
		next, err := url.QueryUnescape(cur)
		if err != nil || next == cur {
			break
		}
		cur = next
	}
	if strings.Contains(cur, "://") || strings.Contains(cur, "@") {
		return RedactDSN(cur)
	}
	return v
}

// hiddenNames are the parameter names of raw query q (in order) that are
// not printed: those that do not look like a parameter name, those
// without "=" (every parameter has a value), and those
// that follow a value that is not printed (a secret's, or an unknown
// parameter's), since an unescaped '&' in that value makes its tail look
// like a parameter. known says whether a name was consumed.
func hiddenNames(rawQuery string, known func(string) bool) map[string]bool {
	hidden := map[string]bool{}
	prevHidden := false
	for _, piece := range strings.Split(rawQuery, "&") {
		if piece == "" {
			continue
		}
		raw, _, hasValue := strings.Cut(piece, "=")
		n, err := url.QueryUnescape(raw)
		if err != nil || prevHidden || !printableName(n) || !hasValue {
			hidden[n] = true
		}
		prevHidden = secretParam(n) || !known(n)
	}
	return hidden
}
