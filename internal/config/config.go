// Package config resolves quantx-db's connection settings from flags, QUANTX_*
// environment variables and an optional YAML file, in that order of precedence.
// It is the only package that reads flags or the environment for settings.
package config

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"net/url"
	"os"
	"regexp"
	"strconv"
	"strings"

	"github.com/spf13/pflag"
	"go.yaml.in/yaml/v3"
)

// Config holds every connection setting of the stores quantx-db manages. A
// store whose URL is empty is "not configured".
type Config struct {
	DatabaseURL   DSN    `yaml:"database_url" json:"database_url,omitempty"`
	InfluxURL     DSN    `yaml:"influx_url" json:"influx_url,omitempty"`
	InfluxToken   Secret `yaml:"influx_token" json:"influx_token,omitempty"`
	InfluxOrg     string `yaml:"influx_org" json:"influx_org,omitempty"`
	ElasticURL    DSN    `yaml:"elastic_url" json:"elastic_url,omitempty"`
	ElasticEngine string `yaml:"elastic_engine" json:"elastic_engine,omitempty"`
	S3Endpoint    string `yaml:"s3_endpoint" json:"s3_endpoint,omitempty"`
	S3AccessKey   string `yaml:"s3_access_key" json:"s3_access_key,omitempty"`
	S3SecretKey   Secret `yaml:"s3_secret_key" json:"s3_secret_key,omitempty"`
	S3Bucket      string `yaml:"s3_bucket" json:"s3_bucket,omitempty"`
	S3TLS         bool   `yaml:"s3_tls" json:"s3_tls"`
	S3Prefix      string `yaml:"s3_prefix" json:"s3_prefix,omitempty"`
	// S3CAFile is a PEM bundle of certificate authorities to trust for S3 over TLS (a private CA or
	// a self-signed server), used by the tool and written into pgBackRest's configuration.
	S3CAFile string `yaml:"s3_ca_file" json:"s3_ca_file,omitempty"`
	// S3Region is the S3 region for request signing; "" lets the S3 client discover it (pgBackRest
	// needs one: us-east-1 is used then).
	S3Region string `yaml:"s3_region" json:"s3_region,omitempty"`
	// PgBackRestConfig is the pgBackRest configuration file that 'wal setup' writes and every
	// physical-backup command reads; Stanza is the pgBackRest stanza (one per cluster).
	PgBackRestConfig string `yaml:"pgbackrest_config" json:"pgbackrest_config,omitempty"`
	Stanza           string `yaml:"stanza" json:"stanza,omitempty"`
}

// setting describes one configuration value: its flag, its environment
// variables (first non-empty wins), an optional *-file flag/env for secrets,
// and how to store it. The table is the documentation too (see Settings).
type setting struct {
	flag  string
	env   []string
	file  bool // also accepts --<flag>-file and <ENV>_FILE
	usage string
	set   func(*Config, string) error
}

func str(dst func(*Config) *string) func(*Config, string) error {
	return func(c *Config, v string) error { *dst(c) = v; return nil }
}

