package partitions

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
)

// Detach modes reported by Detach.
const (
	DetachConcurrently = "concurrently" // DETACH ... CONCURRENTLY: no ACCESS EXCLUSIVE lock on the parent
	DetachPlain        = "plain"        // plain DETACH under lock_timeout (a DEFAULT partition exists)
	DetachFinalized    = "finalized"    // an interrupted CONCURRENTLY detach was finished
	DetachNone         = "not-attached" // the table was already detached
)

// Detach detaches partition name from table on conn, which must come from
// WithTableLock for table and must not be in a transaction.
//
// DETACH ... CONCURRENTLY is used when PostgreSQL allows it: it takes only
// SHARE UPDATE EXCLUSIVE on the parent, which readers and writers never wait
// for (pg_partman cannot do this from inside a function: its #387, #677).
// PostgreSQL refuses it while the parent has a DEFAULT partition
// (seed-defects #40); then a plain DETACH runs, whose ACCESS EXCLUSIVE lock
// on the parent is held only for the catalog update and is requested under
// lock_timeout, so it never sits in the lock queue in front of inserts for
// longer than that. A CONCURRENTLY detach interrupted half way is finished
// with FINALIZE on the next run.
func (m *Manager) Detach(ctx context.Context, conn *pgx.Conn, table, name string) (string, error) {
	parent := pgx.Identifier{m.opts.Schema, table}.Sanitize()
	child := pgx.Identifier{m.opts.Schema, name}.Sanitize()
	var attached, pending, withDefault bool
	err := conn.QueryRow(ctx, `
SELECT EXISTS (SELECT 1 FROM pg_inherits WHERE inhrelid = to_regclass($2) AND inhparent = to_regclass($1)),
       COALESCE((SELECT inhdetachpending FROM pg_inherits WHERE inhrelid = to_regclass($2) AND inhparent = to_regclass($1)), false),
       EXISTS (SELECT 1 FROM pg_partitioned_table WHERE partrelid = to_regclass($1) AND partdefid <> 0)`,
		parent, child).Scan(&attached, &pending, &withDefault)
	if err != nil {
		return "", fmt.Errorf("detach %s: read catalog: %w", name, err)
	}
	op := "detach partition " + name
	switch {
	case !attached:
		return DetachNone, nil
	case pending:
		return DetachFinalized, execNoTx(ctx, conn, m.opts, op, "ALTER TABLE "+parent+" DETACH PARTITION "+child+" FINALIZE")
	case withDefault:
		return DetachPlain, inTx(ctx, conn, m.opts, op, func(tx pgx.Tx) error {
			_, err := tx.Exec(ctx, "ALTER TABLE "+parent+" DETACH PARTITION "+child)
			return err
		})
	default:
		return DetachConcurrently, execNoTx(ctx, conn, m.opts, op, "ALTER TABLE "+parent+" DETACH PARTITION "+child+" CONCURRENTLY")
	}
}

// DetachAll detaches several partitions of table, returning how each was
// detached. When only a plain DETACH is possible (a DEFAULT partition
// exists), all attached ones are detached in one transaction: the parent's
// ACCESS EXCLUSIVE lock is then taken once, so concurrent inserts stall once
// instead of once per month. Otherwise each goes through Detach.
func (m *Manager) DetachAll(ctx context.Context, conn *pgx.Conn, table string, names []string) (map[string]string, error) {
	modes := make(map[string]string, len(names))
	parent := pgx.Identifier{m.opts.Schema, table}.Sanitize()
	var withDefault bool
	if err := conn.QueryRow(ctx, "SELECT EXISTS (SELECT 1 FROM pg_partitioned_table WHERE partrelid = to_regclass($1) AND partdefid <> 0)", parent).Scan(&withDefault); err != nil {
		return modes, fmt.Errorf("detach partitions of %s: %w", table, err)
	}
	var plain []string
	for _, name := range names {
		var attached, pending bool
		err := conn.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM pg_inherits WHERE inhrelid = to_regclass($1)),
       COALESCE((SELECT inhdetachpending FROM pg_inherits WHERE inhrelid = to_regclass($1)), false)`,
			pgx.Identifier{m.opts.Schema, name}.Sanitize()).Scan(&attached, &pending)
		if err != nil {
			return modes, fmt.Errorf("detach %s: read catalog: %w", name, err)
		}
		if withDefault && attached && !pending {
			plain = append(plain, name)
			continue
		}
		mode, err := m.Detach(ctx, conn, table, name)
		if err != nil {
			return modes, err
		}
		modes[name] = mode
	}
	if len(plain) == 0 {
		return modes, nil
	}
	err := inTx(ctx, conn, m.opts, fmt.Sprintf("detach %d partition(s) of %s", len(plain), table), func(tx pgx.Tx) error {
		for _, name := range plain {
			if _, err := tx.Exec(ctx, "ALTER TABLE "+parent+" DETACH PARTITION "+pgx.Identifier{m.opts.Schema, name}.Sanitize()); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return modes, err
	}
	for _, name := range plain {
		modes[name] = DetachPlain
	}
	return modes, nil
}

// DropDetached drops a table that is no longer a partition. Dropping it after
// the detach, rather than dropping the attached partition, keeps the parent
// out of the DROP's lock.
func (m *Manager) DropDetached(ctx context.Context, conn *pgx.Conn, name string) error {
	child := pgx.Identifier{m.opts.Schema, name}.Sanitize()
	return inTx(ctx, conn, m.opts, "drop table "+name, func(tx pgx.Tx) error {
		var isPartition bool
		if err := tx.QueryRow(ctx, "SELECT EXISTS (SELECT 1 FROM pg_inherits WHERE inhrelid = to_regclass($1))", child).Scan(&isPartition); err != nil {
			return err
		}
		if isPartition {
			return fmt.Errorf("%s is still a partition: %w", name, ErrDrift)
		}
		_, err := tx.Exec(ctx, "DROP TABLE IF EXISTS "+child)
		return err
	})
}

// Schema returns the schema the Manager works in.
func (m *Manager) Schema() string { return m.opts.Schema }

// Now returns the Manager's clock reading, in UTC.
func (m *Manager) Now() time.Time { return m.opts.Now().UTC() }
