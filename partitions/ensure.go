package partitions

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
)

// monthlyKey is the range partition key of MonthlyTable.
const monthlyKey = "created_at"

// EnsureOptions says which months Ensure makes.
type EnsureOptions struct {
	MonthsAhead int // months after the current one; 0 means 3, <0 means none
	MonthsBack  int // months before the current one; 0 or <0 means none
	// DryRun reports what Ensure would do (months ActionCreate, with the rows that would move out of
	// DEFAULT) and changes nothing. It takes no lock, and fails where the real run would fail: drift,
	// a table that is not partitioned, or a role that may not create the partitions (ErrWouldFail).
	DryRun bool
}

// Month actions in an EnsureReport.
const (
	ActionCreated  = "created"
	ActionExisting = "existing"
	ActionCreate   = "create" // dry run: would be created
)

// MonthResult is what Ensure did for one month.
type MonthResult struct {
	Partition  string    `json:"partition"`
	From       time.Time `json:"from"`
	To         time.Time `json:"to"`
	Action     string    `json:"action"`     // ActionCreated or ActionExisting; ActionCreate in a dry run
	CoveredBy  string    `json:"covered_by"` // the partition holding the month (differs from Partition for foreign names)
	RowsMoved  int64     `json:"rows_moved"` // rows moved out of DEFAULT into the new partition
	DurationMS int64     `json:"duration_ms"`
}

// EnsureReport lists every month in the window and the hash-partition checks.
// A second run reports every month as existing and Changed false.
type EnsureReport struct {
	DryRun      bool          `json:"dry_run"` // Created, RowsMoved and Changed say what a real run would do
	Table       string        `json:"table"`
	Now         time.Time     `json:"now"`
	Months      []MonthResult `json:"months"`
	Created     []string      `json:"created"`
	Existing    []string      `json:"existing"`
	RowsMoved   int64         `json:"rows_moved"`
	Changed     bool          `json:"changed"`
	DefaultRows int64         `json:"default_rows"` // rows left in DEFAULT after the run (months outside the window)
	Hash        []HashCheck   `json:"hash"`
	HashOK      bool          `json:"hash_ok"`
	// HorizonMonths is how many months after the current UTC month are
	// covered without a gap after the run, counting partitions beyond the
	// window too; -1 when the current month has none (see Health).
	HorizonMonths int `json:"horizon_months"`
}

