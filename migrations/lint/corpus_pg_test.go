package lint

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/quantx/quantx-db/internal/testenv"
)

// TestCorpusOnPostgres runs every corpus file on the real PostgreSQL 15, the
// way quantx-db runs a migration (one transaction per file, or statement by
// statement for a no-transaction file), on a fresh database holding setup.sql,
// and checks the facts its header claims, so that each rule is grounded in
// what the server does:
//
//	rewrite T / no-rewrite T    T's relfilenode changed (the table was rewritten)
//	scan T / no-scan T          the migration's transaction read all of T (pg_stat_xact_user_tables.seq_scan)
//	lock T MODE                 the migration holds or waits for MODE on T (pg_locks, from another connection)
//	blocks-writes T / allows-writes T, blocks-reads T / allows-reads T
//	                            while another transaction writes to T, the migration makes a third
//	                            session's INSERT / SELECT on T wait (lock_timeout 300ms) or not
//	fails / succeeds            the migration errors or not
//	new T                       T did not exist before the migration
//	breaks Q / keeps Q / changes Q
//	                            query Q worked before; afterwards it fails / still works / returns other rows
//	ends-transaction / keeps-transaction
//	                            after the file's statements, the file's transaction is over / still open
func TestCorpusOnPostgres(t *testing.T) {
	setup, cases := loadCorpus(t)
	for _, c := range cases {
		t.Run(c.rule+"/"+c.name, func(t *testing.T) {
			db := testenv.Postgres(t)
			ctx, cancel := context.WithTimeout(t.Context(), 90*time.Second)
			defer cancel()
			runCase(ctx, t, db.URL, setup, c)
		})
	}
}

func connect(ctx context.Context, t *testing.T, url string) *pgx.Conn {
	t.Helper()
	c, err := pgx.Connect(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close(context.Background()) })
	return c
}

// statements splits a file with the linter's parser (the same boundaries the
// engine's lexer finds: TestSplitAgreesWithParser).
func statements(t *testing.T, sql string) []string {
	stmts, perr := parse(sql)
	if perr != nil {
		return []string{sql} // a syntax-error case: let the server say so
	}
	out := make([]string, len(stmts))
	for i, s := range stmts {
		out[i] = sql[s.first:s.end]
	}
	return out
}

func applyFile(ctx context.Context, t *testing.T, conn *pgx.Conn, sql string, noTx bool) {
	t.Helper()
	if !noTx {
		if _, err := conn.PgConn().Exec(ctx, "BEGIN").ReadAll(); err != nil {
			t.Fatal(err)
		}
	}
	for _, s := range statements(t, sql) {
		if _, err := conn.PgConn().Exec(ctx, s).ReadAll(); err != nil {
			t.Fatalf("applying an earlier file: %v\n%s", err, s)
		}
	}
	if !noTx {
		if _, err := conn.PgConn().Exec(ctx, "COMMIT").ReadAll(); err != nil {
			t.Fatal(err)
		}
	}
}

type runResult struct {
	err      error
	scans    map[string]int64 // seq scans of each table inside the migration's transaction
	txStatus byte             // after the file's statements: 'T' in a transaction, 'I' idle
}