var settings = []setting{
	{"database-url", []string{"QUANTX_DATABASE_URL", "DATABASE_URL"}, true,
		"PostgreSQL `URL` (postgres://user:pass@host:port/db?sslmode=...)",
		func(c *Config, v string) error { c.DatabaseURL = DSN(v); return nil }},
	{"influx-url", []string{"QUANTX_INFLUX_URL"}, false, "InfluxDB base `URL`",
		func(c *Config, v string) error { c.InfluxURL = DSN(v); return nil }},
	{"influx-token", []string{"QUANTX_INFLUX_TOKEN"}, true, "InfluxDB `token` (2.x) or user:password (1.x)",
		func(c *Config, v string) error { c.InfluxToken = Secret(v); return nil }},
	{"influx-org", []string{"QUANTX_INFLUX_ORG"}, false, "InfluxDB `org` (2.x only)",
		str(func(c *Config) *string { return &c.InfluxOrg })},
	{"elastic-url", []string{"QUANTX_ELASTIC_URL"}, false, "Elasticsearch or OpenSearch base `URL`",
		func(c *Config, v string) error { c.ElasticURL = DSN(v); return nil }},
	{"elastic-engine", []string{"QUANTX_ELASTIC_ENGINE"}, false, "search `engine`: auto, elasticsearch or opensearch",
		str(func(c *Config) *string { return &c.ElasticEngine })},
	{"s3-endpoint", []string{"QUANTX_S3_ENDPOINT"}, false, "`host:port` of the S3/MinIO server",
		str(func(c *Config) *string { return &c.S3Endpoint })},
	{"s3-access-key", []string{"QUANTX_S3_ACCESS_KEY"}, false, "S3 access `key`",
		str(func(c *Config) *string { return &c.S3AccessKey })},
	{"s3-secret-key", []string{"QUANTX_S3_SECRET_KEY"}, true, "S3 secret `key`",
		func(c *Config, v string) error { c.S3SecretKey = Secret(v); return nil }},
	{"s3-bucket", []string{"QUANTX_S3_BUCKET"}, false, "S3 `bucket` for backups and archives",
		str(func(c *Config) *string { return &c.S3Bucket })},
	{"s3-tls", []string{"QUANTX_S3_TLS"}, false, "use TLS for S3 (`true|false`)",
		func(c *Config, v string) error {
			b, err := strconv.ParseBool(v)
			if err != nil {
				return fmt.Errorf("s3-tls: %q is not true or false", v)
			}
			c.S3TLS = b
			return nil
		}},
	{"s3-prefix", []string{"QUANTX_S3_PREFIX"}, false, "S3 key `prefix`",
		str(func(c *Config) *string { return &c.S3Prefix })},
	{"s3-ca-file", []string{"QUANTX_S3_CA_FILE"}, false, "PEM `file` of certificate authorities to trust for S3 over TLS",
		str(func(c *Config) *string { return &c.S3CAFile })},
	{"s3-region", []string{"QUANTX_S3_REGION"}, false, "S3 `region` (default: discovered; us-east-1 for pgBackRest)",
		str(func(c *Config) *string { return &c.S3Region })},
	{"pgbackrest-config", []string{"QUANTX_PGBACKREST_CONFIG"}, false, "pgBackRest configuration `file` for WAL archiving and physical backups (default /etc/pgbackrest/pgbackrest.conf)",
		str(func(c *Config) *string { return &c.PgBackRestConfig })},
	{"stanza", []string{"QUANTX_STANZA"}, false, "pgBackRest `stanza`, one per PostgreSQL cluster (default quantx)",
		str(func(c *Config) *string { return &c.Stanza })},
}

// Setting is the public description of one configuration value, for --help
// and the README.
type Setting struct {
	Flag, Usage string
	Env         []string
	File        bool
}

// Settings lists every configuration value in flag order.
func Settings() []Setting {
	out := make([]Setting, len(settings))
	for i, s := range settings {
		out[i] = Setting{Flag: s.flag, Usage: s.usage, Env: s.env, File: s.file}
	}
	return out
}

// AddFlags registers the connection flags (and --config) on fs.
func AddFlags(fs *pflag.FlagSet) {
	fs.String("config", "", "optional YAML config `file` (also QUANTX_CONFIG)")
	for _, s := range settings {
		if s.flag == "s3-tls" {
			fs.String(s.flag, "", s.usage+" (env "+strings.Join(s.env, ", ")+")")
			fs.Lookup(s.flag).NoOptDefVal = "true"
		} else {
			fs.String(s.flag, "", s.usage+" (env "+strings.Join(s.env, ", ")+")")
		}
		if s.file {
			fs.String(s.flag+"-file", "", "read --"+s.flag+" from `file` (env "+s.env[0]+"_FILE)")
		}
	}
}

// Defaults are applied before the file, the environment and the flags.
func defaults() Config {
	return Config{ElasticEngine: "auto", S3Prefix: "quantx-db/",
		PgBackRestConfig: "/etc/pgbackrest/pgbackrest.conf", Stanza: "quantx"}
}