// Ensure makes the monthly partitions of MonthlyTable from MonthsBack months
// before the current UTC month through MonthsAhead months after it, and
// verifies the hash-partitioned tables. "Current" comes from Options.Now, not
// from the newest row: a quiet table still gets next month's partition
// (pg_partman #374 is that trap).
//
// A month whose rows already sit in DEFAULT is created by moving them, in
// the same short transaction, into a new table that is then attached; see
// createMonth for why no concurrent insert fails. Ensure is idempotent, and
// concurrent calls serialise on the table's advisory lock.
//
// Missing hash remainders are reported (HashOK false), not returned as an
// error: the caller decides how loud to be.
func (m *Manager) Ensure(ctx context.Context, eo EnsureOptions) (EnsureReport, error) {
	ahead := eo.MonthsAhead
	if ahead == 0 {
		ahead = 3
	}
	ahead = max(ahead, 0)
	back := max(eo.MonthsBack, 0)
	now := m.opts.Now().UTC()
	rep := EnsureReport{DryRun: eo.DryRun, Table: MonthlyTable, Now: now, Months: []MonthResult{}, Created: []string{}, Existing: []string{}, Hash: []HashCheck{}}

	work := func(ctx context.Context, conn *pgx.Conn) error {
		kind, err := relkind(ctx, conn, m.opts.Schema, MonthlyTable)
		if err != nil {
			return err
		}
		if kind != "p" {
			return fmt.Errorf("ensure %s.%s: %w", m.opts.Schema, MonthlyTable, ErrNotPartitioned)
		}
		cols, err := columnsOf(ctx, conn, m.opts.Schema, MonthlyTable)
		if err != nil {
			return err
		}
		cur := monthStart(now)
		parts, err := partitionsOf(ctx, conn, m.opts.Schema, MonthlyTable)
		if err != nil {
			return err
		}
		for i := -back; i <= ahead; i++ {
			from := cur.AddDate(0, i, 0)
			to := from.AddDate(0, 1, 0)
			mr := MonthResult{Partition: MonthName(from), From: from, To: to}
			start := time.Now()
			holder, partial := coveredBy(parts, from, to)
			switch {
			case holder != "":
				mr.Action, mr.CoveredBy = ActionExisting, holder
				rep.Existing = append(rep.Existing, mr.Partition)
			case partial != "":
				return fmt.Errorf("month %s: partition %s overlaps it only in part: %w", from.Format("2006-01"), partial, ErrDrift)
			case eo.DryRun:
				moved, err := m.planMonth(ctx, conn, from, to, hasDefault(parts))
				if err != nil {
					return err
				}
				mr.Action, mr.CoveredBy, mr.RowsMoved = ActionCreate, mr.Partition, moved
				rep.Created = append(rep.Created, mr.Partition)
				rep.RowsMoved += moved
			default:
				moved, err := m.createMonth(ctx, conn, from, to, hasDefault(parts), cols)
				if err != nil {
					return err
				}
				mr.Action, mr.CoveredBy, mr.RowsMoved = ActionCreated, mr.Partition, moved
				rep.Created = append(rep.Created, mr.Partition)
				rep.RowsMoved += moved
				// Re-read: the new month is now a partition and DEFAULT's bounds changed.
				if parts, err = partitionsOf(ctx, conn, m.opts.Schema, MonthlyTable); err != nil {
					return err
				}
				m.opts.Logger.InfoContext(ctx, "partition created", "table", MonthlyTable, "partition", mr.Partition,
					"rows_moved", moved, "duration", time.Since(start).Round(time.Millisecond))
			}
			mr.DurationMS = time.Since(start).Milliseconds()
			rep.Months = append(rep.Months, mr)
		}
		rep.HorizonMonths, _ = horizon(parts, now)
		if hasDefault(parts) {
			if rep.DefaultRows, err = exactRows(ctx, conn, m.opts.Schema, DefaultPartition); err != nil {
				return err
			}
			if eo.DryRun {
				rep.DefaultRows -= rep.RowsMoved
			}
		}
		all, err := partitionsOf(ctx, conn, m.opts.Schema, "")
		if err != nil {
			return err
		}
		rep.Hash = checkHash(all)
		if eo.DryRun && len(rep.Created) > 0 {
			// CREATE TABLE needs CREATE on the schema, ATTACH the parent's ownership.
			if err := checkCreate(ctx, conn, m.opts.Schema); err != nil {
				return err
			}
			return CheckOwner(ctx, conn, m.opts.Schema, MonthlyTable)
		}
		return nil
	}
	var err error
	if eo.DryRun {
		// A dry run takes no maintenance lock: it must work while cron holds it.
		c, aerr := m.pool.Acquire(ctx)
		if aerr != nil {
			return rep, aerr
		}
		err = work(ctx, c.Conn())
		c.Release()
	} else {
		err = m.WithTableLock(ctx, MonthlyTable, work)
	}
	if err != nil {
		return rep, err
	}
	rep.Changed = len(rep.Created) > 0
	rep.HashOK = true
	for _, h := range rep.Hash {
		rep.HashOK = rep.HashOK && h.OK
	}
	return rep, nil
}

// coveredBy returns the partition whose range holds [from, to) entirely, or
// failing that one that overlaps it in part (drift the caller must refuse).
// Bounds rather than names decide, so partitions made by another tool under
// other names are respected.
func coveredBy(parts []Partition, from, to time.Time) (holder, partial string) {
	for _, p := range parts {
		if p.Default || p.From.IsZero() || p.To.IsZero() {
			continue
		}
		if !p.From.After(from) && !p.To.Before(to) {
			return p.Name, ""
		}
		if p.From.Before(to) && p.To.After(from) {
			partial = p.Name
		}
	}
	return "", partial
}

func hasDefault(parts []Partition) bool {
	for _, p := range parts {
		if p.Default {
			return true
		}
	}
	return false
}

// freeMonthName is the name of from's partition, or ErrDrift when a relation
// that is not one of the parent's partitions already holds it: createMonth
// and its dry run refuse alike.
func (m *Manager) freeMonthName(ctx context.Context, conn *pgx.Conn, from time.Time) (string, error) {
	name := MonthName(from)
	kind, err := relkind(ctx, conn, m.opts.Schema, name)
	if err != nil {
		return "", err
	}
	if kind != "" {
		return "", fmt.Errorf("create partition %s: a relation with this name exists and is not a partition of %s: %w", name, MonthlyTable, ErrDrift)
	}
	return name, nil
}

// planMonth is createMonth's dry run: the same refusal of a relation that
// holds the partition's name, and the rows that would move out of DEFAULT.
func (m *Manager) planMonth(ctx context.Context, conn *pgx.Conn, from, to time.Time, withDefault bool) (int64, error) {
	name, err := m.freeMonthName(ctx, conn, from)
	if err != nil {
		return 0, err
	}
	if !withDefault {
		return 0, nil
	}
	var n int64
	err = conn.QueryRow(ctx, "SELECT count(*) FROM ONLY "+pgx.Identifier{m.opts.Schema, DefaultPartition}.Sanitize()+
		" WHERE "+monthlyKey+" >= $1 AND "+monthlyKey+" < $2", from, to).Scan(&n)
	if err != nil {
		return 0, fmt.Errorf("count rows of %s for %s: %w", DefaultPartition, name, err)
	}
	return n, nil
}

