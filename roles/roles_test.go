package roles_test

import (
	"context"
	"crypto/rand"
	"errors"
	"net/url"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/quantx/quantx-db/internal/testenv"
	"github.com/quantx/quantx-db/migrations"
	"github.com/quantx/quantx-db/partitions"
	"github.com/quantx/quantx-db/roles"
)

// modelNames returns fresh role names (roles are global to the server, which
// other tests share) and drops the roles when the test ends. Call it before
// testenv.Postgres: cleanups run last-registered first, so the database (and
// everything the roles own in it) is gone by the time the roles are dropped.
func modelNames(t *testing.T, adminURL string) roles.Options {
	t.Helper()
	p := "t" + strings.ToLower(rand.Text()[:10])
	o := roles.Options{Owner: p + "_owner", App: p + "_app", ReadOnly: p + "_ro"}
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("kept roles %s, %s, %s of the failed test", o.Owner, o.App, o.ReadOnly)
			return
		}
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		conn, err := pgx.Connect(ctx, adminURL)
		if err != nil {
			t.Errorf("drop roles: %v", err)
			return
		}
		defer conn.Close(ctx)
		for _, r := range []string{o.App, o.ReadOnly, o.Owner} {
			if _, err := conn.Exec(ctx, "DROP ROLE IF EXISTS "+pgx.Identifier{r}.Sanitize()); err != nil {
				t.Errorf("drop role %s: %v", r, err)
			}
		}
	})
	return o
}

// as returns url with its user replaced by role (the test servers trust loopback).
func as(t *testing.T, raw, role string) string {
	t.Helper()
	u, err := url.Parse(raw)
	if err != nil {
		t.Fatal(err)
	}
	u.User = url.User(role)
	return u.String()
}

func pool(t *testing.T, url string) *pgxpool.Pool {
	t.Helper()
	p, err := pgxpool.New(t.Context(), url)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(p.Close)
	return p
}

func ensure(t *testing.T, admin *pgxpool.Pool, o roles.Options) roles.Report {
	t.Helper()
	m, err := roles.New(admin, o)
	if err != nil {
		t.Fatal(err)
	}
	rep, err := m.Ensure(t.Context())
	if err != nil {
		t.Fatalf("roles ensure: %v", err)
	}
	return rep
}

func exec(t *testing.T, p *pgxpool.Pool, sql string, args ...any) {
	t.Helper()
	if _, err := p.Exec(t.Context(), sql, args...); err != nil {
		t.Fatalf("%s: %v", sql, err)
	}
}

// mustDeny runs sql and expects PostgreSQL to refuse it for lack of privilege
// (42501) or ownership ("must be owner", also 42501).
func mustDeny(t *testing.T, p *pgxpool.Pool, sql string) {
	t.Helper()
	_, err := p.Exec(t.Context(), sql)
	var pgErr *pgconn.PgError
	if !errors.As(err, &pgErr) || pgErr.Code != "42501" {
		t.Errorf("%s: got %v, want permission denied (42501)", sql, err)
	}
}

func count(t *testing.T, p *pgxpool.Pool, sql string, args ...any) int64 {
	t.Helper()
	var n int64
	if err := p.QueryRow(t.Context(), sql, args...).Scan(&n); err != nil {
		t.Fatalf("%s: %v", sql, err)
	}
	return n
}