func runCase(ctx context.Context, t *testing.T, url, setup string, c *caseFile) {
	obs := connect(ctx, t, url)
	applyFile(ctx, t, obs, setup, false)
	for _, p := range c.chain(t) {
		applyFile(ctx, t, obs, p.sql, p.noTx)
	}

	has := func(kinds ...string) []fact {
		var out []fact
		for _, f := range c.pg {
			if slices.Contains(kinds, f.kind) {
				out = append(out, f)
			}
		}
		return out
	}
	filenode := func(table string) uint32 {
		var n uint32
		if err := obs.QueryRow(ctx, "SELECT relfilenode FROM pg_class WHERE oid = $1::regclass", table).Scan(&n); err != nil {
			t.Fatalf("relfilenode of %s: %v", table, err)
		}
		return n
	}
	before := map[string]uint32{}
	for _, f := range has("rewrite", "no-rewrite") {
		before[f.table] = filenode(f.table)
	}
	for _, f := range has("new") {
		var missing bool
		obs.QueryRow(ctx, "SELECT to_regclass($1) IS NULL", f.table).Scan(&missing)
		if !missing {
			t.Fatalf("new %s: it exists before the migration", f.table)
		}
	}
	queryText := func(q string) (string, error) {
		rows, err := obs.Query(ctx, q, pgx.QueryExecModeSimpleProtocol)
		if err != nil {
			return "", err
		}
		defer rows.Close()
		var sb strings.Builder
		for rows.Next() {
			vals, _ := rows.Values()
			fmt.Fprintln(&sb, vals...)
		}
		return sb.String(), rows.Err()
	}
	results := map[string]string{}
	for _, f := range has("breaks", "keeps", "changes") {
		r, err := queryText(f.arg)
		if err != nil {
			t.Fatalf("%s %q fails before the migration: %v", f.kind, f.arg, err)
		}
		results[f.arg] = r
	}

	// A blocker transaction that writes to the tables named by the blocking
	// facts, as a busy application would: the migration must get past it.
	var blocked []string
	for _, f := range has("blocks-writes", "allows-writes", "blocks-reads", "allows-reads") {
		if !slices.Contains(blocked, f.table) {
			blocked = append(blocked, f.table)
		}
	}
	var blocker *pgx.Conn
	if len(blocked) > 0 {
		blocker = connect(ctx, t, url)
		if _, err := blocker.Exec(ctx, "BEGIN"); err != nil {
			t.Fatal(err)
		}
		for _, tb := range blocked {
			if _, err := blocker.Exec(ctx, "LOCK TABLE "+tb+" IN ROW EXCLUSIVE MODE"); err != nil {
				t.Fatal(err)
			}
		}
	}

	mig := connect(ctx, t, url)
	pid := mig.PgConn().PID()
	scanTables := has("scan", "no-scan")
	if len(scanTables) > 0 && c.noTx {
		t.Fatal("scan facts need a transactional file")
	}
	stmtsDone, release, done := make(chan struct{}), make(chan struct{}), make(chan runResult, 1)
	go func() {
		r := runResult{scans: map[string]int64{}}
		scans := func(sign int64) {
			for _, f := range scanTables {
				var n int64
				mig.QueryRow(ctx, "SELECT coalesce(sum(seq_scan), 0) FROM pg_stat_xact_user_tables WHERE relid = $1::regclass", f.table).Scan(&n)
				r.scans[f.table] += sign * n
			}
		}
		if !c.noTx {
			mig.PgConn().Exec(ctx, "BEGIN").ReadAll()
			scans(-1)
		}
		for _, s := range statements(t, c.sql) {
			if _, err := mig.PgConn().Exec(ctx, s).ReadAll(); err != nil {
				r.err = err
				break
			}
		}
		r.txStatus = mig.PgConn().TxStatus()
		close(stmtsDone)
		<-release
		if !c.noTx {
			if r.err == nil && r.txStatus == 'T' {
				scans(1)
				if _, err := mig.PgConn().Exec(ctx, "COMMIT").ReadAll(); err != nil {
					r.err = err
				}
			} else {
				mig.PgConn().Exec(ctx, "ROLLBACK").ReadAll()
			}
		}
		done <- r
	}()

	// Checkpoint: the migration is either waiting for a lock or has run its
	// statements and still holds its transaction's locks.
	waiting := false
	for deadline := time.Now().Add(20 * time.Second); ; {
		select {
		case <-stmtsDone:
		default:
			var ev *string
			if err := obs.QueryRow(ctx, "SELECT wait_event_type FROM pg_stat_activity WHERE pid = $1", pid).Scan(&ev); err != nil {
				t.Fatal(err)
			}
			if ev == nil || *ev != "Lock" {
				if time.Now().After(deadline) {
					t.Fatal("the migration neither finished nor waited for a lock within 20s")
				}
				time.Sleep(10 * time.Millisecond)
				continue
			}
			waiting = true
		}
		break
	}
	for _, f := range has("lock") {
		var modes []string
		rows, err := obs.Query(ctx, "SELECT mode || CASE WHEN granted THEN '' ELSE ' (waiting)' END FROM pg_locks WHERE pid = $1 AND relation = $2::regclass", pid, f.table)
		if err != nil {
			t.Fatal(err)
		}
		for rows.Next() {
			var m string
			rows.Scan(&m)
			modes = append(modes, m)
		}
		rows.Close()
		if !slices.ContainsFunc(modes, func(m string) bool { return strings.TrimSuffix(m, " (waiting)") == f.arg }) {
			t.Errorf("lock %s %s: the migration holds or waits for %v", f.table, f.arg, modes)
		}
	}
	probe := func(table, sql string) bool { // true: had to wait past lock_timeout
		c := connect(ctx, t, url)
		_, err := c.PgConn().Exec(ctx, "BEGIN; SET LOCAL lock_timeout = '300ms'; "+sql+"; ROLLBACK").ReadAll()
		var pe *pgconn.PgError
		if errors.As(err, &pe) && pe.Code == "55P03" {
			return true
		}
		if err != nil {
			t.Fatalf("probe %s: %v", sql, err)
		}
		return false
	}
	for _, f := range has("blocks-writes", "allows-writes", "blocks-reads", "allows-reads") {
		sql := "INSERT INTO " + f.table + " DEFAULT VALUES"
		if strings.HasSuffix(f.kind, "reads") {
			sql = "SELECT 1 FROM " + f.table + " LIMIT 1"
		}
		if got, want := probe(f.table, sql), strings.HasPrefix(f.kind, "blocks"); got != want {
			t.Errorf("%s %s: probe %q waited %v (migration waiting for a lock: %v)", f.kind, f.table, sql, got, waiting)
		}
	}
	if blocker != nil {
		blocker.Exec(ctx, "COMMIT")
	}
	select {
	case <-stmtsDone:
	case <-time.After(30 * time.Second):
		t.Fatal("the migration did not finish within 30s of the blocker's commit")
	}
	close(release)
	r := <-done

	switch {
	case len(has("fails")) > 0 && r.err == nil:
		t.Errorf("fails: the migration succeeded")
	case len(has("fails")) == 0 && r.err != nil:
		t.Fatalf("the migration failed: %v", r.err)
	}
	for _, f := range c.pg {
		switch f.kind {
		case "rewrite", "no-rewrite":
			if changed := filenode(f.table) != before[f.table]; changed != (f.kind == "rewrite") {
				t.Errorf("%s %s: relfilenode changed %v", f.kind, f.table, changed)
			}
		case "scan", "no-scan":
			if scanned := r.scans[f.table] > 0; scanned != (f.kind == "scan") {
				t.Errorf("%s %s: %d sequential scan(s) in the migration's transaction", f.kind, f.table, r.scans[f.table])
			}
		case "breaks", "keeps", "changes":
			got, err := queryText(f.arg)
			switch {
			case f.kind == "breaks" && err == nil:
				t.Errorf("breaks %q: the query still works", f.arg)
			case f.kind != "breaks" && err != nil:
				t.Errorf("%s %q: %v", f.kind, f.arg, err)
			case f.kind == "keeps" && got != results[f.arg]:
				t.Errorf("keeps %q: result changed from %q to %q", f.arg, results[f.arg], got)
			case f.kind == "changes" && got == results[f.arg]:
				t.Errorf("changes %q: result still %q", f.arg, got)
			}
		case "ends-transaction", "keeps-transaction":
			if ended := r.txStatus != 'T'; ended != (f.kind == "ends-transaction") {
				t.Errorf("%s: transaction status after the statements %q", f.kind, r.txStatus)
			}
		}
	}
}
