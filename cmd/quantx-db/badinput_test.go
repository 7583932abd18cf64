package main

import (
	"context"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/quantx/quantx-db/internal/testenv"
)

// schemaFingerprint is everything a bad input must not change: relations,
// columns, constraints, indexes (and their validity), the recorded version
// and the length of the migration history.
func schemaFingerprint(t *testing.T, url string) string {
	t.Helper()
	conn := connect(t, url)
	var fp string
	err := conn.QueryRow(context.Background(), `
SELECT string_agg(x, E'\n' ORDER BY x) FROM (
  SELECT format('rel %s.%s %s', n.nspname, c.relname, c.relkind) AS x
    FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
   WHERE n.nspname NOT IN ('pg_catalog', 'information_schema', 'pg_toast')
  UNION ALL
  SELECT format('col %s.%s %s %s %s', table_name, column_name, data_type, is_nullable, column_default)
    FROM information_schema.columns WHERE table_schema = 'public'
  UNION ALL
  SELECT format('con %s %s', conname, pg_get_constraintdef(oid)) FROM pg_constraint WHERE connamespace = 'public'::regnamespace
  UNION ALL
  SELECT format('idx %s valid=%s', indexrelid::regclass, indisvalid) FROM pg_index i JOIN pg_class c ON c.oid = i.indrelid
   WHERE c.relnamespace = 'public'::regnamespace
  UNION ALL
  SELECT format('ver %s dirty=%s', version, dirty) FROM schema_migrations
  UNION ALL
  SELECT format('history %s', count(*)) FROM quantx_migration_history
) s`).Scan(&fp)
	if err != nil {
		t.Fatalf("schema fingerprint: %v", err)
	}
	return fp
}

// badInput is one case of the corpus. In args and file bodies, {DB} is the
// migrated test database's URL (with a password), {DIR} the case's
// temporary directory, {CLOSED} a loopback address where nothing listens
// and {HUNG} one that accepts and never answers.
type badInput struct {
	name   string
	args   []string
	files  map[string]string // written into {DIR} before the run
	env    map[string]string // added to the stack's environment
	code   int               // the documented exit code
	stderr string            // a piece of the one line that names what is wrong
	within time.Duration     // for peers that never answer: the bound on the run
}