// aclSnapshot is every ownership and privilege in the database that the model
// touches, to prove that a second run changes nothing at all.
func aclSnapshot(t *testing.T, p *pgxpool.Pool) string {
	t.Helper()
	var s string
	err := p.QueryRow(t.Context(), `SELECT string_agg(x, E'\n' ORDER BY x) FROM (
	SELECT 'rel ' || c.relname || ' ' || pg_get_userbyid(c.relowner) || ' ' || COALESCE(c.relacl::text, '-') AS x
	FROM pg_class c WHERE c.relnamespace = 'public'::regnamespace AND c.relkind IN ('r','p','v','m','S')
	UNION ALL SELECT 'schema ' || COALESCE(nspacl::text, '-') FROM pg_namespace WHERE nspname = 'public'
	UNION ALL SELECT 'db ' || COALESCE(datacl::text, '-') FROM pg_database WHERE datname = current_database()
	UNION ALL SELECT 'default ' || defaclobjtype::text || ' ' || defaclacl::text FROM pg_default_acl
	UNION ALL SELECT 'type ' || typname || ' ' || pg_get_userbyid(typowner) FROM pg_type WHERE typnamespace = 'public'::regnamespace AND typtype = 'e'
	UNION ALL SELECT 'proc ' || proname || ' ' || pg_get_userbyid(proowner) FROM pg_proc WHERE pronamespace = 'public'::regnamespace) s`).Scan(&s)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

const (
	userID      = "00000000-0000-0000-0000-000000000001"
	portfolioID = "00000000-0000-0000-0000-0000000000aa"
)

// appInserts is what the application does: the writes of a trading day.
func appInserts(t *testing.T, app *pgxpool.Pool, logTime time.Time) {
	t.Helper()
	exec(t, app, "INSERT INTO users (id, email, password_hash) VALUES ($1, 'a@x', 'h')", userID)
	exec(t, app, "INSERT INTO portfolios (id, user_id, name) VALUES ($1, $2, 'p')", portfolioID, userID)
	exec(t, app, `INSERT INTO orders (portfolio_id, user_id, symbol, order_type, side, quantity) VALUES ($1, $2, 'AAPL', 'MARKET', 'BUY', 1)`, portfolioID, userID)
	exec(t, app, `INSERT INTO transactions (portfolio_id, symbol, transaction_type, quantity, price, total_amount, executed_at)
		VALUES ($1, 'AAPL', 'BUY', 1, 10, 10, now())`, portfolioID)
	exec(t, app, "INSERT INTO activity_logs (action, resource_type, created_at) VALUES ('login', 'session', $1)", logTime)
	exec(t, app, "UPDATE orders SET status = 'FILLED' WHERE portfolio_id = $1", portfolioID)
	exec(t, app, "DELETE FROM activity_logs WHERE action = 'nothing'")
}

// TestModelOnFreshDatabase is the life of a new database under the model: roles
// first, then migrations and partition maintenance as the owner, the
// application as the app role, reports as the read-only role.
func TestModelOnFreshDatabase(t *testing.T) {
	t.Parallel()
	adminURL := testenv.PostgresAdminURL(t)
	o := modelNames(t, adminURL)
	db := testenv.Postgres(t)
	admin := pool(t, db.URL)
	runner, err := migrations.New(admin, migrations.Files(), migrations.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if err := runner.EnsureBookkeeping(t.Context()); err != nil {
		t.Fatal(err)
	}
	o.Bookkeeping = runner.BookkeepingTables()

	// A plan reads only: it changes nothing, and lists what Ensure then does.
	m, err := roles.New(admin, o)
	if err != nil {
		t.Fatal(err)
	}
	before := aclSnapshot(t, admin)
	plan, err := m.Plan(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if after := aclSnapshot(t, admin); after != before || count(t, admin, "SELECT count(*) FROM pg_roles WHERE rolname = $1", o.App) != 0 {
		t.Fatal("plan changed the database")
	}
	rep := ensure(t, admin, o)
	if !rep.Changed || len(rep.Actions) != len(plan.Actions) {
		t.Fatalf("ensure applied %d action(s), the plan had %d", len(rep.Actions), len(plan.Actions))
	}
	for i := range plan.Actions {
		if plan.Actions[i].SQL != rep.Actions[i].SQL {
			t.Errorf("action %d: plan %q, ensure %q", i, plan.Actions[i].SQL, rep.Actions[i].SQL)
		}
	}
	if again := ensure(t, admin, o); again.Changed || len(again.Actions) != 0 {
		t.Fatalf("second run changed: %+v", again.Actions)
	}

	// The owner migrates and maintains partitions.
	owner := pool(t, as(t, db.URL, o.Owner))
	ownerRunner, err := migrations.New(owner, migrations.Files(), migrations.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := ownerRunner.Up(t.Context(), 0); err != nil {
		t.Fatalf("migrate up as the owner: %v", err)
	}
	future := time.Date(2031, 5, 10, 0, 0, 0, 0, time.UTC)
	er, err := partitions.New(owner, partitions.Options{Now: func() time.Time { return future }}).Ensure(t.Context(), partitions.EnsureOptions{})
	if err != nil || !slices.Contains(er.Created, "activity_logs_y2031m05") {
		t.Fatalf("partitions ensure as the owner: %v, created %v", err, er.Created)
	}
	// Everything the owner created carries the grants: the model holds with no re-run.
	snap := aclSnapshot(t, admin)
	if again := ensure(t, admin, o); len(again.Actions) != 0 {
		t.Fatalf("after migrate and partitions ensure as the owner, roles ensure still had work: %+v", again.Actions)
	}
	if aclSnapshot(t, admin) != snap {
		t.Fatal("a run with no actions changed privileges")
	}

	// The application: its writes work, including into the partition made later.
	app := pool(t, as(t, db.URL, o.App))
	appInserts(t, app, future.Add(time.Hour))
	exec(t, app, "INSERT INTO activity_logs_y2031m05 (action, resource_type, created_at) VALUES ('direct', 'session', $1)", future)
	if n := count(t, admin, "SELECT count(*) FROM ONLY activity_logs_y2031m05"); n != 2 {
		t.Fatalf("%d row(s) in the new partition, want 2", n)
	}
	// ...and no DDL, no TRUNCATE, no write to the migration state.
	for _, sql := range []string{
		"CREATE TABLE evil (id int)",
		"CREATE INDEX ON orders (symbol)",
		"ALTER TABLE orders ADD COLUMN evil int",
		"DROP TABLE orders",
		"TRUNCATE orders",
		"CREATE TYPE evil AS ENUM ('x')",
		"ALTER TABLE activity_logs DETACH PARTITION activity_logs_y2031m05",
		"DROP TABLE activity_logs_y2031m05",
		"CREATE SCHEMA evil",
		"INSERT INTO schema_migrations (version, dirty) VALUES (999, false)",
		"UPDATE schema_migrations SET dirty = true",
		"DELETE FROM schema_migrations",
		"INSERT INTO quantx_migration_history (version, name, direction, started_at, success) VALUES (1, 'x', 'up', now(), true)",
		"DELETE FROM quantx_migration_history",
		"SELECT nextval('quantx_migration_history_id_seq')",
	} {
		mustDeny(t, app, sql)
	}
	if n := count(t, app, "SELECT count(*) FROM schema_migrations"); n != 1 {
		t.Errorf("the app role reads %d version row(s), want 1", n)
	}
	if _, err := partitions.New(app, partitions.Options{Now: func() time.Time { return future.AddDate(0, 6, 0) }}).Ensure(t.Context(), partitions.EnsureOptions{}); err == nil {
		t.Error("partitions ensure as the app role succeeded")
	}

	// The read-only role reads, also the new partition, and writes nothing.
	ro := pool(t, as(t, db.URL, o.ReadOnly))
	if n := count(t, ro, "SELECT count(*) FROM activity_logs_y2031m05"); n != 2 {
		t.Errorf("read-only sees %d row(s) in the new partition", n)
	}
	if n := count(t, ro, "SELECT count(*) FROM orders"); n != 1 {
		t.Errorf("read-only sees %d order(s)", n)
	}
	for _, sql := range []string{
		"INSERT INTO activity_logs (action, resource_type) VALUES ('x', 'y')",
		"UPDATE orders SET symbol = 'X'",
		"DELETE FROM orders",
		"CREATE TABLE evil (id int)",
		"UPDATE schema_migrations SET dirty = true",
	} {
		mustDeny(t, ro, sql)
	}

	// What each role can do, as doctor reports it.
	for _, c := range []struct {
		pool    *pgxpool.Pool
		profile roles.Profile
	}{{owner, roles.ProfileOwner}, {app, roles.ProfileApp}, {ro, roles.ProfileReadOnly}} {
		caps, err := roles.Inspect(t.Context(), c.pool, roles.InspectOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if caps.Profile != c.profile {
			t.Errorf("%s: profile %s, want %s (%+v)", caps.Role, caps.Profile, c.profile, caps)
		}
		switch c.profile {
		case roles.ProfileOwner:
			if !caps.Migrate.OK || !caps.Partitions.OK {
				t.Errorf("owner: %+v", caps)
			}
		case roles.ProfileApp:
			if caps.Migrate.OK || caps.Partitions.OK || len(caps.DDL) != 0 || len(caps.BookkeepingWrites) != 0 || !caps.ReadOnly.OK {
				t.Errorf("app: %+v", caps)
			}
		case roles.ProfileReadOnly:
			if caps.AppDML.OK || len(caps.TableWrites) != 0 || len(caps.DDL) != 0 {
				t.Errorf("read-only: %+v", caps)
			}
		}
	}
}

// TestModelAdoptsExistingDatabase takes a database migrated by a superuser, with
// an app role that was given DDL (as the old doctor advised), and brings it to
// the model: the owner owns everything, the app role loses its DDL.
func TestModelAdoptsExistingDatabase(t *testing.T) {
	t.Parallel()
	adminURL := testenv.PostgresAdminURL(t)
	o := modelNames(t, adminURL)
	db := testenv.Postgres(t)
	admin := pool(t, db.URL)
	runner, err := migrations.New(admin, migrations.Files(), migrations.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := runner.Up(t.Context(), 0); err != nil {
		t.Fatal(err)
	}
	for _, sql := range []string{
		"CREATE ROLE " + o.Owner + " LOGIN",
		"CREATE ROLE " + o.App + " LOGIN CREATEDB",
		"GRANT CREATE ON SCHEMA public TO " + o.App,
		"GRANT " + o.Owner + " TO " + o.App,
		"GRANT ALL ON schema_migrations TO " + o.App,
		"GRANT INSERT ON orders TO PUBLIC",
	} {
		exec(t, admin, sql)
	}
	// The app role made a table of its own.
	app := pool(t, as(t, db.URL, o.App))
	exec(t, app, "CREATE TABLE app_scratch (id int)")
	if caps, err := roles.Inspect(t.Context(), app, roles.InspectOptions{}); err != nil || len(caps.DDL) == 0 || len(caps.BookkeepingWrites) == 0 {
		t.Fatalf("before: the app role's DDL is not reported: %v %+v", err, caps)
	}

	rep := ensure(t, admin, o)
	kinds := map[string]int{}
	for _, a := range rep.Actions {
		kinds[a.Kind]++
	}
	if kinds[roles.ActionOwner] < 20 || kinds[roles.ActionRevokeMembership] != 1 || kinds[roles.ActionAlterRole] != 1 {
		t.Errorf("actions by kind: %v", kinds)
	}
	if n := count(t, admin, `SELECT count(*) FROM pg_class WHERE relnamespace = 'public'::regnamespace AND relkind IN ('r','p','S','v','m') AND pg_get_userbyid(relowner) <> $1`, o.Owner); n != 0 {
		t.Errorf("%d relation(s) not owned by the owner", n)
	}
	if n := count(t, admin, `SELECT count(*) FROM pg_type WHERE typnamespace = 'public'::regnamespace AND typtype = 'e' AND pg_get_userbyid(typowner) <> $1`, o.Owner); n != 0 {
		t.Errorf("%d enum type(s) not owned by the owner", n)
	}
	if again := ensure(t, admin, o); len(again.Actions) != 0 {
		t.Fatalf("second run: %+v", again.Actions)
	}
	caps, err := roles.Inspect(t.Context(), app, roles.InspectOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if caps.Profile != roles.ProfileApp || len(caps.DDL) != 0 || len(caps.BookkeepingWrites) != 0 {
		t.Fatalf("after: %+v", caps)
	}
	mustDeny(t, app, "CREATE TABLE evil (id int)")
	mustDeny(t, app, "DROP TABLE app_scratch")
	ro := pool(t, as(t, db.URL, o.ReadOnly))
	mustDeny(t, ro, "INSERT INTO orders (portfolio_id, user_id, symbol, order_type, side, quantity) VALUES ('"+portfolioID+"', '"+userID+"', 'AAPL', 'MARKET', 'BUY', 1)")

	// The owner can now do what only an owner can: revert and re-apply the last
	// migration (an index on every activity_logs partition), and make partitions.
	owner := pool(t, as(t, db.URL, o.Owner))
	ownerRunner, err := migrations.New(owner, migrations.Files(), migrations.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := ownerRunner.Down(t.Context(), 1); err != nil {
		t.Fatalf("migrate down as the owner: %v", err)
	}
	if _, err := ownerRunner.Up(t.Context(), 0); err != nil {
		t.Fatalf("migrate up as the owner: %v", err)
	}
	if _, err := partitions.New(owner, partitions.Options{Now: func() time.Time { return time.Date(2032, 1, 1, 0, 0, 0, 0, time.UTC) }}).
		Ensure(t.Context(), partitions.EnsureOptions{}); err != nil {
		t.Fatalf("partitions ensure as the owner: %v", err)
	}
	appInserts(t, app, time.Date(2032, 2, 3, 0, 0, 0, 0, time.UTC))
}

func TestEnsureRefusesWhatItMustNotTouch(t *testing.T) {
	t.Parallel()
	adminURL := testenv.PostgresAdminURL(t)
	o := modelNames(t, adminURL)
	db := testenv.Postgres(t)
	admin := pool(t, db.URL)

	if _, err := roles.New(admin, roles.Options{Owner: "x", App: "x"}); !errors.Is(err, roles.ErrInvalidName) {
		t.Errorf("duplicate names: %v", err)
	}
	if _, err := roles.New(admin, roles.Options{App: "pg_monitor"}); !errors.Is(err, roles.ErrInvalidName) {
		t.Errorf("reserved name: %v", err)
	}
	// The connected role itself is never one of the model's.
	self := o
	self.Owner = "postgres"
	m, err := roles.New(admin, self)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := m.Ensure(t.Context()); !errors.Is(err, roles.ErrInvalidName) {
		t.Errorf("model role = connected role: %v", err)
	}
	// A superuser is never demoted, and a refused run changes nothing.
	exec(t, admin, "CREATE ROLE "+o.App+" SUPERUSER")
	before := aclSnapshot(t, admin)
	m, err = roles.New(admin, o)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := m.Ensure(t.Context()); !errors.Is(err, roles.ErrSuperuser) {
		t.Errorf("superuser app role: %v", err)
	}
	var super bool
	if err := admin.QueryRow(t.Context(), "SELECT rolsuper FROM pg_roles WHERE rolname = $1", o.App).Scan(&super); err != nil || !super {
		t.Errorf("the superuser was changed: %v %v", super, err)
	}
	if count(t, admin, "SELECT count(*) FROM pg_roles WHERE rolname = $1", o.Owner) != 0 || aclSnapshot(t, admin) != before {
		t.Error("a refused run left changes behind")
	}
	// A role that may not create roles is told so before anything happens.
	exec(t, admin, "DROP ROLE "+o.App)
	exec(t, admin, "CREATE ROLE "+o.App+" LOGIN")
	other := o
	other.App = o.App + "x"
	m, err = roles.New(pool(t, as(t, db.URL, o.App)), other)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := m.Ensure(t.Context()); !errors.Is(err, roles.ErrNotAdmin) {
		t.Errorf("unprivileged runner: %v", err)
	}
	exec(t, admin, "DROP ROLE "+o.App)
}

// TestPasswordsTravelAsVerifiers sets passwords on a private server that logs
// every statement and asks for SCRAM: the clear text never reaches the server,
// the roles can log in with it, and an unchanged password is not set again.
func TestPasswordsTravelAsVerifiers(t *testing.T) {
	t.Parallel()
	c := testenv.NewCluster(t, testenv.ClusterOptions{Settings: map[string]string{"log_statement": "'all'"}})
	db := c.Database(t)
	hba := c.DataDir + "/pg_hba.conf"
	old, err := os.ReadFile(hba)
	if err != nil {
		t.Fatal(err)
	}
	rules := "host all quantx_app 127.0.0.1/32 scram-sha-256\nhost all quantx_readonly 127.0.0.1/32 scram-sha-256\n"
	if err := os.WriteFile(hba, append([]byte(rules), old...), 0o600); err != nil {
		t.Fatal(err)
	}
	admin := pool(t, db.URL)
	exec(t, admin, "SELECT pg_reload_conf()")

	const secret = "Sp3cial 'quoted' Pässwörd"
	o := roles.Options{Passwords: map[roles.Kind]string{roles.KindApp: secret}} // default role names
	rep := ensure(t, admin, o)
	var set []string
	for _, r := range rep.Roles {
		if r.PasswordSet {
			set = append(set, r.Name)
		}
	}
	if !slices.Equal(set, []string{roles.DefaultApp}) {
		t.Fatalf("passwords set for %v", set)
	}
	login := func(role, password string) error {
		u, _ := url.Parse(db.URL)
		u.User = url.UserPassword(role, password)
		conn, err := pgx.Connect(t.Context(), u.String())
		if err == nil {
			conn.Close(context.Background())
		}
		return err
	}
	if err := login(roles.DefaultApp, secret); err != nil {
		t.Fatalf("login with the password: %v", err)
	}
	var pgErr *pgconn.PgError
	if err := login(roles.DefaultApp, "wrong"); !errors.As(err, &pgErr) || pgErr.Code != "28P01" {
		t.Fatalf("login with a wrong password: %v", err)
	}
	if again := ensure(t, admin, o); len(again.Actions) != 0 {
		t.Fatalf("same password set again: %+v", again.Actions)
	}
	// A verifier PostgreSQL made itself is recognised too.
	exec(t, admin, "SET password_encryption = 'scram-sha-256'")
	exec(t, admin, "ALTER ROLE quantx_readonly PASSWORD 'made-by-postgres'")
	o.Passwords[roles.KindReadOnly] = "made-by-postgres"
	if again := ensure(t, admin, o); len(again.Actions) != 0 {
		t.Fatalf("a password PostgreSQL set is set again: %+v", again.Actions)
	}
	// A new password is one action, and replaces the old one.
	o.Passwords[roles.KindApp] = secret + "2"
	if again := ensure(t, admin, o); len(again.Actions) != 1 || again.Actions[0].Kind != roles.ActionPassword || strings.Contains(again.Actions[0].SQL, secret) {
		t.Fatalf("new password: %+v", again.Actions)
	}
	if err := login(roles.DefaultApp, secret+"2"); err != nil {
		t.Fatalf("login with the new password: %v", err)
	}
	log, err := os.ReadFile(c.LogFile)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(log), "SCRAM-SHA-256$") {
		t.Fatal("the server log shows no ALTER ROLE: log_statement is not on, the test proves nothing")
	}
	if strings.Contains(string(log), "Pässwörd") {
		t.Fatal("the clear-text password reached the server log")
	}
}
