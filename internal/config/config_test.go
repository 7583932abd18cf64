package config

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/spf13/pflag"
)

func flags(t *testing.T, args ...string) *pflag.FlagSet {
	t.Helper()
	fs := pflag.NewFlagSet("test", pflag.ContinueOnError)
	AddFlags(fs)
	if err := fs.Parse(args); err != nil {
		t.Fatal(err)
	}
	return fs
}

func env(m map[string]string) func(string) string { return func(k string) string { return m[k] } }

func write(t *testing.T, name, body string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(p, []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestPrecedenceFlagsOverEnvOverFile(t *testing.T) {
	file := write(t, "q.yaml", "database_url: postgres://file@h/db\ninflux_url: http://file:8086\ns3_bucket: from-file\ns3_prefix: p/\n")
	c, err := Resolve(flags(t, "--config", file, "--influx-url", "http://flag:8086"),
		env(map[string]string{"QUANTX_INFLUX_URL": "http://env:8086", "QUANTX_S3_BUCKET": "from-env", "DATABASE_URL": "postgres://fallback@h/db"}))
	if err != nil {
		t.Fatal(err)
	}
	if c.InfluxURL != "http://flag:8086" || c.S3Bucket != "from-env" || c.S3Prefix != "p/" {
		t.Fatalf("precedence wrong: %+v", c)
	}
	// DATABASE_URL (env) beats the file, QUANTX_DATABASE_URL beats DATABASE_URL.
	if c.DatabaseURL != "postgres://fallback@h/db?connect_timeout=10" {
		t.Fatalf("DATABASE_URL fallback not applied: %s", c.DatabaseURL)
	}
	c, _ = Resolve(flags(t), env(map[string]string{"QUANTX_DATABASE_URL": "postgres://q@h/db", "DATABASE_URL": "postgres://d@h/db"}))
	if c.DatabaseURL != "postgres://q@h/db?connect_timeout=10" {
		t.Fatalf("QUANTX_DATABASE_URL must win: %s", c.DatabaseURL)
	}
	if c.S3Prefix != "quantx-db/" || c.ElasticEngine != "auto" {
		t.Fatalf("defaults: %+v", c)
	}
}

func TestSecretsFromFiles(t *testing.T) {
	pw := write(t, "url", "postgres://app:s3cr3t@h/db\n")
	tok := write(t, "tok", "admin:tokpass\n")
	c, err := Resolve(flags(t, "--database-url-file", pw), env(map[string]string{"QUANTX_INFLUX_TOKEN_FILE": tok}))
	if err != nil {
		t.Fatal(err)
	}
	if c.DatabaseURL.Reveal() != "postgres://app:s3cr3t@h/db?connect_timeout=10" || c.InfluxToken.Reveal() != "admin:tokpass" {
		t.Fatalf("secret files not read: %+v", c)
	}
	if _, err := Resolve(flags(t, "--database-url-file", filepath.Join(t.TempDir(), "missing")), env(nil)); err == nil {
		t.Fatal("a missing secret file must be an error")
	}
}

func TestBadInputIsOneClearError(t *testing.T) {
	tests := []struct {
		name string
		args []string
		env  map[string]string
		file string
		want string
	}{
		{"unknown key in file", nil, nil, "s3_bucket: b\ndatabse_url: x\n", `line 2: unknown key "databse_url" (did you mean "database_url"?)`},
		{"unknown key, no close match", nil, nil, "colour: blue\n", `line 1: unknown key "colour" (known keys: database_url,`},
		{"wrong type in file", nil, nil, "s3_tls: [1]\n", "line 1: s3_tls: a list is not true or false"},
		{"not a mapping", nil, nil, "- a\n- b\n", "line 1: expected key: value"},
		{"bad port", []string{"--database-url", "postgres://u:pw@127.0.0.1:54x32/db"}, nil, "", `port "54x32" is not a number`},
		{"bad escape", []string{"--database-url", "postgres://u:p%zzw@127.0.0.1:5432/db"}, nil, "", "write a % in the password as %25"},
		{"wrong scheme", []string{"--database-url", "mysql://u:pw@h/db"}, nil, "", "scheme must be postgres"},
		{"bad engine", nil, map[string]string{"QUANTX_ELASTIC_ENGINE": "solr"}, "", `elastic-engine "solr"`},
		{"s3 endpoint with scheme", []string{"--s3-endpoint", "http://h:9000"}, nil, "", "without a scheme"},
		{"bad tls", nil, map[string]string{"QUANTX_S3_TLS": "maybe"}, "", "not true or false"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			args := tt.args
			if tt.file != "" {
				args = append(args, "--config", write(t, "c.yaml", tt.file))
			}
			_, err := Resolve(flags(t, args...), env(tt.env))
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("got %v, want %q", err, tt.want)
			}
			if strings.Contains(err.Error(), "pw@") {
				t.Fatalf("error leaks the password: %v", err)
			}
		})
	}
}

