package main

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	"github.com/quantx/quantx-db/internal/config"
	"github.com/quantx/quantx-db/internal/output"
	"github.com/quantx/quantx-db/internal/testenv"
)

// The known password of the corpus, in two pieces that must never appear:
// a message that printed half of it would still be a leak.
const (
	pwHead = "Hunter2"
	pwTail = "Zq9"
)

// leaked reports which piece of the known password s contains, or "".
func leaked(s string) string {
	for _, p := range []string{pwHead, pwTail, strings.ToLower(pwHead)} {
		if strings.Contains(s, p) {
			return p
		}
	}
	return ""
}

// malformedDSNs are connection strings that carry the known password in
// ways a DBA really types them: a bad port, an unencoded % @ / # ? or space,
// a mistyped scheme, keyword DSNs, query parameters. addr is a loopback
// address where nothing listens, so that the ones that parse fail fast.
func malformedDSNs(addr string) []string {
	return []string{
		"postgres://u:Hunter2-Zq9@127.0.0.1:54x32/db",
		"postgres://u:Hunter2%Zq9@" + addr + "/db",
		"postgres://u:Hunter2-Zq9%zz@" + addr + "/db",
		"postgres://u:Hunter2-Zq9@" + addr + "/db",
		"postgres://u:Hunter2%25Zq9@" + addr + "/db",
		"postgres://u:Hunter2@Zq9@" + addr + "/db",
		"postgres://u:Hunter2/Zq9@" + addr + "/db",
		"postgres://u:Hunter2#Zq9@" + addr + "/db",
		"postgres://u:Hunter2?Zq9@" + addr + "/db",
		"postgres://u:Hunter2 Zq9@" + addr + "/db",
		"postgresql://u:Hunter2-Zq9@[::1:5432/db",
		"postgres://u:Hunter2-Zq9@127.0.0.1:99999/db",
		"postgres//u:Hunter2-Zq9@" + addr + "/db",
		"mysql://u:Hunter2-Zq9@" + addr + "/db",
		"host=127.0.0.1 user=u password=Hunter2-Zq9 dbname=db",
		"host=127.0.0.1 user=u password='Hunter2 Zq9' dbname=db",
		"postgres://" + addr + "/db?user=u&password=Hunter2-Zq9",
		"postgres://" + addr + "/db?password=Hunter2%Zq9",
		"postgres://u:Hunter2-Zq9@" + addr + "/db?sslmode=bogus",
		"postgres://u:Hunter2-Zq9@" + addr + "/db?connect_timeout=abc",
		"postgres://:Hunter2-Zq9@" + addr + "/db",
		"postgres://u:Hunter2-Zq9@" + addr + "/db?options=-c%20x%3D",
		" postgres://u:Hunter2-Zq9@" + addr + "/db",
		"postgres://u:Hunter2-Zq9\t@" + addr + "/db",
		"postgres://u:Hunter2-Zq9@" + addr + ":5432/db",
	}
}

