// Package config resolves quantx-db's connection settings from flags, QUANTX_*
// environment variables and an optional YAML file, in that order of precedence.
// It is the only package that reads flags or the environment for settings.
package config

import (
	"errors"
	"fmt"
	"net/url"
	"os"
	"reflect"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"github.com/agnivade/levenshtein"
	"github.com/spf13/pflag"
	"go.yaml.in/yaml/v3"

	"github.com/quantx/quantx-db/internal/yamlkey"
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
	MetricsFile      string `yaml:"metrics_file" json:"metrics_file,omitempty"` // node_exporter textfile every command merges into
	MetricsPush      DSN    `yaml:"metrics_push" json:"metrics_push,omitempty"` // Pushgateway base URL
	Lint             Lint   `yaml:"lint" json:"lint,omitzero"`
}

// Lint switches rules of `migrate lint` off. It is read from the config file
// only: a team records there which advice it does not follow.
type Lint struct {
	Style   *bool    `yaml:"style" json:"style,omitempty"`     // false: no style warnings (prefer-text-field, ...)
	Disable []string `yaml:"disable" json:"disable,omitempty"` // rule ids never reported
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
	{"metrics-file", []string{"QUANTX_METRICS_FILE"}, false, "after every command, merge its Prometheus series into this node_exporter textfile `path`",
		str(func(c *Config) *string { return &c.MetricsFile })},
	{"metrics-push", []string{"QUANTX_METRICS_PUSH"}, false, "after every command, push its Prometheus series to this Pushgateway `URL`",
		func(c *Config, v string) error { c.MetricsPush = DSN(v); return nil }},
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
// On error the Config holds what was read so far, so that the caller can
// still redact its secrets from the message (see Config.Secrets).
func Resolve(fs *pflag.FlagSet, getenv func(string) string) (Config, error) {
	c := defaults()
	path := flagValue(fs, "config")
	if path == "" {
		path = getenv("QUANTX_CONFIG")
	}
	if path != "" {
		if err := c.mergeFile(path); err != nil {
			return c, err
		}
	}
	for _, s := range settings {
		if v, ok, err := envValue(s, getenv); err != nil {
			return c, err
		} else if ok {
			if err := s.set(&c, v); err != nil {
				return c, fmt.Errorf("environment %s: %w", s.env[0], err)
			}
		}
	}
	for _, s := range settings {
		v, ok, err := flagSetting(fs, s)
		if err != nil {
			return c, err
		}
		if ok {
			if err := s.set(&c, v); err != nil {
				return c, fmt.Errorf("flag --%s: %w", s.flag, err)
			}
		}
	}
	if err := c.validate(); err != nil {
		return c, err
	}
	c.DatabaseURL = DSN(withConnectTimeout(string(c.DatabaseURL)))
	return c, nil
}

// Lookup resolves the one setting whose flag is named, from the flags, else
// the environment: for a caller that must still act after Resolve failed
// (the metrics of a run whose other settings were bad). A setting's own
// error (an unreadable *-file) counts as not set.
func Lookup(fs *pflag.FlagSet, getenv func(string) string, flag string) (string, bool) {
	for _, s := range settings {
		if s.flag != flag {
			continue
		}
		if v, ok, err := flagSetting(fs, s); err == nil && ok {
			return v, true
		}
		if v, ok, err := envValue(s, getenv); err == nil && ok {
			return v, true
		}
	}
	return "", false
}

// ConnectTimeout is the connect_timeout (seconds) quantx-db adds to a
// database URL that has none: libpq and pgx wait forever for a server that
// accepts the connection and never answers.
const ConnectTimeout = "10"

// withConnectTimeout adds connect_timeout to a valid PostgreSQL URL without
// one, keeping the rest of the string as the user wrote it.
func withConnectTimeout(raw string) string {
	u, err := url.Parse(raw)
	if raw == "" || err != nil || u.Query().Has("connect_timeout") {
		return raw
	}
	frag := ""
	if i := strings.IndexByte(raw, '#'); i >= 0 {
		raw, frag = raw[:i], raw[i:]
	}
	sep := "?"
	if strings.Contains(raw, "?") {
		sep = "&"
	}
	return raw + sep + "connect_timeout=" + ConnectTimeout + frag
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

// mergeFile reads the YAML config file. An unknown key is an error that names
// the key and its line (a typo must not silently fall back to a default);
// what did decode is merged even then, so that its secrets are known to the
// redaction of the error.
func (c *Config) mergeFile(path string) error {
	b, err := os.ReadFile(path)
	if err != nil {
		return fmt.Errorf("config file: %w", err)
	}
	var doc yaml.Node
	if err := yaml.Unmarshal(b, &doc); err != nil {
		return fmt.Errorf("config file %s: %w", path, err) // "yaml: line N: ..." quotes no value
	}
	if len(doc.Content) == 0 {
		return nil // an empty file
	}
	root := doc.Content[0]
	if root.Kind != yaml.MappingNode {
		return fmt.Errorf("config file %s line %d: expected key: value lines such as 'database_url: postgres://...'", path, root.Line)
	}
	var f Config
	decodeErr := root.Decode(&f)
	mergeNonZero(c, f)
	known := fileKeys()
	for i := 0; i+1 < len(root.Content); i += 2 {
		k := root.Content[i]
		if slices.Contains(known, k.Value) {
			continue
		}
		msg := fmt.Sprintf("config file %s line %d: unknown key %q", path, k.Line, k.Value)
		if s := Suggest(k.Value, known); s != "" {
			return fmt.Errorf("%s (did you mean %q?)", msg, s)
		}
		return fmt.Errorf("%s (known keys: %s)", msg, strings.Join(known, ", "))
	}
	if decodeErr != nil { // a wrong type: name the key and its line (yaml.v3 says line and Go type only)
		return fmt.Errorf("config file %s: %s", path, yamlkey.ExplainAll(&doc, decodeErr))
	}
	return nil
}

// fileKeys lists the keys of the config file: the yaml names of Config.
func fileKeys() []string {
	t := reflect.TypeFor[Config]()
	keys := make([]string, 0, t.NumField())
	for i := range t.NumField() {
		if k, _, _ := strings.Cut(t.Field(i).Tag.Get("yaml"), ","); k != "" && k != "-" {
			keys = append(keys, k)
		}
	}
	return keys
}

// Suggest returns the candidate closest to s, if it is close enough to be a
// typo (two edits at most), or "".
func Suggest(s string, candidates []string) string {
	best, bestDist := "", 3 // more than two edits away is not a typo
	for _, c := range candidates {
		if d := levenshtein.ComputeDistance(strings.ToLower(s), c); d < bestDist {
			best, bestDist = c, d
		}
	}
	return best
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
	if src.Lint.Style != nil {
		dst.Lint.Style = src.Lint.Style
	}
	if len(src.Lint.Disable) > 0 {
		dst.Lint.Disable = src.Lint.Disable
	}
	if src.MetricsFile != "" {
		dst.MetricsFile = src.MetricsFile
	}
	if src.MetricsPush != "" {
		dst.MetricsPush = src.MetricsPush
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
	if c.MetricsPush != "" {
		if err := checkURL("metrics-push", string(c.MetricsPush), "http", "https"); err != nil {
			return err
		}
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

// checkURL checks that raw is a URL with one of the schemes. Its messages
// never quote url.Parse's error: that one echoes the input, and an invalid
// escape it quotes is a piece of the password.
func checkURL(name, raw string, schemes ...string) error {
	u, err := url.Parse(raw)
	if err != nil {
		return fmt.Errorf("%s %s is not a valid URL: %s", name, RedactURL(raw), urlProblem(raw, err))
	}
	for _, s := range schemes {
		if u.Scheme == s {
			return nil
		}
	}
	return fmt.Errorf("%s %s: scheme must be %s", name, RedactURL(raw), strings.Join(schemes, " or "))
}

// urlProblem says what is wrong with a URL that does not parse, without
// quoting any part of its user-info.
func urlProblem(raw string, err error) string {
	if _, ok := errors.AsType[url.EscapeError](err); ok {
		return "a % that is not followed by two hex digits (write a % in the password as %25)"
	}
	rest := raw
	if _, r, ok := strings.Cut(raw, "://"); ok {
		rest = r
	}
	if i := strings.LastIndex(rest, "@"); i >= 0 {
		rest = rest[i+1:]
	}
	if i := strings.IndexAny(rest, "/?#"); i >= 0 {
		rest = rest[:i]
	}
	if i := strings.LastIndex(rest, ":"); i >= 0 && !strings.HasSuffix(rest, "]") {
		if port := rest[i+1:]; port != "" {
			if _, perr := strconv.ParseUint(port, 10, 16); perr != nil {
				return fmt.Sprintf("port %q is not a number from 1 to 65535", port)
			}
		}
	}
	if _, ok := errors.AsType[url.InvalidHostError](err); ok {
		return "the host has a character that is not allowed"
	}
	return "check the host and port, and %-encode special characters of the password (@ is %40, / is %2F, % is %25)"
}