// TestBadInputCorpus runs at least 40 bad inputs across every command against
// the real servers: bad flags and values, malformed URLs, bad config and
// policy files, bad names, refused and hung peers. Each must give at most
// three lines on stderr, the documented exit code, no panic, no secret, and
// leave the schema exactly as it was.
func TestBadInputCorpus(t *testing.T) {
	t.Parallel()
	db := testenv.MigratedPostgres(t, 0)
	b := testenv.S3(t)
	in := testenv.Influx(t)
	se := testenv.Search(t, "opensearch")
	dbURL := strings.Replace(db.URL, "postgres://postgres@", "postgres://postgres:Hunter2-Zq9@", 1) // trust auth: any password works
	env := map[string]string{
		"QUANTX_DATABASE_URL": dbURL,
		"QUANTX_S3_ENDPOINT":  b.Endpoint, "QUANTX_S3_ACCESS_KEY": b.AccessKey,
		"QUANTX_S3_SECRET_KEY": b.SecretKey, "QUANTX_S3_BUCKET": b.Bucket,
		"QUANTX_INFLUX_URL": in.URL, "QUANTX_INFLUX_TOKEN": in.Token,
		"QUANTX_ELASTIC_URL": se.URL,
	}
	if r := runCLI(t, env, "migrate", "up"); r.code != exitOK {
		t.Fatalf("migrate up: %d %s", r.code, r.stderr)
	}
	before := schemaFingerprint(t, db.URL)
	closed, hung := closedPort(t), hungPeer(t)
	secrets := []string{"Hunter2", "Zq9", b.SecretKey, in.Token[strings.Index(in.Token, ":")+1:]}

	cases := []badInput{
		// Commands and flags.
		{name: "typo migrate", args: []string{"migrate", "upp"}, code: exitUsage, stderr: `did you mean "up"`},
		{name: "typo partitions", args: []string{"partitions", "ensur"}, code: exitUsage, stderr: `did you mean "ensure"`},
		{name: "typo backup", args: []string{"backup", "lsit"}, code: exitUsage, stderr: `did you mean "list"`},
		{name: "typo restore", args: []string{"restore", "postgress"}, code: exitUsage, stderr: `did you mean "postgres"`},
		{name: "typo root", args: []string{"migrat", "up"}, code: exitUsage, stderr: `did you mean "migrate"`},
		{name: "parent alone", args: []string{"retention"}, code: exitUsage, stderr: "needs a command"},
		{name: "unknown flag", args: []string{"migrate", "up", "--dry-rn"}, code: exitUsage, stderr: "unknown flag: --dry-rn"},
		{name: "bad -o", args: []string{"migrate", "status", "-o", "yaml"}, code: exitUsage, stderr: "use text or json"},
		{name: "bad log level", args: []string{"status", "--log-level", "loud"}, code: exitUsage, stderr: "--log-level"},
		{name: "bad log format", args: []string{"status", "--log-format", "xml"}, code: exitUsage, stderr: "--log-format"},
		{name: "bad N", args: []string{"migrate", "up", "two"}, code: exitUsage, stderr: `invalid N "two"`},
		{name: "negative N", args: []string{"migrate", "down", "-3"}, code: exitUsage, stderr: "unknown shorthand flag"},
		{name: "down without --yes", args: []string{"migrate", "down", "1"}, code: exitUsage, stderr: "without confirmation"},
		{name: "goto not a number", args: []string{"migrate", "goto", "v7"}, code: exitUsage, stderr: `invalid VERSION "v7"`},
		{name: "force without version", args: []string{"migrate", "force"}, code: exitUsage, stderr: "accepts 1 arg"},
		{name: "baseline unknown version", args: []string{"migrate", "baseline", "999"}, code: exitUsage, stderr: "no migration has this version"},
		{name: "bad duration", args: []string{"migrate", "up", "--lock-wait", "5parsecs"}, code: exitUsage, stderr: `"5parsecs"`},
		{name: "source not a dir", args: []string{"migrate", "up", "--source", "{DIR}/nope"}, code: exitUsage, stderr: "is not a directory"},
		{name: "empty migration name", args: []string{"migrate", "create", "", "--dir", "{DIR}"}, code: exitUsage, stderr: "has no letters or digits"},
		{name: "negative months", args: []string{"partitions", "ensure", "--months-ahead", "-1"}, code: exitUsage, stderr: "must not be negative"},
		{name: "months not a number", args: []string{"partitions", "ensure", "--months-ahead", "three"}, code: exitUsage, stderr: `"three"`},
		{name: "exit-code not a bool", args: []string{"status", "--exit-code=maybe"}, code: exitUsage, stderr: `"maybe"`},
		{name: "completion shell", args: []string{"completion", "powershell"}, code: exitUsage, stderr: `"powershell"`},
		{name: "provision unknown store", args: []string{"provision", "--only", "mysql"}, code: exitUsage, stderr: `unknown store "mysql"`},
		{name: "verify without id", args: []string{"backup", "verify"}, code: exitUsage, stderr: "accepts 1 arg"},
		{name: "prune without policy", args: []string{"backup", "prune"}, code: exitUsage, stderr: "no retention policy"},
		{name: "restore without target", args: []string{"restore", "postgres", "20261126T174500Z-postgres-quantx-k3j9x2"}, code: exitUsage, stderr: "no target database"},
		{name: "reindex without index", args: []string{"elastic", "reindex"}, code: exitUsage, stderr: "accepts 1 arg"},

		// Bad names.
		{name: "backup id with a path", args: []string{"backup", "verify", "../../etc/passwd"}, code: exitUsage, stderr: "backup not found"},
		{name: "reindex unknown index", args: []string{"elastic", "reindex", "Orders; DROP", "--yes"}, code: exitUsage, stderr: "no such logical index"},

		// Malformed URLs and settings.
		{name: "bad port", args: []string{"migrate", "up", "--database-url", "postgres://u:Hunter2-Zq9@127.0.0.1:54x32/db"}, code: exitUsage, stderr: `port "54x32"`},
		{name: "unencoded %", args: []string{"migrate", "up", "--database-url", "postgres://u:Hunter2%Zq9@127.0.0.1:5432/db"}, code: exitUsage, stderr: "%25"},
		{name: "wrong scheme", args: []string{"status", "--database-url", "mysql://u:Hunter2-Zq9@127.0.0.1/db"}, code: exitUsage, stderr: "scheme must be postgres"},
		{name: "keyword DSN", args: []string{"migrate", "status", "--database-url", "host=127.0.0.1 password=Hunter2-Zq9"}, code: exitUsage, stderr: "scheme must be postgres"},
		{name: "bad sslmode", args: []string{"migrate", "up", "--database-url", "postgres://u:Hunter2-Zq9@127.0.0.1/db?sslmode=sometimes"}, code: exitUsage, stderr: "cannot be parsed"},
		{name: "influx ftp", args: []string{"influx", "setup", "--influx-url", "ftp://admin:Hunter2-Zq9@h"}, code: exitUsage, stderr: "scheme must be http"},
		{name: "elastic bad port", args: []string{"elastic", "setup", "--elastic-url", "http://e:Hunter2-Zq9@127.0.0.1:92x0"}, code: exitUsage, stderr: `port "92x0"`},
		{name: "elastic engine", args: []string{"elastic", "status", "--elastic-engine", "solr"}, code: exitUsage, stderr: `"solr"`},
		{name: "s3 endpoint with scheme", args: []string{"backup", "list", "--s3-endpoint", "http://" + b.Endpoint}, code: exitUsage, stderr: "without a scheme"},
		{name: "s3 tls not a bool", args: []string{"backup", "list"}, env: map[string]string{"QUANTX_S3_TLS": "sometimes"}, code: exitUsage, stderr: "not true or false"},
		{name: "secret file missing", args: []string{"migrate", "status", "--database-url-file", "{DIR}/nope"}, code: exitUsage, stderr: "--database-url-file"},
		{name: "secret file empty", args: []string{"migrate", "status", "--database-url-file", "{DIR}/empty"}, files: map[string]string{"empty": "\n"}, code: exitUsage, stderr: "is empty"},
		{name: "restore target bad port", args: []string{"restore", "postgres", "x", "--target-database-url", "postgres://u:Hunter2-Zq9@127.0.0.1:54x32/db", "--yes"}, code: exitUsage},

		// Config files.
		{name: "config missing", args: []string{"migrate", "status", "--config", "{DIR}/nope.yaml"}, code: exitUsage, stderr: "no such file"},
		{name: "config unknown key", args: []string{"migrate", "status", "--config", "{DIR}/q.yaml"}, files: map[string]string{"q.yaml": "s3_bucket: b\ndatabse_url: {DB}\n"}, code: exitUsage, stderr: `line 2: unknown key "databse_url"`},
		{name: "config not yaml", args: []string{"status", "--config", "{DIR}/q.yaml"}, files: map[string]string{"q.yaml": "database_url: [\n"}, code: exitUsage, stderr: "config file"},
		{name: "config wrong type", args: []string{"status", "--config", "{DIR}/q.yaml"}, files: map[string]string{"q.yaml": "s3_tls: {a: 1}\n"}, code: exitUsage, stderr: "line 1"},
		{name: "config list", args: []string{"status", "--config", "{DIR}/q.yaml"}, files: map[string]string{"q.yaml": "- database_url\n"}, code: exitUsage, stderr: "expected key: value"},

		// Policy files.
		{name: "policy missing", args: []string{"retention", "apply", "--dry-run", "--policy", "{DIR}/nope.yaml"}, code: exitUsage, stderr: "no such file"},
		{name: "policy unknown key", args: []string{"retention", "show", "--policy", "{DIR}/p.yaml"}, files: map[string]string{"p.yaml": "tables: {}\n"}, code: exitUsage, stderr: `unknown key "tables"`},
		{name: "policy negative keep", args: []string{"retention", "apply", "--dry-run", "--policy", "{DIR}/p.yaml"}, files: map[string]string{"p.yaml": "postgres:\n  orders:\n    keep: -5 months\n"}, code: exitUsage, stderr: "must be positive"},
		{name: "policy unknown unit", args: []string{"retention", "apply", "--dry-run", "--policy", "{DIR}/p.yaml"}, files: map[string]string{"p.yaml": "postgres:\n  orders:\n    keep: 5 fortnights\n"}, code: exitUsage, stderr: `"fortnights"`},
		{name: "policy unknown table", args: []string{"retention", "apply", "--yes", "--policy", "{DIR}/p.yaml"}, files: map[string]string{"p.yaml": "postgres:\n  \"orders; DROP TABLE orders\":\n    keep: 5 months\n"}, code: exitUsage, stderr: "line 2"},
		{name: "policy unknown status", args: []string{"retention", "apply", "--yes", "--policy", "{DIR}/p.yaml"}, files: map[string]string{"p.yaml": "postgres:\n  orders:\n    keep: 5 months\n    statuses: [BOGUS]\n"}, code: exitUsage, stderr: `"BOGUS"`},

		// Peers that refuse or never answer.
		{name: "postgres refused", args: []string{"migrate", "up", "--database-url", "postgres://u:Hunter2-Zq9@{CLOSED}/db"}, code: exitFailure, stderr: "connection refused"},
		{name: "database missing", args: []string{"partitions", "list", "--database-url", strings.Replace(dbURL, "/"+db.Name, "/no_such_db_q", 1)}, code: exitFailure, stderr: "does not exist"},
		{name: "influx refused", args: []string{"influx", "status", "--influx-url", "http://{CLOSED}"}, code: exitFailure, stderr: "unreachable"},
		{name: "search refused", args: []string{"elastic", "status", "--elastic-url", "http://e:Hunter2-Zq9@{CLOSED}"}, code: exitFailure, stderr: "unreachable"},
		{name: "s3 refused", args: []string{"backup", "list", "--s3-endpoint", "{CLOSED}"}, code: exitFailure, stderr: "connection refused"},
		{name: "status, postgres refused", args: []string{"status", "--database-url", "postgres://u:Hunter2-Zq9@{CLOSED}/db"}, code: exitFailure, stderr: "is PostgreSQL running"},
		{name: "postgres hung", args: []string{"migrate", "up", "--database-url", "postgres://u:Hunter2-Zq9@{HUNG}/db"}, code: exitFailure, stderr: "timeout", within: 30 * time.Second},
		{name: "influx hung", args: []string{"influx", "setup", "--influx-url", "http://{HUNG}"}, code: exitFailure, stderr: "unreachable", within: 45 * time.Second},
		{name: "search hung", args: []string{"elastic", "setup", "--elastic-url", "http://{HUNG}"}, code: exitFailure, stderr: "unreachable", within: 45 * time.Second},
		{name: "s3 hung", args: []string{"backup", "list", "--s3-endpoint", "{HUNG}"}, code: exitFailure, stderr: "timeout", within: 90 * time.Second},
	}
	if len(cases) < 40 {
		t.Fatalf("the corpus must have at least 40 cases, has %d", len(cases))
	}
	// check runs one case and reports through errorf.
	check := func(t *testing.T, c badInput, errorf func(format string, args ...any)) {
		dir := t.TempDir()
		expand := func(s string) string {
			return strings.NewReplacer("{DB}", dbURL, "{DIR}", dir, "{CLOSED}", closed, "{HUNG}", hung).Replace(s)
		}
		for name, body := range c.files {
			writeFileAt(t, dir, name, expand(body))
		}
		args := make([]string, len(c.args))
		for i, a := range c.args {
			args[i] = expand(a)
		}
		e := map[string]string{}
		for k, v := range env {
			e[k] = v
		}
		for k, v := range c.env {
			e[k] = v
		}
		start := time.Now()
		r := runCLI(t, e, args...)
		took := time.Since(start)
		if r.code != c.code {
			errorf("exit %d, want %d\nstderr: %s", r.code, c.code, r.stderr)
		}
		if n := strings.Count(r.stderr, "\n"); n == 0 || n > 3 {
			errorf("%d lines on stderr, want 1 to 3:\n%s", n, r.stderr)
		}
		if c.stderr != "" && !strings.Contains(r.stderr, c.stderr) {
			errorf("stderr does not say %q:\n%s", c.stderr, r.stderr)
		}
		if strings.Contains(r.stderr, "panic") || strings.Contains(r.stderr, "goroutine ") {
			errorf("panicked:\n%s", r.stderr)
		}
		for _, s := range secrets {
			if strings.Contains(r.stdout+r.stderr, s) {
				errorf("a secret (%.3s...) was printed:\nstdout: %s\nstderr: %s", s, r.stdout, r.stderr)
			}
		}
		if c.within > 0 && took > c.within {
			errorf("took %s, more than %s", took.Round(time.Second), c.within)
		}
	}
	t.Run("cases", func(t *testing.T) {
		var hungCases []badInput
		for _, c := range cases {
			if c.within > 0 {
				hungCases = append(hungCases, c)
				continue
			}
			t.Run(c.name, func(t *testing.T) {
				check(t, c, t.Errorf)
				if after := schemaFingerprint(t, db.URL); after != before {
					t.Errorf("the schema changed:\nbefore:\n%s\nafter:\n%s", before, after)
				}
			})
		}
		// The peers that never answer only wait (30-60 s each, for the
		// clients' own timeouts): all at once, in goroutines of one
		// subtest, so that they hold one of go test's -parallel slots (2 on
		// a 2-core machine) instead of all of them. None touches the database.
		t.Run("hung peers", func(t *testing.T) {
			var wg sync.WaitGroup
			for _, c := range hungCases {
				wg.Go(func() {
					check(t, c, func(format string, args ...any) { t.Errorf(c.name+": "+format, args...) })
				})
			}
			wg.Wait()
		})
	})
	if after := schemaFingerprint(t, db.URL); after != before {
		t.Errorf("the schema changed during the corpus")
	}
}
