package config

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
)

// Redaction never depends on a URL parsing: a DSN that is malformed (a bad
// port, an unencoded % in the password) is exactly the one that ends up in an
// error message. Three layers, applied by Redact to every string:
//
//  1. the user-info of anything that looks like a URL (scheme://user:***@),
//     up to the last @ before white space;
//  2. password=..., token=..., secret=... parameters, quoted or not, as in
//     libpq keyword DSNs and URL queries;
//  3. every configured secret, literally, in its raw, URL-escaped,
//     JSON-escaped and Go-quoted forms.

// urlUserinfo matches scheme://name:password@ where the password runs to the
// last @ before white space or a double quote (an unencoded @, / or % in it is
// common; a quote ends a JSON string, and a JSON log line holds more than one).
var urlUserinfo = sync.OnceValue(func() *regexp.Regexp {
	return regexp.MustCompile(`(?i)\b([a-z][a-z0-9+.\-]*://)([^\s:/@"'\x60]*):([^\s"]*)@`)
})

// secretParam matches password=..., token=..., secret=... and names ending in
// those words (sslpassword=, s3_secret_key=, QUANTX_INFLUX_TOKEN=), with a
// value that is quoted ('...' or "...") or runs to white space, & or a double
// quote (the end of a JSON string).
var secretParam = sync.OnceValue(func() *regexp.Regexp {
	return regexp.MustCompile(`(?i)\b([a-z0-9_.\-]*(?:password|passwd|pwd|token|secret|secret[_\-]?key))(\s*=\s*)('(?:[^'\\]|\\.)*'|"(?:[^"\\]|\\.)*"|[^&\s"]*)`)
})

// minSecret is the shortest configured secret that is masked literally:
// shorter ones would mangle ordinary words (they are still masked inside
// URLs and password= parameters).
const minSecret = 3

// Redact masks URL user-info, password-like parameters and every given secret
// in s. It is safe to run twice.
func Redact(s string, secrets ...string) string {
	if s == "" {
		return s
	}
	// The regular expressions cost about 0.25 µs a byte (120 ms on the 450 kB
	// report of `migrate lint` over 5,000 statements); most output holds
	// neither "://" nor a password-like word, which every match needs.
	if strings.Contains(s, "://") {
		s = urlUserinfo().ReplaceAllString(s, "$1$2:***@")
	}
	if mayHoldSecretParam(s) {
		s = secretParam().ReplaceAllStringFunc(s, func(m string) string {
			sub := secretParam().FindStringSubmatch(m)
			if sub[3] == "***" || sub[3] == "" {
				return m
			}
			return sub[1] + sub[2] + "***"
		})
	}
	for _, sec := range secrets {
		if len(sec) >= minSecret {
			s = strings.ReplaceAll(s, sec, "***")
		}
	}
	return s
}

// mayHoldSecretParam reports whether s holds one of the words secretParam
// needs (password, passwd, pwd, token, secret), in any case as (?i) matches
// them: ASCII letters of either case, and the two non-ASCII letters that fold
// to ASCII ones, ſ (U+017F) to s and K (U+212A, Kelvin) to k.
func mayHoldSecretParam(s string) bool {
	for i := 0; i < len(s); i++ {
		switch s[i] {
		case 'p', 'P':
			if hasFoldPrefix(s[i:], "passw") || hasFoldPrefix(s[i:], "pwd") {
				return true
			}
		case 't', 'T':
			if hasFoldPrefix(s[i:], "token") {
				return true
			}
		case 's', 'S', 0xc5: // 0xc5: the first byte of ſ
			if hasFoldPrefix(s[i:], "secret") {
				return true
			}
		}
	}
	return false
}

// hasFoldPrefix reports whether s starts with word (lower-case ASCII letters)
// under Unicode simple case folding.
func hasFoldPrefix(s, word string) bool {
	j := 0
	for k := 0; k < len(word); k++ {
		switch {
		case j < len(s) && s[j] < 0x80 && s[j]|0x20 == word[k]:
			j++
		case word[k] == 's' && strings.HasPrefix(s[j:], "\u017f"):
			j += len("\u017f")
		case word[k] == 'k' && strings.HasPrefix(s[j:], "\u212a"):
			j += len("\u212a")
		default:
			return false
		}
	}
	return true
}