// Resolve applies defaults < config file < environment < flags. Only flags the
// user set count, so a flag's empty default never hides an environment value.
func Resolve(fs *pflag.FlagSet, getenv func(string) string) (Config, error) {
	c := defaults()
	path := flagValue(fs, "config")
	if path == "" {
		path = getenv("QUANTX_CONFIG")
	}
	if path != "" {
		if err := c.mergeFile(path); err != nil {
			return Config{}, err
		}
	}
	for _, s := range settings {
		if v, ok, err := envValue(s, getenv); err != nil {
			return Config{}, err
		} else if ok {
			if err := s.set(&c, v); err != nil {
				return Config{}, fmt.Errorf("environment %s: %w", s.env[0], err)
			}
		}
	}
	for _, s := range settings {
		v, ok, err := flagSetting(fs, s)
		if err != nil {
			return Config{}, err
		}
		if ok {
			if err := s.set(&c, v); err != nil {
				return Config{}, fmt.Errorf("flag --%s: %w", s.flag, err)
			}
		}
	}
	return c, c.validate()
}

func flagValue(fs *pflag.FlagSet, name string) string {
	if fs == nil {
		return ""
	}
	f := fs.Lookup(name)
	if f == nil || !f.Changed {
		return ""
	}
	return f.Value.String()
}

func flagSetting(fs *pflag.FlagSet, s setting) (string, bool, error) {
	if s.file {
		if p := flagValue(fs, s.flag+"-file"); p != "" {
			v, err := readSecretFile(p)
			if err != nil {
				return "", false, fmt.Errorf("flag --%s-file: %w", s.flag, err)
			}
			return v, true, nil
		}
	}
	if fs == nil || fs.Lookup(s.flag) == nil || !fs.Lookup(s.flag).Changed {
		return "", false, nil
	}
	return fs.Lookup(s.flag).Value.String(), true, nil
}

func envValue(s setting, getenv func(string) string) (string, bool, error) {
	if s.file {
		if p := getenv(s.env[0] + "_FILE"); p != "" {
			v, err := readSecretFile(p)
			if err != nil {
				return "", false, fmt.Errorf("environment %s_FILE: %w", s.env[0], err)
			}
			return v, true, nil
		}
	}
	for _, name := range s.env {
		if v := getenv(name); v != "" {
			return v, true, nil
		}
	}
	return "", false, nil
}

// readSecretFile reads a secret, trimming the trailing newline editors add.
func readSecretFile(path string) (string, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return "", err // *fs.PathError names the file; it never contains the secret
	}
	v := strings.TrimRight(string(b), "\r\n")
	if v == "" {
		return "", fmt.Errorf("%s is empty", path)
	}
	return v, nil
}

func (c *Config) mergeFile(path string) error {
	b, err := os.ReadFile(path)
	if err != nil {
		return fmt.Errorf("config file: %w", err)
	}
	var f Config
	dec := yaml.NewDecoder(bytes.NewReader(b))
	dec.KnownFields(true)                                             // a typo must not silently fall back to a default
	if err := dec.Decode(&f); err != nil && !errors.Is(err, io.EOF) { // io.EOF: an empty file
		return fmt.Errorf("config file %s: %w", path, err)
	}
	mergeNonZero(c, f)
	return nil
}