// TestMalformedDSNsNeverPrintThePassword runs every malformed connection
// string through every way a setting arrives (flag, QUANTX_DATABASE_URL,
// DATABASE_URL, config file, --database-url-file, QUANTX_DATABASE_URL_FILE),
// with text and JSON output and debug logs in both formats, and checks that
// no piece of the password reaches stdout or stderr, that the exit code is a
// documented one and that the error is at most three lines.
func TestMalformedDSNsNeverPrintThePassword(t *testing.T) {
	t.Parallel()
	corpus := malformedDSNs(closedPort(t))
	if len(corpus) < 20 {
		t.Fatal("the corpus must have at least 20 cases")
	}
	type source struct {
		name string
		set  func(t *testing.T, dsn string) (env map[string]string, args []string)
	}
	sources := []source{
		{"flag", func(t *testing.T, dsn string) (map[string]string, []string) {
			return nil, []string{"--database-url", dsn}
		}},
		{"QUANTX_DATABASE_URL", func(t *testing.T, dsn string) (map[string]string, []string) {
			return map[string]string{"QUANTX_DATABASE_URL": dsn}, nil
		}},
		{"DATABASE_URL", func(t *testing.T, dsn string) (map[string]string, []string) {
			return map[string]string{"DATABASE_URL": dsn}, nil
		}},
		{"config file", func(t *testing.T, dsn string) (map[string]string, []string) {
			v, _ := json.Marshal(dsn) // a JSON string is a YAML double-quoted scalar
			return nil, []string{"--config", writeFile(t, "q.yaml", "database_url: "+string(v)+"\n")}
		}},
		{"--database-url-file", func(t *testing.T, dsn string) (map[string]string, []string) {
			return nil, []string{"--database-url-file", writeFile(t, "url", dsn+"\n")}
		}},
		{"QUANTX_DATABASE_URL_FILE", func(t *testing.T, dsn string) (map[string]string, []string) {
			return map[string]string{"QUANTX_DATABASE_URL_FILE": writeFile(t, "url", dsn)}, nil
		}},
	}
	for i, dsn := range corpus {
		for _, src := range sources {
			for _, out := range []string{"text", "json"} {
				logFormat := map[string]string{"text": "json", "json": "text"}[out]
				for _, command := range [][]string{{"migrate", "status"}, {"status"}} {
					env, args := src.set(t, dsn)
					args = append(append(command, args...), "-o", out, "--log-level", "debug", "--log-format", logFormat)
					r := runCLI(t, env, args...)
					what := fmt.Sprintf("case %d %q via %s, %s", i, dsn, src.name, strings.Join(args, " "))
					if p := leaked(r.stdout + r.stderr); p != "" {
						t.Errorf("%s: %q printed:\nstdout: %s\nstderr: %s", what, p, r.stdout, r.stderr)
					}
					if r.code != exitUsage && r.code != exitFailure {
						t.Errorf("%s: exit %d, want 1 or 2:\n%s", what, r.code, r.stderr)
					}
					if strings.Contains(r.stderr, "panic") || strings.Contains(r.stderr, "goroutine ") {
						t.Errorf("%s: panicked:\n%s", what, r.stderr)
					}
					if out == "json" && !json.Valid([]byte(r.stdout)) {
						t.Errorf("%s: stdout is not one JSON document: %q", what, r.stdout)
					}
				}
			}
		}
	}
}

// TestOtherSecretsNeverPrinted: tokens, S3 keys, search URLs and a restore
// target, malformed or refused, through flags, environment and files.
func TestOtherSecretsNeverPrinted(t *testing.T) {
	t.Parallel()
	addr := closedPort(t)
	cases := []struct {
		env  map[string]string
		args []string
	}{
		{nil, []string{"influx", "status", "--influx-url", "http://" + addr, "--influx-token", "admin:Hunter2-Zq9"}},
		{map[string]string{"QUANTX_INFLUX_TOKEN": "Hunter2-Zq9"}, []string{"influx", "setup", "--influx-url", "http://admin:x@127.0.0.1:8x6"}},
		{nil, []string{"influx", "status", "--influx-url", "http://admin:Hunter2-Zq9@127.0.0.1:8x6"}},
		{nil, []string{"influx", "status", "--influx-url", "http://" + addr, "--influx-token-file", writeFile(t, "tok", "admin:Hunter2-Zq9\n")}},
		{nil, []string{"elastic", "status", "--elastic-url", "http://elastic:Hunter2-Zq9@127.0.0.1:92x0"}},
		{nil, []string{"elastic", "status", "--elastic-url", "http://elastic:Hunter2-Zq9@" + addr}},
		{nil, []string{"elastic", "setup", "--elastic-url", "https://elastic:Hunter2%Zq9@" + addr}},
		{nil, []string{"backup", "list", "--s3-endpoint", addr, "--s3-bucket", "quantx-x", "--s3-access-key", "k", "--s3-secret-key", "Hunter2-Zq9"}},
		{map[string]string{"QUANTX_S3_SECRET_KEY_FILE": writeFile(t, "key", "Hunter2-Zq9")}, []string{"backup", "list", "--s3-endpoint", "http://" + addr, "--s3-bucket", "b"}},
		{map[string]string{"QUANTX_S3_SECRET_KEY": "Hunter2-Zq9"}, []string{"status", "--s3-endpoint", addr, "--s3-bucket", "quantx-x", "--s3-access-key", "k"}},
		{nil, []string{"restore", "postgres", "20261126T174500Z-postgres-quantx-k3j9x2", "--target-database-url", "postgres://u:Hunter2-Zq9@127.0.0.1:54x32/db"}},
		{nil, []string{"restore", "postgres", "x", "--yes", "--target-database-url", "postgres://u:Hunter2-Zq9@" + addr + "/db", "--s3-endpoint", addr, "--s3-bucket", "quantx-x"}},
		{nil, []string{"doctor", "--database-url", "postgres://u:Hunter2%Zq9@" + addr + "/db", "--influx-url", "http://" + addr, "--influx-token", "t:Hunter2-Zq9"}},
		{nil, []string{"provision", "--database-url", "postgres://u:Hunter2-Zq9@" + addr + "/db", "--elastic-url", "http://e:Hunter2-Zq9@" + addr}},
	}
	for _, c := range cases {
		for _, out := range []string{"text", "json"} {
			args := append(append([]string{}, c.args...), "-o", out, "--log-level", "debug")
			r := runCLI(t, c.env, args...)
			if p := leaked(r.stdout + r.stderr); p != "" {
				t.Errorf("%v %v: %q printed:\nstdout: %s\nstderr: %s", c.env, args, p, r.stdout, r.stderr)
			}
			if r.code == exitOK || strings.Contains(r.stderr, "panic") {
				t.Errorf("%v: exit %d\n%s", args, r.code, r.stderr)
			}
		}
	}
}