// RedactURL hides the password of a URL or keyword DSN, parsed or not:
// postgres://app:s3cr3t@h/db prints as postgres://app:***@h/db.
func RedactURL(s string) string { return Redact(s) }

// secretForms returns s in every form it may take in a message: raw, escaped
// for a URL's user-info, path or query, decoded (when the raw value was
// already escaped), JSON-escaped and Go-quoted.
func secretForms(s string) []string {
	if s == "" {
		return nil
	}
	forms := []string{s, url.QueryEscape(s), url.PathEscape(s)}
	if u := (&url.URL{User: url.UserPassword("u", s)}).String(); strings.HasPrefix(u, "//u:") {
		forms = append(forms, strings.TrimSuffix(strings.TrimPrefix(u, "//u:"), "@"))
	}
	if dec, err := url.PathUnescape(s); err == nil {
		forms = append(forms, dec)
	}
	if dec, err := url.QueryUnescape(s); err == nil {
		forms = append(forms, dec)
	}
	if b, err := json.Marshal(s); err == nil {
		forms = append(forms, string(b[1:len(b)-1]))
	}
	q := strconv.Quote(s)
	forms = append(forms, q[1:len(q)-1])
	return forms
}

// userinfoPasswords returns the password candidates of a URL-like string
// without parsing it: what follows "user:" up to the last @ (an unencoded @ in
// the password is common), and each piece of it between two @ (a parser that
// stops at the first @ takes the rest for the host and prints it). A missing
// or mistyped scheme ("postgres//u:pw@h") does not hide it.
func userinfoPasswords(s string) []string {
	last := strings.LastIndex(s, "@")
	if last < 0 {
		return nil
	}
	info := s[:last]
	if i := strings.Index(info, "//"); i >= 0 {
		info = info[i+2:]
	} else if strings.ContainsAny(info, " \t=") {
		return nil // a keyword DSN: its password= is found by paramSecrets
	}
	_, pw, ok := strings.Cut(info, ":")
	if !ok || pw == "" {
		return nil
	}
	out := []string{pw}
	if parts := strings.Split(pw, "@"); len(parts) > 1 {
		out = append(out, parts...)
	}
	return out
}

// paramSecrets returns the values of password=... parameters (quoted or not).
func paramSecrets(s string) []string {
	var out []string
	for _, m := range secretParam().FindAllStringSubmatch(s, -1) {
		v := m[3]
		if n := len(v); n >= 2 && (v[0] == '\'' && v[n-1] == '\'' || v[0] == '"' && v[n-1] == '"') {
			out = append(out, v, v[1:n-1])
			continue
		}
		if v != "" {
			out = append(out, v)
		}
	}
	return out
}

// connectionSecrets returns every secret a connection string may hold, in all
// its forms, whether it parses or not.
func connectionSecrets(s string) []string {
	var out []string
	for _, pw := range append(userinfoPasswords(s), paramSecrets(s)...) {
		out = append(out, secretForms(pw)...)
	}
	return out
}

// tokenSecrets returns the forms of a token; a 1.x token is user:password,
// whose password part is a secret by itself.
func tokenSecrets(tok string) []string {
	out := secretForms(tok)
	if _, pw, ok := strings.Cut(tok, ":"); ok {
		out = append(out, secretForms(pw)...)
	}
	return out
}

// Secrets returns the secret values in c, in every form they may be printed
// in, for Redact. It does not parse the URLs: a malformed one is the likeliest
// to be echoed.
func (c Config) Secrets() []string {
	var out []string
	for _, d := range []DSN{c.DatabaseURL, c.InfluxURL, c.ElasticURL, c.MetricsPush} {
		out = append(out, connectionSecrets(string(d))...)
	}
	out = append(out, tokenSecrets(c.InfluxToken.Reveal())...)
	out = append(out, secretForms(c.S3SecretKey.Reveal())...)
	return compact(out)
}

// ConnectionSecrets returns the password of a connection string that is not
// part of Config (a --target-database-url), in every form, parsed or not.
func ConnectionSecrets(value string) []string { return compact(connectionSecrets(value)) }

