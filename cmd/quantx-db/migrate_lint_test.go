package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/quantx/quantx-db/migrations/lint"
)

// writeMigrations creates a migrations folder: an existing, filled table, then
// the given later files (name -> SQL).
func writeMigrations(t *testing.T, files map[string]string) string {
	t.Helper()
	dir := t.TempDir()
	all := map[string]string{
		"0001_accounts.up.sql": "-- quantx:lint-ignore prefer-text-field code is a fixed-length code\n\nCREATE TABLE accounts (id bigint PRIMARY KEY, email text, note text, code varchar(10));\n" +
			"INSERT INTO accounts SELECT g, 'u' || g, 'n', 'c' FROM generate_series(1, 100) g;\n",
		"0001_accounts.down.sql": "DROP TABLE accounts;\n",
	}
	for n, s := range files {
		all[n] = s
	}
	for n, s := range all {
		if err := os.WriteFile(filepath.Join(dir, n), []byte(s), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

func decodeLint(t *testing.T, r cliResult) lint.Result {
	t.Helper()
	var res lint.Result
	if err := json.Unmarshal([]byte(r.stdout), &res); err != nil {
		t.Fatalf("stdout is not a lint result: %v\n%s\nstderr: %s", err, r.stdout, r.stderr)
	}
	return res
}

func TestMigrateLintShippedMigrationsPass(t *testing.T) {
	r := runCLI(t, nil, "migrate", "lint", "--warnings-as-errors", "-o", "json")
	if r.code != exitOK {
		t.Fatalf("exit %d; the shipped migrations must pass their own linter\n%s%s", r.code, r.stdout, r.stderr)
	}
	if res := decodeLint(t, r); res.Files < 9 || len(res.Findings) != 0 {
		t.Fatalf("%+v", res)
	}
}

func TestMigrateLintExitCodesAndOutputs(t *testing.T) {
	dir := writeMigrations(t, map[string]string{
		"0002_email_idx.up.sql": "CREATE INDEX accounts_email_idx ON accounts (email);\n",
		"0003_tags.up.sql":      "CREATE TABLE tags (id bigint PRIMARY KEY, label varchar(20));\n",
	})
	// An error: exit 3, with file:line, rule, reason and fix.
	r := runCLI(t, nil, "migrate", "lint", "--source", dir)
	if r.code != exitCheck {
		t.Fatalf("exit %d, want 3\n%s%s", r.code, r.stdout, r.stderr)
	}
	for _, want := range []string{dir + "/0002_email_idx.up.sql:1: error[require-concurrent-index-creation]:", "fix: CREATE INDEX CONCURRENTLY",
		"0003_tags.up.sql:1: warning[prefer-text-field]", "3 file(s): 1 error(s), 1 warning(s)"} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("text output lacks %q:\n%s", want, r.stdout)
		}
	}
	// --since: only the warning is left: exit 0, or 3 with --warnings-as-errors.
	if r := runCLI(t, nil, "migrate", "lint", "--source", dir, "--since", "2"); r.code != exitOK {
		t.Errorf("--since 2: exit %d\n%s", r.code, r.stdout)
	}
	r = runCLI(t, nil, "migrate", "lint", "--source", dir, "--since", "2", "--warnings-as-errors", "-o", "json")
	if res := decodeLint(t, r); r.code != exitCheck || res.Files != 1 || res.Warnings != 1 || res.Findings[0].Rule != lint.RulePreferText {
		t.Errorf("--since 2 --warnings-as-errors: exit %d %+v", r.code, res)
	}
	// Style off from the config file, or with --no-style.
	cfg := filepath.Join(t.TempDir(), "q.yaml")
	os.WriteFile(cfg, []byte("lint:\n  style: false\n  disable: [require-concurrent-index-creation]\n"), 0o644)
	r = runCLI(t, nil, "migrate", "lint", "--source", dir, "--config", cfg, "--warnings-as-errors", "-o", "json")
	if res := decodeLint(t, r); r.code != exitOK || len(res.Findings) != 0 {
		t.Errorf("config lint.style false + disable: exit %d %+v", r.code, res)
	}
	if r := runCLI(t, nil, "migrate", "lint", "--source", dir, "--since", "2", "--no-style", "--warnings-as-errors"); r.code != exitOK {
		t.Errorf("--no-style: exit %d\n%s", r.code, r.stdout)
	}
	// SARIF for code scanning.
	r = runCLI(t, nil, "migrate", "lint", "--source", dir, "-o", "sarif")
	var sarif struct {
		Version string `json:"version"`
		Runs    []struct {
			Tool struct {
				Driver struct {
					Rules []struct {
						ID string `json:"id"`
					} `json:"rules"`
				} `json:"driver"`
			} `json:"tool"`
			Results []struct {
				RuleID    string `json:"ruleId"`
				Level     string `json:"level"`
				Locations []struct {
					PhysicalLocation struct {
						ArtifactLocation struct {
							URI string `json:"uri"`
						} `json:"artifactLocation"`
						Region struct {
							StartLine int `json:"startLine"`
						} `json:"region"`
					} `json:"physicalLocation"`
				} `json:"locations"`
			} `json:"results"`
		} `json:"runs"`
	}
	if err := json.Unmarshal([]byte(r.stdout), &sarif); err != nil || r.code != exitCheck || sarif.Version != "2.1.0" {
		t.Fatalf("sarif: exit %d, %v\n%s", r.code, err, r.stdout)
	}
	res := sarif.Runs[0].Results
	if len(res) != 2 || res[0].RuleID != lint.RuleIndexConcurrently || res[0].Level != "error" ||
		res[0].Locations[0].PhysicalLocation.ArtifactLocation.URI != filepath.Join(dir, "0002_email_idx.up.sql") ||
		res[0].Locations[0].PhysicalLocation.Region.StartLine != 1 || len(sarif.Runs[0].Tool.Driver.Rules) != len(lint.Rules()) {
		t.Errorf("sarif results %+v", res)
	}
	// -o sarif is offered by lint only.
	if r := runCLI(t, nil, "migrate", "status", "-o", "sarif"); r.code != exitUsage {
		t.Errorf("migrate status -o sarif: exit %d, want 2", r.code)
	}
}

func TestMigrateLintUsageErrors(t *testing.T) {
	dir := writeMigrations(t, nil)
	for _, args := range [][]string{
		{"--pending", "--since", "1"},
		{"--since", "1", filepath.Join(dir, "0001_accounts.up.sql")},
		{"--disable", "no-such-rule"},
		{"--since", "x"},
	} {
		r := runCLI(t, nil, append([]string{"migrate", "lint", "--source", dir}, args...)...)
		if r.code != exitUsage || !strings.Contains(r.stderr, "quantx-db:") {
			t.Errorf("%v: exit %d, want 2\n%s", args, r.code, r.stderr)
		}
	}
	// A directive without a reason is itself an error.
	bad := writeMigrations(t, map[string]string{"0002_drop.up.sql": "-- quantx:lint-ignore ban-drop-column\nALTER TABLE accounts DROP COLUMN note;\n"})
	r := runCLI(t, nil, "migrate", "lint", "--source", bad, "-o", "json")
	res := decodeLint(t, r)
	if r.code != exitCheck || res.Errors != 2 || res.Findings[0].Rule != lint.RuleBadDirective {
		t.Errorf("directive without reason: exit %d %+v", r.code, res)
	}
}

// TestMigrateLintPending lints only what the database has not applied, with the
// applied files still read: a VALIDATE + SET NOT NULL is judged against the
// CHECK ... NOT VALID an applied migration added.
func TestMigrateLintPending(t *testing.T) {
	env, _ := dbEnv(t)
	dir := writeMigrations(t, map[string]string{
		"0002_check.up.sql":    "ALTER TABLE accounts ADD CONSTRAINT accounts_email_nn CHECK (email IS NOT NULL) NOT VALID;\n",
		"0003_validate.up.sql": "ALTER TABLE accounts VALIDATE CONSTRAINT accounts_email_nn;\n",
		"0004_not_null.up.sql": "ALTER TABLE accounts ALTER COLUMN email SET NOT NULL;\nALTER TABLE accounts DROP COLUMN note;\n",
	})
	if r := runCLI(t, env, "migrate", "up", "2", "--source", dir); r.code != exitOK {
		t.Fatalf("migrate up 2: %s", r.stderr)
	}
	r := runCLI(t, env, "migrate", "lint", "--source", dir, "--pending", "-o", "json")
	res := decodeLint(t, r)
	if r.code != exitCheck || res.Files != 2 || len(res.Findings) != 1 || res.Findings[0].Rule != lint.RuleDropColumn ||
		!strings.HasSuffix(res.Findings[0].File, "0004_not_null.up.sql") || res.Findings[0].Line != 2 {
		t.Fatalf("--pending: exit %d %+v", r.code, res)
	}
	// Without a database: a usage error naming the setting.
	if r := runCLI(t, nil, "migrate", "lint", "--source", dir, "--pending"); r.code != exitUsage {
		t.Errorf("--pending without a database: exit %d", r.code)
	}
}

// TestMigrateLintFileArgs: a file given by path is read after the earlier
// files of its folder, so the table it alters is known to exist and hold
// data, and its earlier VALIDATE is seen.
func TestMigrateLintFileArgs(t *testing.T) {
	dir := writeMigrations(t, map[string]string{
		"0002_type.up.sql":   "ALTER TABLE accounts ALTER COLUMN code TYPE text;\n",
		"0003_type.up.sql":   "ALTER TABLE accounts ALTER COLUMN id TYPE numeric;\n",
		"0003_type.down.sql": "ALTER TABLE accounts ALTER COLUMN id TYPE bigint;\nDROP TABLE accounts;\n",
	})
	r := runCLI(t, nil, "migrate", "lint", "-o", "json", filepath.Join(dir, "0002_type.up.sql"), filepath.Join(dir, "0003_type.up.sql"), filepath.Join(dir, "0003_type.down.sql"))
	res := decodeLint(t, r)
	var got []string
	for _, f := range res.Findings {
		got = append(got, filepath.Base(f.File)+":"+f.Rule)
	}
	want := "0003_type.up.sql:changing-column-type 0003_type.down.sql:changing-column-type"
	if r.code != exitCheck || res.Files != 3 || strings.Join(got, " ") != want {
		t.Fatalf("exit %d, findings %v, want %s", r.code, got, want)
	}
	if r := runCLI(t, nil, "migrate", "lint", filepath.Join(dir, "missing.sql")); r.code != exitUsage {
		t.Errorf("missing file: exit %d", r.code)
	}
}
