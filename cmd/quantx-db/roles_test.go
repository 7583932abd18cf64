package main

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/quantx/quantx-db/internal/testenv"
)

// testRoleNames returns fresh role names for the shared server and drops the
// roles (and owner+"_x", for a fourth one) at the end. Call it before testenv.Postgres (see roles_test in roles/).
func testRoleNames(t *testing.T) (owner, app, ro string) {
	t.Helper()
	admin := testenv.PostgresAdminURL(t)
	p := "t" + strings.ToLower(rand.Text()[:10])
	owner, app, ro = p+"_owner", p+"_app", p+"_ro"
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("kept roles %s, %s, %s of the failed test", owner, app, ro)
			return
		}
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		conn, err := pgx.Connect(ctx, admin)
		if err != nil {
			t.Errorf("drop roles: %v", err)
			return
		}
		defer conn.Close(ctx)
		if _, err := conn.Exec(ctx, "DROP ROLE IF EXISTS "+app+", "+ro+", "+owner+", "+owner+"_x"); err != nil {
			t.Errorf("drop roles: %v", err)
		}
	})
	return owner, app, ro
}

func asRole(t *testing.T, raw, role string) string {
	t.Helper()
	u, err := url.Parse(raw)
	if err != nil {
		t.Fatal(err)
	}
	u.User = url.User(role)
	return u.String()
}

func doctorAs(t *testing.T, url string, want int) map[string]struct{ Status, Detail, Fix string } {
	t.Helper()
	r := runCLI(t, map[string]string{"QUANTX_DATABASE_URL": url}, "doctor", "-o", "json")
	if r.code != want {
		t.Fatalf("doctor: exit %d, want %d: %s\n%s", r.code, want, r.stderr, r.stdout)
	}
	doc := decodeJSON[statusDoc](t, r.stdout)
	out := map[string]struct{ Status, Detail, Fix string }{}
	for _, c := range doc.Items {
		if strings.Contains(c.Fix, "GRANT CREATE") || strings.Contains(c.Fix, "GRANT ALL") {
			t.Errorf("doctor advises DDL: %+v", c)
		}
		out[c.Store+"/"+c.Name] = struct{ Status, Detail, Fix string }{c.State, c.Detail, c.Fix}
	}
	return out
}