// TestPasswordNeverPrintedOnSuccess: against the real server (trust
// authentication accepts any password), a whole migrate/status/backup cycle
// with debug logs in both formats never prints the password nor the S3 key.
func TestPasswordNeverPrintedOnSuccess(t *testing.T) {
	t.Parallel()
	db := testenv.Postgres(t)
	b := testenv.S3(t)
	u := strings.Replace(db.URL, "postgres://postgres@", "postgres://postgres:Hunter2-Zq9@", 1)
	if u == db.URL {
		t.Fatalf("test database URL has an unexpected form: %s", db.URL)
	}
	env := map[string]string{
		"QUANTX_DATABASE_URL": u,
		"QUANTX_S3_ENDPOINT":  b.Endpoint, "QUANTX_S3_ACCESS_KEY": b.AccessKey,
		"QUANTX_S3_SECRET_KEY": b.SecretKey, "QUANTX_S3_BUCKET": b.Bucket,
	}
	leak := func(s string) string {
		if p := leaked(s); p != "" {
			return p
		}
		if strings.Contains(s, b.SecretKey) {
			return "the S3 secret key"
		}
		return ""
	}
	for _, args := range [][]string{
		{"migrate", "up"}, {"migrate", "status"}, {"status"}, {"doctor"}, {"backup", "postgres"}, {"backup", "list"},
	} {
		for _, f := range []string{"text", "json"} {
			a := append(append([]string{}, args...), "-o", f, "--log-level", "debug", "--log-format", f)
			r := runCLI(t, env, a...)
			if p := leak(r.stdout + r.stderr); p != "" {
				t.Errorf("%v: %s printed:\nstdout: %s\nstderr: %s", a, p, r.stdout, r.stderr)
			}
			if r.code != exitOK && r.code != exitCheck {
				t.Errorf("%v: exit %d\n%s", a, r.code, r.stderr)
			}
		}
	}
}

// TestOutputIsRedactedExceptCredentials: every result, log line and error
// goes through the redactor; only renderCredentials (the export lines that
// 'testenv up' exists to print) writes a configured secret.
func TestOutputIsRedactedExceptCredentials(t *testing.T) {
	s, out, errOut := output.TestStreams()
	d := newDeps(s, func(string) string { return "" })
	d.redactor.Add(config.TokenSecrets("admin:Hunter2-Zq9")...)
	lg, err := newLogger(d.streams.Err, d.redactor, "debug", "json")
	if err != nil {
		t.Fatal(err)
	}
	lg.Debug("token admin:Hunter2-Zq9", "url", "http://u:Hunter2-Zq9@h", "err", fmt.Errorf("auth %s", "Hunter2-Zq9"))
	env := map[string]string{"QUANTX_INFLUX_TOKEN": "admin:Hunter2-Zq9"}
	if err := d.render(env, func() output.Table { return exportLines(env) }); err != nil {
		t.Fatal(err)
	}
	if p := leaked(out.String() + errOut.String()); p != "" {
		t.Fatalf("%q printed:\n%s\n%s", p, out, errOut)
	}
	out.Reset()
	if err := d.renderCredentials(env, func() output.Table { return exportLines(env) }); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out.String(), "export QUANTX_INFLUX_TOKEN='admin:Hunter2-Zq9'") {
		t.Fatalf("renderCredentials did not print the export line: %q", out)
	}
}
