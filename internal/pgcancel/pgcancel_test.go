package pgcancel_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/quantx/quantx-db/internal/pgcancel"
	"github.com/quantx/quantx-db/internal/testenv"
)

// TestCancelReachesTheServer cancels a statement that waits for a lock: when
// Exec returns, the server has already stopped waiting (the backend left the
// lock queue), instead of queueing on after its client gave up.
func TestCancelReachesTheServer(t *testing.T) {
	t.Parallel()
	db := testenv.Postgres(t)
	admin, err := pgx.Connect(t.Context(), db.URL)
	if err != nil {
		t.Fatal(err)
	}
	defer admin.Close(context.Background())
	for _, sql := range []string{"CREATE TABLE t (id int)", "BEGIN", "LOCK TABLE t IN ACCESS EXCLUSIVE MODE"} {
		if _, err := admin.Exec(t.Context(), sql); err != nil {
			t.Fatal(err)
		}
	}
	conn, err := pgcancel.Connect(t.Context(), db.URL)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(context.Background())
	var pid int
	if err := conn.QueryRow(t.Context(), "SELECT pg_backend_pid()").Scan(&pid); err != nil {
		t.Fatal(err)
	}
	watcher, err := pgx.Connect(t.Context(), db.URL)
	if err != nil {
		t.Fatal(err)
	}
	defer watcher.Close(context.Background())
	ctx, cancel := context.WithCancel(t.Context())
	go func() {
		// Cancel once the statement is queued for the lock.
		for {
			var waiting bool
			if err := watcher.QueryRow(context.Background(), "SELECT wait_event_type = 'Lock' FROM pg_stat_activity WHERE pid = $1", pid).Scan(&waiting); err == nil && waiting {
				cancel()
				return
			}
			time.Sleep(10 * time.Millisecond)
		}
	}()
	_, err = conn.Exec(ctx, "SELECT count(*) FROM t")
	var pgErr *pgconn.PgError
	if ctx.Err() == nil || !errors.As(err, &pgErr) || pgErr.Code != "57014" {
		t.Fatalf("Exec: %v, want the server's query_canceled (57014) after the cancel", err)
	}
	var state string
	if err := watcher.QueryRow(t.Context(), "SELECT COALESCE(wait_event_type, '') FROM pg_stat_activity WHERE pid = $1", pid).Scan(&state); err != nil && !errors.Is(err, pgx.ErrNoRows) {
		t.Fatal(err)
	}
	if state == "Lock" {
		t.Fatal("the backend still waits for the lock after its client cancelled")
	}
}