// TestRolesCLIAndDoctor walks the model through the CLI: roles ensure (plan,
// apply, no-op), migrations and partitions as the owner, then doctor's verdict
// for each role, including an app role that was given CREATE on the schema.
func TestRolesCLIAndDoctor(t *testing.T) {
	t.Parallel()
	owner, app, ro := testRoleNames(t)
	db := testenv.Postgres(t)
	pwFile := filepath.Join(t.TempDir(), "app-password")
	if err := os.WriteFile(pwFile, []byte("Hunter2-roles\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	env := map[string]string{"QUANTX_DATABASE_URL": db.URL, "QUANTX_OWNER_ROLE": owner, "QUANTX_READONLY_ROLE": ro}
	noSecret := func(r cliResult) {
		t.Helper()
		if strings.Contains(r.stdout+r.stderr, "Hunter2") {
			t.Fatal("the password was printed")
		}
	}

	r := runCLI(t, env, "roles", "ensure", "--app-role", app, "--app-password-file", pwFile, "--dry-run", "-o", "json")
	noSecret(r)
	type rolesDoc struct {
		DryRun  bool `json:"dry_run"`
		Changed bool `json:"changed"`
		Actions []struct {
			Role, Kind, Object, SQL string
		} `json:"actions"`
	}
	plan := decodeJSON[struct {
		rolesDoc
		Database string           `json:"database"`
		Schema   string           `json:"schema"`
		Roles    []map[string]any `json:"roles"`
		Warnings []string         `json:"warnings"`
	}](t, r.stdout)
	if r.code != exitOK || !plan.DryRun || plan.Changed || len(plan.Actions) == 0 {
		t.Fatalf("dry run: exit %d %+v %s", r.code, plan, r.stderr)
	}
	if n := countRows(t, db.URL, "SELECT count(*) FROM pg_roles WHERE rolname = '"+app+"'"); n != 0 {
		t.Fatal("the dry run created a role")
	}
	r = runCLI(t, env, "roles", "ensure", "--app-role", app, "--app-password-file", pwFile)
	noSecret(r)
	if r.code != exitOK || !strings.Contains(r.stdout, "applied in one transaction") || !strings.Contains(r.stdout, "PASSWORD '***'") {
		t.Fatalf("roles ensure: exit %d\n%s\n%s", r.code, r.stdout, r.stderr)
	}
	env["QUANTX_APP_ROLE"] = app
	r = runCLI(t, env, "roles", "ensure", "--app-password-file", pwFile)
	noSecret(r)
	if r.code != exitOK || !strings.Contains(r.stdout, "no changes") {
		t.Fatalf("second roles ensure: exit %d\n%s\n%s", r.code, r.stdout, r.stderr)
	}

	ownerURL, appURL, roURL := asRole(t, db.URL, owner), asRole(t, db.URL, app), asRole(t, db.URL, ro)
	if r := runCLI(t, map[string]string{"QUANTX_DATABASE_URL": ownerURL}, "migrate", "up"); r.code != exitOK {
		t.Fatalf("migrate up as the owner: exit %d: %s", r.code, r.stderr)
	}
	future := map[string]string{"QUANTX_NOW": "2031-05-10T00:00:00Z"}
	future["QUANTX_DATABASE_URL"] = ownerURL
	if r := runCLI(t, future, "partitions", "ensure"); r.code != exitOK {
		t.Fatalf("partitions ensure as the owner: exit %d: %s", r.code, r.stderr)
	}
	future["QUANTX_DATABASE_URL"] = appURL
	if r := runCLI(t, future, "partitions", "ensure", "--months-ahead", "8"); r.code != exitFailure || !strings.Contains(r.stderr, "permission denied") {
		t.Fatalf("partitions ensure as the app role: exit %d: %s", r.code, r.stderr)
	}

	// As the superuser, the fix names the command and how to name the role it
	// creates (a configured name, not only the default).
	d := doctorAs(t, db.URL, exitOK)
	if c := d["postgres/role"]; c.Status != "warn" || !strings.Contains(c.Detail, "superuser") ||
		!strings.Contains(c.Fix, "'quantx-db roles ensure'") || !strings.Contains(c.Fix, "QUANTX_APP_ROLE") {
		t.Errorf("doctor as a superuser: %+v", c)
	}
	d = doctorAs(t, ownerURL, exitOK)
	if c := d["postgres/role"]; c.Status != "ok" || !strings.Contains(c.Detail, "owns the schema objects") || d["postgres/migrate"].Status != "ok" || d["postgres/maintain partitions"].Status != "ok" {
		t.Errorf("doctor as the owner: %+v", d)
	}
	d = doctorAs(t, appURL, exitOK)
	if c := d["postgres/role"]; c.Status != "ok" || !strings.Contains(c.Detail, "application role") {
		t.Errorf("doctor as the app role: %+v", c)
	}
	if c := d["postgres/migrate"]; c.Status != "warn" || !strings.Contains(c.Detail, "owned by "+owner) || !strings.Contains(c.Fix, "as "+owner) {
		t.Errorf("doctor as the app role, migrate: %+v", c)
	}
	if c := d["postgres/maintain partitions"]; c.Status != "warn" || !strings.Contains(c.Detail, "ownership of activity_logs") {
		t.Errorf("doctor as the app role, partitions: %+v", c)
	}
	if d["postgres/app DML"].Status != "ok" || d["postgres/read only"].Status != "ok" {
		t.Errorf("doctor as the app role: %+v", d)
	}
	d = doctorAs(t, roURL, exitOK)
	if c := d["postgres/role"]; c.Status != "ok" || !strings.Contains(c.Detail, "read-only role") || d["postgres/app DML"].Status != "warn" ||
		!strings.Contains(d["postgres/app DML"].Detail, "INSERT on") {
		t.Errorf("doctor as the read-only role: %+v", d)
	}

	// The old advice: an app role given CREATE on the schema. Doctor must not call
	// that ok (partitions ensure would then fail with "must be owner").
	execSQL(t, db.URL, "GRANT CREATE ON SCHEMA public TO "+app)
	d = doctorAs(t, appURL, exitCheck)
	if c := d["postgres/role"]; c.Status != "action" || !strings.Contains(c.Detail, "CREATE on schema public") || !strings.Contains(c.Fix, "REVOKE CREATE ON SCHEMA public FROM "+app) {
		t.Errorf("doctor as an app role with CREATE: %+v", c)
	}
	if c := d["postgres/maintain partitions"]; c.Status != "warn" || !strings.Contains(c.Detail, "ownership of activity_logs") {
		t.Errorf("doctor as an app role with CREATE, partitions: %+v", c)
	}
	r = runCLI(t, env, "roles", "ensure", "-o", "json")
	if doc := decodeJSON[struct {
		rolesDoc
		Database string           `json:"database"`
		Schema   string           `json:"schema"`
		Roles    []map[string]any `json:"roles"`
		Warnings []string         `json:"warnings"`
	}](t, r.stdout); r.code != exitOK || len(doc.Actions) != 1 || doc.Actions[0].SQL != `REVOKE CREATE ON SCHEMA "public" FROM "`+app+`"` {
		t.Fatalf("roles ensure after the grant: exit %d %+v", r.code, doc.Actions)
	}
	doctorAs(t, appURL, exitOK)

	// A role that can do nothing fails, and is told to use the owner, not given DDL.
	execSQL(t, db.URL, "REVOKE CONNECT ON DATABASE "+db.Name+" FROM PUBLIC")
	execSQL(t, db.URL, "CREATE ROLE "+owner+"_x LOGIN; GRANT CONNECT ON DATABASE "+db.Name+" TO "+owner+"_x")
	d = doctorAs(t, asRole(t, db.URL, owner+"_x"), exitCheck)
	if c := d["postgres/role"]; c.Status != "action" || !strings.Contains(c.Fix, "connect as "+owner) {
		t.Errorf("doctor as a role with no rights: %+v", c)
	}
}

func TestRolesBadInput(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	empty := filepath.Join(dir, "empty")
	os.WriteFile(empty, []byte("\n"), 0o600)
	env := map[string]string{"QUANTX_DATABASE_URL": "postgres://nobody@127.0.0.1:1/x?sslmode=disable"}
	for _, tc := range []struct {
		args   []string
		stderr string
	}{
		{[]string{"--owner-role", "same", "--app-role", "same"}, "distinct"},
		{[]string{"--readonly-role", "pg_read_all_data"}, "reserved"},
		{[]string{"--app-password-file", filepath.Join(dir, "missing")}, "no such file"},
		{[]string{"--owner-password-file", empty}, "empty"},
		{[]string{"--app-password", "x"}, "unknown flag"},
	} {
		r := runCLI(t, env, append([]string{"roles", "ensure"}, tc.args...)...)
		if r.code != exitUsage || !strings.Contains(r.stderr, tc.stderr) || strings.Count(strings.TrimSpace(r.stderr), "\n") > 2 {
			t.Errorf("%v: exit %d, stderr %q; want 2 and %q", tc.args, r.code, r.stderr, tc.stderr)
		}
	}
}

func countRows(t *testing.T, url, sql string) int64 {
	t.Helper()
	var n int64
	if err := connect(t, url).QueryRow(t.Context(), sql).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

// TestProvisionWithRoles: provision --roles as a superuser migrates, makes the
// partitions and hands everything to the owner; a second run changes nothing.
func TestProvisionWithRoles(t *testing.T) {
	t.Parallel()
	owner, app, ro := testRoleNames(t)
	db := testenv.Postgres(t)
	env := map[string]string{"QUANTX_DATABASE_URL": db.URL}
	args := []string{"provision", "--only", "postgres", "--roles", "--owner-role", owner, "--app-role", app, "--readonly-role", ro, "-o", "json"}
	r := runCLI(t, env, append(args, "--dry-run")...)
	if r.code != exitOK {
		t.Fatalf("dry run: exit %d: %s", r.code, r.stderr)
	}
	plan := looseJSON[provisionDoc](t, r.stdout)
	if pg := plan.Stores[0]; pg.Status != "planned" || !hasStep(pg.Plan, "roles", "CREATE ROLE") {
		t.Fatalf("plan: %+v", pg)
	}
	r = runCLI(t, env, args...)
	if r.code != exitOK {
		t.Fatalf("provision: exit %d: %s", r.code, r.stderr)
	}
	rep := looseJSON[provisionDoc](t, r.stdout)
	applied := rep.Stores[0].Applied
	if !rep.Changed || !hasStep(applied, "migrate", ".up.sql") || !hasStep(applied, "roles", "OWNER TO") {
		t.Fatalf("provision: %+v", rep)
	}
	if n := countRows(t, db.URL, `SELECT count(*) FROM pg_class WHERE relnamespace = 'public'::regnamespace AND relkind IN ('r','p') AND pg_get_userbyid(relowner) <> '`+owner+`'`); n != 0 {
		t.Errorf("%d table(s) not owned by %s after provision --roles", n, owner)
	}
	r = runCLI(t, env, args...)
	if again := looseJSON[provisionDoc](t, r.stdout); r.code != exitOK || again.Changed || again.Stores[0].Status != "unchanged" {
		t.Fatalf("second provision: exit %d %+v", r.code, again)
	}
	execSQL(t, asRole(t, db.URL, app), "INSERT INTO activity_logs (action, resource_type) VALUES ('login', 'session')")
	if r := runCLI(t, map[string]string{"QUANTX_DATABASE_URL": asRole(t, db.URL, owner)}, "migrate", "status", "--exit-code"); r.code != exitOK {
		t.Errorf("migrate status as the owner: exit %d: %s", r.code, r.stderr)
	}
}

// looseJSON decodes s, ignoring keys T does not name.
func looseJSON[T any](t *testing.T, s string) T {
	t.Helper()
	var v T
	if err := json.Unmarshal([]byte(s), &v); err != nil {
		t.Fatalf("decode %T: %v\n%s", v, err, s)
	}
	return v
}