func mergeNonZero(dst *Config, src Config) {
	if src.DatabaseURL != "" {
		dst.DatabaseURL = src.DatabaseURL
	}
	if src.InfluxURL != "" {
		dst.InfluxURL = src.InfluxURL
	}
	if src.InfluxToken != "" {
		dst.InfluxToken = src.InfluxToken
	}
	if src.InfluxOrg != "" {
		dst.InfluxOrg = src.InfluxOrg
	}
	if src.ElasticURL != "" {
		dst.ElasticURL = src.ElasticURL
	}
	if src.ElasticEngine != "" {
		dst.ElasticEngine = src.ElasticEngine
	}
	if src.S3Endpoint != "" {
		dst.S3Endpoint = src.S3Endpoint
	}
	if src.S3AccessKey != "" {
		dst.S3AccessKey = src.S3AccessKey
	}
	if src.S3SecretKey != "" {
		dst.S3SecretKey = src.S3SecretKey
	}
	if src.S3Bucket != "" {
		dst.S3Bucket = src.S3Bucket
	}
	if src.S3TLS {
		dst.S3TLS = true
	}
	if src.S3Prefix != "" {
		dst.S3Prefix = src.S3Prefix
	}
	if src.S3CAFile != "" {
		dst.S3CAFile = src.S3CAFile
	}
	if src.S3Region != "" {
		dst.S3Region = src.S3Region
	}
	if src.PgBackRestConfig != "" {
		dst.PgBackRestConfig = src.PgBackRestConfig
	}
	if src.Stanza != "" {
		dst.Stanza = src.Stanza
	}
}

// stanzaName is what a pgBackRest stanza may be called here: it names a config section and a folder.
var stanzaName = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$`)

// validate checks the shape of every configured value; it never connects.
func (c Config) validate() error {
	if c.DatabaseURL != "" {
		if err := checkURL("database-url", string(c.DatabaseURL), "postgres", "postgresql"); err != nil {
			return err
		}
	}
	if c.InfluxURL != "" {
		if err := checkURL("influx-url", string(c.InfluxURL), "http", "https"); err != nil {
			return err
		}
	}
	if c.ElasticURL != "" {
		if err := checkURL("elastic-url", string(c.ElasticURL), "http", "https"); err != nil {
			return err
		}
	}
	switch c.ElasticEngine {
	case "auto", "elasticsearch", "opensearch":
	default:
		return fmt.Errorf("elastic-engine %q: use auto, elasticsearch or opensearch", c.ElasticEngine)
	}
	if strings.Contains(c.S3Endpoint, "://") {
		return fmt.Errorf("s3-endpoint %q: give host:port without a scheme (use --s3-tls for https)", c.S3Endpoint)
	}
	if c.S3CAFile != "" && !c.S3TLS {
		return fmt.Errorf("s3-ca-file %s is set but s3-tls is off: add --s3-tls (QUANTX_S3_TLS=true)", c.S3CAFile)
	}
	if !stanzaName.MatchString(c.Stanza) {
		return fmt.Errorf("stanza %q: use letters, digits, '.', '-' or '_' (at most 64)", c.Stanza)
	}
	if c.PgBackRestConfig == "" {
		return fmt.Errorf("pgbackrest-config is empty: name the pgBackRest configuration file")
	}
	return nil
}

func checkURL(name, raw string, schemes ...string) error {
	u, err := url.Parse(raw)
	if err != nil {
		// url.Parse errors quote the whole input, password included: don't wrap them.
		return fmt.Errorf("%s is not a valid URL (%s)", name, RedactURL(raw))
	}
	for _, s := range schemes {
		if u.Scheme == s {
			return nil
		}
	}
	return fmt.Errorf("%s %s: scheme must be %s", name, RedactURL(raw), strings.Join(schemes, " or "))
}

// Secrets returns the raw secret values in c, for config.Scrub.
func (c Config) Secrets() []string {
	var out []string
	for _, d := range []DSN{c.DatabaseURL, c.InfluxURL, c.ElasticURL} {
		if u, err := url.Parse(string(d)); err == nil && u.User != nil {
			if p, ok := u.User.Password(); ok {
				out = append(out, p, url.QueryEscape(p))
			}
		}
		for _, m := range passwordParam.FindAllStringSubmatch(string(d), -1) {
			out = append(out, m[2])
		}
	}
	if tok := c.InfluxToken.Reveal(); tok != "" {
		out = append(out, tok)
		if _, pw, ok := strings.Cut(tok, ":"); ok {
			out = append(out, pw)
		}
	}
	if s := c.S3SecretKey.Reveal(); s != "" {
		out = append(out, s)
	}
	return out
}