// createMonth makes the partition for [from, to) in one short transaction:
//
//  1. LOCK the parent IN SHARE MODE (when a DEFAULT exists): inserts into the
//     parent wait for this transaction instead of routing a row for the new
//     month into DEFAULT with a stale partition map. Without it such an
//     insert, blocked on DEFAULT until the ATTACH commits, re-checks DEFAULT's
//     new constraint and fails ("violates partition constraint"). Readers are
//     not blocked by SHARE, unlike the ACCESS EXCLUSIVE lock that CREATE
//     TABLE ... PARTITION OF takes on the parent.
//  2. LOCK DEFAULT IN ACCESS EXCLUSIVE MODE up front, the lock ATTACH needs
//     anyway: taking it later as an upgrade could deadlock with a reader.
//     Parent before child is the order every insert takes, so inserts and
//     this transaction cannot deadlock (pg_partman #796 took them the other way).
//  3. CREATE a standalone table LIKE the parent, move the month's rows out of
//     DEFAULT into it with one DELETE ... RETURNING / INSERT, ATTACH it.
//
// Every lock is taken under lock_timeout; a timeout rolls everything back
// (DEFAULT is never detached, so there is no window in which an insert for a
// far-future month finds no partition) and the transaction is retried.
func (m *Manager) createMonth(ctx context.Context, conn *pgx.Conn, from, to time.Time, withDefault bool, cols []string) (int64, error) {
	name, err := m.freeMonthName(ctx, conn, from)
	if err != nil {
		return 0, err
	}
	parent := pgx.Identifier{m.opts.Schema, MonthlyTable}.Sanitize()
	child := pgx.Identifier{m.opts.Schema, name}.Sanitize()
	def := pgx.Identifier{m.opts.Schema, DefaultPartition}.Sanitize()
	colList := strings.Join(cols, ", ")
	var moved int64
	err = inTx(ctx, conn, m.opts, "create partition "+name, func(tx pgx.Tx) error {
		moved = 0
		stmts := []string{"LOCK TABLE " + parent + " IN SHARE UPDATE EXCLUSIVE MODE"}
		if withDefault {
			stmts = []string{
				"LOCK TABLE " + parent + " IN SHARE MODE",
				"LOCK TABLE " + def + " IN ACCESS EXCLUSIVE MODE",
			}
		}
		stmts = append(stmts, "CREATE TABLE "+child+" (LIKE "+parent+
			" INCLUDING DEFAULTS INCLUDING CONSTRAINTS INCLUDING STORAGE INCLUDING COMMENTS"+
			" INCLUDING GENERATED INCLUDING IDENTITY INCLUDING STATISTICS INCLUDING COMPRESSION)")
		for _, s := range stmts {
			if _, err := tx.Exec(ctx, s); err != nil {
				return err
			}
		}
		if withDefault {
			tag, err := tx.Exec(ctx, "WITH moved AS (DELETE FROM ONLY "+def+" WHERE "+monthlyKey+" >= $1 AND "+monthlyKey+" < $2 RETURNING "+colList+
				") INSERT INTO "+child+" ("+colList+") SELECT "+colList+" FROM moved", from, to)
			if err != nil {
				return fmt.Errorf("move rows out of %s: %w", DefaultPartition, err)
			}
			moved = tag.RowsAffected()
		}
		_, err := tx.Exec(ctx, "ALTER TABLE "+parent+" ATTACH PARTITION "+child+" FOR VALUES FROM ("+boundLiteral(from)+") TO ("+boundLiteral(to)+")")
		return err
	})
	return moved, err
}

// columnsOf lists the live columns of a table in order, quoted.
func columnsOf(ctx context.Context, q querier, schema, table string) ([]string, error) {
	rows, err := q.Query(ctx, `
SELECT a.attname FROM pg_attribute a
JOIN pg_class c ON c.oid = a.attrelid JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE n.nspname = $1 AND c.relname = $2 AND a.attnum > 0 AND NOT a.attisdropped
ORDER BY a.attnum`, schema, table)
	if err != nil {
		return nil, fmt.Errorf("read columns of %s: %w", table, err)
	}
	names, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		return nil, fmt.Errorf("read columns of %s: %w", table, err)
	}
	for i, n := range names {
		names[i] = pgx.Identifier{n}.Sanitize()
	}
	return names, nil
}
