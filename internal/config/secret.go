package config

import (
	"log/slog"
	"net/url"
	"regexp"
	"strings"
)

// Secret is a password or token. It never prints itself: String, LogValue and
// JSON encoding all redact, so a Secret can be passed to a logger or an error
// without thinking. Reveal is the one way out; grep for it in review.
type Secret string

func (s Secret) String() string               { return redacted(string(s)) }
func (s Secret) LogValue() slog.Value         { return slog.StringValue(s.String()) }
func (s Secret) MarshalText() ([]byte, error) { return []byte(s.String()), nil }
func (s Secret) Reveal() string               { return string(s) }

func redacted(s string) string {
	if s == "" {
		return ""
	}
	return "***"
}

// DSN is a connection URL that may carry a password (postgres://app:pw@host/db,
// http://user:pw@host:9200). It prints as postgres://app:***@host/db.
type DSN string

func (d DSN) String() string               { return RedactURL(string(d)) }
func (d DSN) LogValue() slog.Value         { return slog.StringValue(d.String()) }
func (d DSN) MarshalText() ([]byte, error) { return []byte(d.String()), nil }
func (d DSN) Reveal() string               { return string(d) }

// passwordParam matches password=... in a URL query or a key=value DSN.
var passwordParam = regexp.MustCompile(`(?i)(password|pass|pwd|token|secret|sslpassword)=([^&\s]*)`)

// RedactURL hides the password of a URL and any password=... parameter. A
// string that is not a URL is treated as a libpq key=value DSN.
func RedactURL(s string) string {
	if s == "" {
		return ""
	}
	u, err := url.Parse(s)
	if err != nil || u.Scheme == "" || u.Host == "" && u.User == nil {
		return passwordParam.ReplaceAllString(s, "$1=***")
	}
	out := u.Scheme + "://"
	if u.User != nil {
		out += u.User.Username()
		if _, ok := u.User.Password(); ok {
			out += ":***"
		}
		out += "@"
	}
	out += u.Host + u.EscapedPath()
	if u.RawQuery != "" {
		out += "?" + passwordParam.ReplaceAllString(u.RawQuery, "$1=***")
	}
	return out
}

// Scrub replaces every occurrence of the given secrets in msg with ***. The
// error reporter runs every message through it as the last line of defence:
// a server or driver error may echo a URL or password we never formatted.
func Scrub(msg string, secrets ...string) string {
	for _, s := range secrets {
		if len(s) >= 3 { // too short a "secret" would mangle ordinary words
			msg = strings.ReplaceAll(msg, s, "***")
		}
	}
	return msg
}
