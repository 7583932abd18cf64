package testenv

import (
	"context"
	"fmt"
	"net/url"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
)

// PGDatabase is a fresh, empty PostgreSQL database owned by one test.
type PGDatabase struct {
	// URL connects to the database (the admin URL with the database name as its path).
	URL string
	// Name is the database name, unquoted.
	Name string
	// AdminURL connects as a superuser to the server's maintenance database.
	AdminURL string
}

// PostgresAdminURL returns the superuser URL of the test server (QUANTX_TEST_DATABASE_URL) after
// checking that the server answers.
func PostgresAdminURL(t testing.TB) string {
	t.Helper()
	admin := require(t, "postgres", "QUANTX_TEST_DATABASE_URL")[0]
	ctx, cancel := context.WithTimeout(context.Background(), probeTimeout)
	defer cancel()
	conn, err := pgx.Connect(ctx, admin)
	if err != nil {
		unavailable(t, "postgres", fmt.Errorf("connecting to %s: %w", redact(admin), err))
	}
	conn.Close(ctx)
	return admin
}

// Postgres creates a fresh, empty database for t. It is dropped when the test ends, unless the test
// failed: then its URL is logged so that it can be inspected with psql.
func Postgres(t testing.TB) *PGDatabase {
	t.Helper()
	return newDatabase(t, PostgresAdminURL(t), func(ctx context.Context, conn *pgx.Conn, name string) error {
		_, err := conn.Exec(ctx, "CREATE DATABASE "+pgx.Identifier{name}.Sanitize())
		return err
	})
}

// newDatabase creates a database for t with create (on a connection to the maintenance database),
// and drops it when the test ends, unless the test failed.
func newDatabase(t testing.TB, admin string, create func(ctx context.Context, conn *pgx.Conn, name string) error) *PGDatabase {
	t.Helper()
	db := &PGDatabase{Name: uniqueName(t, "t_", "_", 63), AdminURL: admin}
	u, err := url.Parse(admin)
	if err != nil {
		t.Fatalf("testenv: QUANTX_TEST_DATABASE_URL: %v", err)
	}
	u.Path = "/" + db.Name
	db.URL = u.String()

	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	conn, err := pgx.Connect(ctx, admin)
	if err == nil {
		err = create(ctx, conn, db.Name)
		conn.Close(context.Background())
	}
	if err != nil {
		t.Fatalf("testenv: creating database %s: %v", db.Name, err)
	}
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("testenv: kept database %s of the failed test: %s", db.Name, redact(db.URL))
			return
		}
		// t.Context() is already cancelled when cleanups run.
		if err := pgExec(admin, "DROP DATABASE IF EXISTS "+pgx.Identifier{db.Name}.Sanitize()+" WITH (FORCE)"); err != nil {
			t.Errorf("testenv: dropping database %s: %v", db.Name, err)
		}
	})
	return db
}

// pgExec runs one statement on a short-lived connection to connURL.
func pgExec(connURL, sql string) error {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, connURL)
	if err != nil {
		return err
	}
	defer conn.Close(context.Background())
	_, err = conn.Exec(ctx, sql)
	return err
}

// redact hides the password of a URL, for logs.
func redact(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return "(unparsable URL)"
	}
	return u.Redacted()
}