// TokenSecrets returns a token or password given outside Config, in every form.
func TokenSecrets(value string) []string { return compact(tokenSecrets(value)) }

// compact sorts longest first (so a secret that contains another is masked
// whole) and drops duplicates and values too short to mask literally.
func compact(in []string) []string {
	out := in[:0]
	for _, s := range in {
		if len(s) >= minSecret {
			out = append(out, s)
		}
	}
	slices.SortFunc(out, func(a, b string) int {
		if len(a) != len(b) {
			return len(b) - len(a)
		}
		return strings.Compare(a, b)
	})
	return slices.Compact(out)
}

// Redactor masks a growing set of secrets in everything the program writes:
// its streams (Writer) and its log records (Handler). Secrets are added as
// they become known (config resolved, a URL flag parsed); it is safe for
// concurrent use.
type Redactor struct {
	mu      sync.RWMutex
	secrets []string
}

// Add registers more secrets (in the forms they are given; see Secrets and
// SecretsOf for the forms of a connection string).
func (r *Redactor) Add(secrets ...string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.secrets = compact(append(r.secrets, secrets...))
}

// Redact masks every known secret and URL password in s.
func (r *Redactor) Redact(s string) string {
	r.mu.RLock()
	defer r.mu.RUnlock()
	return Redact(s, r.secrets...)
}

// Writer returns w with every Write redacted as a unit. Every writer of the
// program writes whole lines, table cells or documents per call, so a secret
// is never split across two writes.
func (r *Redactor) Writer(w io.Writer) io.Writer { return redactWriter{r, w} }

type redactWriter struct {
	r *Redactor
	w io.Writer
}

func (rw redactWriter) Write(p []byte) (int, error) {
	clean := rw.r.Redact(string(p))
	if _, err := io.WriteString(rw.w, clean); err != nil {
		return 0, err
	}
	return len(p), nil // the caller wrote p; how many bytes the masking changed is ours to hide
}

// Handler wraps h so that the message and every attribute of every record,
// at every level, is redacted before h formats it.
func (r *Redactor) Handler(h slog.Handler) slog.Handler { return redactHandler{r, h} }

type redactHandler struct {
	r *Redactor
	h slog.Handler
}

func (rh redactHandler) Enabled(ctx context.Context, l slog.Level) bool { return rh.h.Enabled(ctx, l) }

func (rh redactHandler) Handle(ctx context.Context, rec slog.Record) error {
	out := slog.NewRecord(rec.Time, rec.Level, rh.r.Redact(rec.Message), rec.PC)
	rec.Attrs(func(a slog.Attr) bool {
		out.AddAttrs(rh.attr(a))
		return true
	})
	return rh.h.Handle(ctx, out)
}

func (rh redactHandler) WithAttrs(attrs []slog.Attr) slog.Handler {
	clean := make([]slog.Attr, len(attrs))
	for i, a := range attrs {
		clean[i] = rh.attr(a)
	}
	return redactHandler{rh.r, rh.h.WithAttrs(clean)}
}

func (rh redactHandler) WithGroup(name string) slog.Handler {
	return redactHandler{rh.r, rh.h.WithGroup(name)}
}

// attr redacts one attribute: strings, errors, Stringers and anything else
// that formats to text, and the members of groups.
func (rh redactHandler) attr(a slog.Attr) slog.Attr {
	v := a.Value.Resolve()
	switch v.Kind() {
	case slog.KindString:
		return slog.String(a.Key, rh.r.Redact(v.String()))
	case slog.KindGroup:
		members := v.Group()
		clean := make([]any, len(members))
		for i, m := range members {
			clean[i] = rh.attr(m)
		}
		return slog.Group(a.Key, clean...)
	case slog.KindAny:
		if err, ok := v.Any().(error); ok {
			return slog.String(a.Key, rh.r.Redact(err.Error()))
		}
		// Keep the value's own formatting unless its text holds a secret.
		text := fmt.Sprint(v.Any())
		if clean := rh.r.Redact(text); clean != text {
			return slog.String(a.Key, clean)
		}
	}
	return slog.Attr{Key: a.Key, Value: v}
}
