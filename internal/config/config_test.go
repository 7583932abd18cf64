package config

import (
	"os"
	"path/filepath"
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
	if c.DatabaseURL != "postgres://fallback@h/db" {
		t.Fatalf("DATABASE_URL fallback not applied: %s", c.DatabaseURL)
	}
	c, _ = Resolve(flags(t), env(map[string]string{"QUANTX_DATABASE_URL": "postgres://q@h/db", "DATABASE_URL": "postgres://d@h/db"}))
	if c.DatabaseURL != "postgres://q@h/db" {
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
	if c.DatabaseURL.Reveal() != "postgres://app:s3cr3t@h/db" || c.InfluxToken.Reveal() != "admin:tokpass" {
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
		{"unknown key in file", nil, nil, "databse_url: x\n", "field databse_url not found"},
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
	msg := Scrub("dial postgres://app:s3cr3t@h/db: auth admin:tokpass failed, key s3key", c.Secrets()...)
	for _, s := range []string{"s3cr3t", "tokpass", "s3key"} {
		if strings.Contains(msg, s) {
			t.Errorf("Scrub left %q in %q", s, msg)
		}
	}
}