func TestRedaction(t *testing.T) {
	tests := map[string]string{
		"postgres://app:s3cr3t@db.example:5432/quantx?sslmode=require": "postgres://app:***@db.example:5432/quantx?sslmode=require",
		"postgres://app@db/quantx":                                     "postgres://app@db/quantx",
		"postgres://db/quantx?user=app&password=s3cr3t":                "postgres://db/quantx?user=app&password=***",
		"host=db user=app password=s3cr3t dbname=q":                    "host=db user=app password=*** dbname=q",
		"http://elastic:s3cr3t@search:9200":                            "http://elastic:***@search:9200",
	}
	for in, want := range tests {
		if got := RedactURL(in); got != want {
			t.Errorf("RedactURL(%q) = %q, want %q", in, got, want)
		}
		if got := DSN(in).String(); strings.Contains(got, "s3cr3t") {
			t.Errorf("DSN(%q).String() leaks: %q", in, got)
		}
	}
	if s := Secret("tok").String(); s != "***" {
		t.Errorf("Secret prints %q", s)
	}
	c := Config{DatabaseURL: "postgres://app:s3cr3t@h/db", InfluxToken: "admin:tokpass", S3SecretKey: "s3key"}
	msg := Redact("dial postgres://app:s3cr3t@h/db: auth admin:tokpass failed, key s3key", c.Secrets()...)
	for _, s := range []string{"s3cr3t", "tokpass", "s3key"} {
		if strings.Contains(msg, s) {
			t.Errorf("Scrub left %q in %q", s, msg)
		}
	}
}

// TestErrorsAreOneLine: every Resolve error is one line, so the CLI never has
// to cut it (a cut message loses the key or the cause).
func TestErrorsAreOneLine(t *testing.T) {
	file := write(t, "c.yaml", "database_url: postgres://u:pw@h/db\ns3_tls: [1]\ninflux_token: [2]\n")
	_, err := Resolve(flags(t, "--config", file), env(nil))
	if err == nil || strings.Contains(err.Error(), "\n") {
		t.Fatalf("want a one-line error, got %q", err)
	}
}

// TestResolveKeepsWhatItReadOnError: a failed Resolve still returns the
// secrets it read, so the error that quotes them can be redacted.
func TestResolveKeepsWhatItReadOnError(t *testing.T) {
	c, err := Resolve(flags(t, "--database-url", "postgres://u:Hunter2@127.0.0.1:54x32/db"), env(nil))
	if err == nil {
		t.Fatal("a bad port must be an error")
	}
	if msg := Redact(err.Error(), c.Secrets()...); strings.Contains(msg, "Hunter2") {
		t.Fatalf("secret in %q", msg)
	}
	file := write(t, "c.yaml", "database_url: postgres://u:Hunter2@h/db\nbogus: 1\n")
	c, err = Resolve(flags(t, "--config", file), env(nil))
	if err == nil || !slices.Contains(c.Secrets(), "Hunter2") {
		t.Fatalf("the file's secrets must be known even when a key is unknown: %v %q", err, c.Secrets())
	}
}

// redactionCorpus is malformed and well-formed connection strings that carry
// the password "Hunter2-Zq9%x" in some form; none may survive Redact with the
// secrets of a Config built from it (or, for the last ones, with none at all).
var redactionCorpus = []string{
	"postgres://u:Hunter2-Zq9%x@127.0.0.1:54x32/db",
	"postgres://u:Hunter2-Zq9%x@127.0.0.1:5432/db",
	"postgres://u:Hunter2-Zq9%25x@127.0.0.1:5432/db",
	"postgresql://u:Hunter2-Zq9%x@[::1:5432/db",
	"postgres://u:Hunter2-Zq9%x@host:5432/db?sslmode=bogus&x=%zz",
	"postgres://u:Hunter2-Zq9%x@@host/db",
	"postgres://u:Hunter2-Zq9%x@host:99999/db",
	"postgres://u:Hunter2-Zq9%x@/db",
	"postgres://:Hunter2-Zq9%x@host/db",
	"postgres://u:Hunter2-Zq9%x/@host/db",
	"postgres://u:Hunter2-Zq9%x@ho st/db",
	"postgres://u:Hunter2-Zq9%x#@host/db",
	"postgres://u:Hunter2-Zq9%x?@host/db",
	"postgres://u:Hunter2-Zq9%x@host:5432/db\n",
	"postgres//u:Hunter2-Zq9%x@host/db",
	"mysql://u:Hunter2-Zq9%x@host/db",
	"host=127.0.0.1 port=5432 user=u password=Hunter2-Zq9%x dbname=db",
	"host=127.0.0.1 user=u password='Hunter2-Zq9%x' dbname=db",
	"postgres://host/db?user=u&password=Hunter2-Zq9%x",
	"postgres://host/db?password=Hunter2-Zq9%x&sslmode=disable",
	"http://elastic:Hunter2-Zq9%x@127.0.0.1:92x0",
	"https://elastic:Hunter2-Zq9%x@search:9200/?x=%",
	"postgres://u:Hunter 2-Zq9%x@host/db",
	"postgres://u:Hunter2-Zq9%x@host\t/db",
}

