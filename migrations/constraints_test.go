package migrations_test

import (
	"encoding/json"
	"errors"
	"os"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
)

// constraintCase is one row of testdata/constraints/cases.json: a statement run
// against the valid sample data, and the error PostgreSQL must raise ("" = none).
// A NOT NULL violation (23502) names its column: a statement that happened to
// leave another column NULL must not pass for the rule it is about.
type constraintCase struct {
	Name       string `json:"name"`
	SQL        string `json:"sql"`
	SQLState   string `json:"sqlstate"`
	Constraint string `json:"constraint"`
	Column     string `json:"column,omitempty"`
}

// TestBusinessRules loads a realistic set of valid trading rows, then runs
// every case in its own rolled-back transaction and checks the exact error.
func TestBusinessRules(t *testing.T) {
	t.Parallel()
	pool, _ := migratedPool(t, 0)
	valid, err := os.ReadFile("../testdata/constraints/valid.sql")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := pool.Exec(t.Context(), string(valid)); err != nil {
		t.Fatalf("valid rows rejected: %v", err)
	}
	b, err := os.ReadFile("../testdata/constraints/cases.json")
	if err != nil {
		t.Fatal(err)
	}
	var cases []constraintCase
	if err := json.Unmarshal(b, &cases); err != nil {
		t.Fatal(err)
	}
	rejected := 0
	for _, c := range cases {
		if c.SQLState != "" {
			rejected++
		}
	}
	if rejected < 20 {
		t.Fatalf("only %d rejection cases; the business rules need at least 20", rejected)
	}
	for _, c := range cases {
		t.Run(c.Name, func(t *testing.T) {
			tx, err := pool.Begin(t.Context())
			if err != nil {
				t.Fatal(err)
			}
			defer tx.Rollback(t.Context())
			_, err = tx.Exec(t.Context(), c.SQL)
			checkCase(t, c, err)
		})
	}
}

func checkCase(t *testing.T, c constraintCase, err error) {
	t.Helper()
	if c.SQLState == "" {
		if err != nil {
			t.Fatalf("valid statement rejected: %v", err)
		}
		return
	}
	var pgErr *pgconn.PgError
	if !errors.As(err, &pgErr) {
		t.Fatalf("want SQLSTATE %s, got %v", c.SQLState, err)
	}
	if pgErr.Code != c.SQLState || pgErr.ConstraintName != c.Constraint {
		t.Fatalf("got %s/%q (%s), want %s/%q", pgErr.Code, pgErr.ConstraintName, pgErr.Message, c.SQLState, c.Constraint)
	}
	if c.SQLState == "23502" && (c.Column == "" || pgErr.ColumnName != c.Column) {
		t.Fatalf("NOT NULL violation on column %q, want %q (every 23502 case names its column)", pgErr.ColumnName, c.Column)
	}
}

// TestFunctionsRun calls every function once: PL/pgSQL bodies are not checked
// at CREATE time, so only a call proves them (seed defect 11).
func TestFunctionsRun(t *testing.T) {
	t.Parallel()
	pool, _ := migratedPool(t, 0)
	valid, _ := os.ReadFile("../testdata/constraints/valid.sql")
	if _, err := pool.Exec(t.Context(), string(valid)); err != nil {
		t.Fatal(err)
	}
	rows, err := pool.Query(t.Context(), `SELECT p.proname, pg_get_function_identity_arguments(p.oid)
		FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace WHERE n.nspname = 'public'`)
	if err != nil {
		t.Fatal(err)
	}
	funcs, err := pgx.CollectRows(rows, pgx.RowToStructByPos[struct{ Name, Args string }])
	if err != nil {
		t.Fatal(err)
	}
	calls := map[string]string{
		"validate_portfolio_allocation":  "SELECT validate_portfolio_allocation('55555555-5555-4555-8555-555555555555')::text",
		"create_activity_logs_partition": "SELECT create_activity_logs_partition(date '2031-01-01')::text",
	}
	for _, f := range funcs {
		q, ok := calls[f.Name]
		if !ok {
			t.Errorf("function %s(%s) has no call in this test: add one", f.Name, f.Args)
			continue
		}
		var out string
		if err := pool.QueryRow(t.Context(), q).Scan(&out); err != nil {
			t.Errorf("%s: %v", f.Name, err)
		}
	}
}