func TestRedactionCorpus(t *testing.T) {
	if len(redactionCorpus) < 20 {
		t.Fatal("the corpus must have at least 20 cases")
	}
	leaks := func(s string) bool {
		return strings.Contains(s, "Hunter") || strings.Contains(s, "Zq9")
	}
	for _, raw := range redactionCorpus {
		c := Config{DatabaseURL: DSN(raw), ElasticURL: DSN(raw)}
		// The string itself, in messages that quote it in several ways.
		for _, msg := range []string{raw, "connect to " + raw + ": refused", fmt.Sprintf("%q", raw), url.QueryEscape(raw), jsonString(t, raw)} {
			if got := Redact(msg, c.Secrets()...); leaks(got) {
				t.Errorf("Redact(%q) with its secrets = %q", msg, got)
			}
		}
		if got := DSN(raw).String(); leaks(got) {
			t.Errorf("DSN(%q).String() = %q", raw, got)
		}
		// Without knowing the secrets: URL user-info and password= are masked by shape.
		if !strings.Contains(raw, " ") && !strings.Contains(raw, "\t") && !strings.Contains(raw, "postgres//") {
			if got := Redact(raw); leaks(got) {
				t.Errorf("Redact(%q) without secrets = %q", raw, got)
			}
		}
	}
}

func TestRedactKeepsOrdinaryText(t *testing.T) {
	for _, s := range []string{
		"postgres://app@db:5432/quantx?sslmode=require",
		"http://127.0.0.1:9200/_cluster/health",
		"version 9, 0 pending: run 'quantx-db migrate up'",
		"s3 bucket quantx at 127.0.0.1:9000",
		`{"msg":"applied","dsn":"postgres://u:***@h/db","applied_by":"root@host"}`,
		`msg=applied dsn=postgres://u:***@h/db applied_by=root@host`,
	} {
		if got := Redact(s, "s3cr3t"); got != s {
			t.Errorf("Redact(%q) = %q", s, got)
		}
	}
}

func jsonString(t *testing.T, s string) string {
	t.Helper()
	b, err := json.Marshal(s)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// TestRedactingLogHandler: every level, message, attribute, group and error
// is redacted before the inner handler formats it.
func TestRedactingLogHandler(t *testing.T) {
	var r Redactor
	r.Add(ConnectionSecrets("postgres://u:Hunter2-Zq9@h/db")...)
	for _, asJSON := range []bool{false, true} {
		var buf bytes.Buffer
		var h slog.Handler = slog.NewTextHandler(&buf, &slog.HandlerOptions{Level: slog.LevelDebug})
		if asJSON {
			h = slog.NewJSONHandler(&buf, &slog.HandlerOptions{Level: slog.LevelDebug})
		}
		lg := slog.New(r.Handler(h)).With("dsn", "postgres://u:Hunter2-Zq9@h/db")
		lg.Debug("connect postgres://x:Hunter2-Zq9@h/db", "err", errors.New("auth Hunter2-Zq9 failed"))
		lg.Info("q", slog.Group("g", "pw", "Hunter2-Zq9"), "any", struct{ P string }{"Hunter2-Zq9"})
		lg.WithGroup("w").Warn("w", "s", "password=Hunter2-Zq9")
		lg.Error("e", "list", []string{"Hunter2-Zq9"})
		if strings.Contains(buf.String(), "Hunter2") || strings.Count(buf.String(), "\n") != 4 {
			t.Errorf("json=%v: log leaks or lost lines:\n%s", asJSON, buf.String())
		}
	}
}

func TestRedactingWriter(t *testing.T) {
	var r Redactor
	var buf bytes.Buffer
	w := r.Writer(&buf)
	r.Add(TokenSecrets("tok:Hunter2-Zq9")...)
	fmt.Fprintf(w, "token tok:Hunter2-Zq9 and %q\n", "Hunter2-Zq9")
	if strings.Contains(buf.String(), "Hunter2") {
		t.Fatalf("writer leaks: %s", buf.String())
	}
}

// TestConnectTimeoutByDefault: a server that accepts and never answers must
// not hang quantx-db (nor pg_dump, which gets the same URL).
func TestConnectTimeoutByDefault(t *testing.T) {
	for in, want := range map[string]string{
		"postgres://h/db":                                   "postgres://h/db?connect_timeout=10",
		"postgres://h/db?sslmode=disable":                   "postgres://h/db?sslmode=disable&connect_timeout=10",
		"postgres://h/db?connect_timeout=3&sslmode=disable": "postgres://h/db?connect_timeout=3&sslmode=disable",
	} {
		c, err := Resolve(flags(t, "--database-url", in), env(nil))
		if err != nil || c.DatabaseURL.Reveal() != want {
			t.Errorf("%s: got %q %v, want %q", in, c.DatabaseURL.Reveal(), err, want)
		}
	}
}
