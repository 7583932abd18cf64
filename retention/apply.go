package retention

import (
	"context"
	"fmt"
	"regexp"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/quantx/quantx-db/internal/pglock"
	"github.com/quantx/quantx-db/internal/progress"
	"github.com/quantx/quantx-db/partitions"
)

// Apply applies the policy table by table and reports each. In a dry run it
// only reads. It stops at the first table that fails and returns the report
// so far together with the error.
func (r *Runner) Apply(ctx context.Context) (Report, error) {
	rep := Report{DryRun: r.opts.DryRun, Now: r.parts.Now(), Tables: []TableReport{}, AbortedUploads: []string{}}
	if r.opts.Store != nil && !r.opts.DryRun {
		// Uploads that a killed run (or a bucket that died under it) left behind. A failed
		// sweep only warns: retention must not stop because an older run's cleanup did.
		ups, err := r.opts.Store.AbortStale(ctx, r.opts.StaleAfter, append([]string{ArchivePrefix}, r.opts.StalePrefixes...)...)
		if err != nil {
			r.log.WarnContext(ctx, "abort stale uploads", "error", err)
		}
		for _, u := range ups {
			rep.AbortedUploads = append(rep.AbortedUploads, u.Key)
		}
	}
	if a := r.policy.Postgres.ActivityLogs; a != nil {
		tr, err := r.dropPartitions(ctx, a)
		rep.Tables = append(rep.Tables, tr)
		if err != nil {
			return rep, err
		}
	}
	if o := r.policy.Postgres.Orders; o != nil {
		tr, err := r.archiveOrders(ctx, o)
		rep.Tables = append(rep.Tables, tr)
		if err != nil {
			return rep, err
		}
	}
	return rep, nil
}

var monthNameRE = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`^` + partitions.MonthlyTable + `_y(\d{4})m(\d{2})$`) })

// dropPartitions removes every monthly partition whose upper bound is at or
// before the cutoff, so no row younger than the policy is ever dropped. Each
// one is detached first (no writer can add to it while it is archived), then
// archived and confirmed, then dropped. A partition detached by a run that
// failed before the drop is found again by name and finished.
func (r *Runner) dropPartitions(ctx context.Context, pol *PartitionPolicy) (TableReport, error) {
	start := time.Now()
	table := partitions.MonthlyTable
	tr := TableReport{Table: table, Action: ActionDropPartitions, Keep: pol.Keep.String(), Cutoff: pol.Keep.Before(r.parts.Now()),
		Partitions: []PartitionReport{}, Warnings: []string{}}
	defer func() { tr.DurationMS = time.Since(start).Milliseconds() }()
	archive := pol.Archives() && !r.opts.NoArchive
	if archive && r.opts.Store == nil && !r.opts.DryRun {
		return tr, fmt.Errorf("retention of %s: %w", table, ErrNoArchiveStore)
	}
	if !archive {
		tr.Warnings = append(tr.Warnings, "archiving is off: expired partitions are dropped without a copy")
	}

	work := func(ctx context.Context, conn *pgx.Conn) error {
		expired, err := r.expiredPartitions(ctx, conn, tr.Cutoff)
		if err != nil {
			return err
		}
		var database string
		if err := conn.QueryRow(ctx, "SELECT current_database()").Scan(&database); err != nil {
			return err
		}
		// Rows in DEFAULT are never dropped by retention: it cannot tell which
		// month a future partition would give them. Say so instead.
		var old int64
		err = conn.QueryRow(ctx, "SELECT count(*) FROM ONLY "+pgx.Identifier{r.parts.Schema(), partitions.DefaultPartition}.Sanitize()+
			" WHERE created_at < $1", tr.Cutoff).Scan(&old)
		if err == nil && old > 0 {
			tr.DefaultExpiredRows = old
			tr.Warnings = append(tr.Warnings, fmt.Sprintf("%s holds %d expired row(s); they are left alone until they are moved into monthly partitions", partitions.DefaultPartition, old))
		}
		if r.opts.DryRun {
			for _, pr := range expired {
				tr.Partitions = append(tr.Partitions, pr)
				tr.Rows += pr.Rows
			}
			if r.opts.CheckPrivileges && len(expired) > 0 {
				return partitions.CheckOwner(ctx, conn, r.parts.Schema(), table)
			}
			return nil
		}
		// Detach every expired month first (one short lock on the parent),
		// then archive and drop them one by one with no lock on the parent.
		names := make([]string, len(expired))
		for i, pr := range expired {
			names[i] = pr.Partition
		}
		modes, err := r.parts.DetachAll(ctx, conn, table, names)
		if err != nil {
			return err
		}
		months := progress.NewCounter(r.opts.Progress, progress.Event{Phase: "retention", Subject: table, Unit: progress.Partitions, Total: int64(len(expired))})
		defer months.Finish()
		for _, pr := range expired {
			months.SetItem(pr.Partition)
			if mode, ok := modes[pr.Partition]; ok {
				pr.Detach = mode
			}
			if archive {
				a, err := r.archivePartition(ctx, conn, database, pr)
				if err != nil {
					tr.Partitions = append(tr.Partitions, pr)
					return fmt.Errorf("%w (%s stays, detached, until an archive is confirmed; the next run retries)", err, pr.Partition)
				}
				pr.Archive, pr.Rows, pr.RowsExact = a, a.Rows, true
			}
			if err := r.parts.DropDetached(ctx, conn, pr.Partition); err != nil {
				tr.Partitions = append(tr.Partitions, pr)
				return err
			}
			pr.Dropped = true
			tr.Partitions = append(tr.Partitions, pr)
			tr.Rows += pr.Rows
			months.Add(1)
			r.log.InfoContext(ctx, "partition dropped", "table", table, "partition", pr.Partition, "rows", pr.Rows, "archived", pr.Archive != nil)
		}
		return nil
	}
	if r.opts.DryRun {
		// A dry run takes no maintenance lock: it must work while cron holds it.
		conn, err := r.pool.Acquire(ctx)
		if err != nil {
			return tr, err
		}
		defer conn.Release()
		return tr, work(ctx, conn.Conn())
	}
	return tr, r.parts.WithTableLock(ctx, table, work)
}

// expiredPartitions lists attached partitions entirely before cutoff, plus
// monthly tables left detached by an interrupted run, oldest first.
func (r *Runner) expiredPartitions(ctx context.Context, conn *pgx.Conn, cutoff time.Time) ([]PartitionReport, error) {
	parts, err := r.parts.Partitions(ctx, partitions.MonthlyTable)
	if err != nil {
		return nil, err
	}
	var out []PartitionReport
	for _, p := range parts {
		if p.Default || p.From.IsZero() || p.To.IsZero() || p.To.After(cutoff) {
			continue
		}
		out = append(out, PartitionReport{Partition: p.Name, From: p.From, To: p.To, Rows: p.Rows, SizeBytes: p.SizeBytes})
	}
	rows, err := conn.Query(ctx, `
SELECT c.relname, GREATEST(c.reltuples, 0)::bigint, pg_total_relation_size(c.oid)
FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE n.nspname = $1 AND c.relkind = 'r' AND NOT c.relispartition AND c.relname LIKE $2`,
		r.parts.Schema(), partitions.MonthlyTable+`\_y%`)
	if err != nil {
		return nil, fmt.Errorf("look for detached partitions: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var pr PartitionReport
		if err := rows.Scan(&pr.Partition, &pr.Rows, &pr.SizeBytes); err != nil {
			return nil, err
		}
		m := monthNameRE().FindStringSubmatch(pr.Partition)
		if m == nil {
			continue
		}
		from, err := time.Parse("2006-01", m[1]+"-"+m[2])
		if err != nil {
			continue
		}
		pr.From, pr.To = from, from.AddDate(0, 1, 0)
		if !pr.To.After(cutoff) {
			pr.Detach = partitions.DetachNone
			out = append(out, pr)
		}
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	// reltuples is -1/0 before the first ANALYZE: count those exactly so that
	// a dry run does not report an old, full month as empty.
	for i := range out {
		if out[i].Rows == 0 {
			if err := conn.QueryRow(ctx, "SELECT count(*) FROM ONLY "+pgx.Identifier{r.parts.Schema(), out[i].Partition}.Sanitize()).Scan(&out[i].Rows); err != nil {
				return nil, fmt.Errorf("count rows of %s: %w", out[i].Partition, err)
			}
			out[i].RowsExact = true
		}
	}
	slices.SortFunc(out, func(a, b PartitionReport) int { return a.From.Compare(b.From) })
	return out, nil
}

// archiveOrders sets archived = true on expired terminal orders, one batch
// per statement (each its own short transaction), pausing between batches so
// that replication and autovacuum keep up and no row lock is held for long.
// SKIP LOCKED leaves orders that the application is updating right now to
// the next batch or the next night.
func (r *Runner) archiveOrders(ctx context.Context, pol *OrdersPolicy) (TableReport, error) {
	start := time.Now()
	tr := TableReport{Table: "orders", Action: ActionArchiveRows, Keep: pol.Keep.String(), Cutoff: pol.Keep.Before(r.parts.Now()),
		Partitions: []PartitionReport{}, Warnings: []string{}}
	defer func() { tr.DurationMS = time.Since(start).Milliseconds() }()
	quoted := make([]string, len(pol.Statuses))
	for i, s := range pol.Statuses {
		quoted[i] = "'" + strings.ReplaceAll(s, "'", "''") + "'" // validated against order_status_enum already
	}
	// Literal statuses, not a $ parameter: the planner can then prove the
	// partial index idx_orders_retention (migration 0008) applies.
	where := "archived = false AND status IN (" + strings.Join(quoted, ", ") + ") AND created_at < $1"
	if r.opts.DryRun {
		if err := r.pool.QueryRow(ctx, "SELECT count(*) FROM orders WHERE "+where, tr.Cutoff).Scan(&tr.Rows); err != nil {
			return tr, fmt.Errorf("count expired orders: %w", err)
		}
		tr.Batches = int((tr.Rows + int64(pol.BatchSize) - 1) / int64(pol.BatchSize))
		if r.opts.CheckPrivileges && tr.Rows > 0 {
			return tr, checkUpdate(ctx, r.pool, "orders")
		}
		return tr, nil
	}
	stmt := "UPDATE orders o SET archived = true FROM (SELECT id FROM orders WHERE " + where +
		" ORDER BY created_at LIMIT $2 FOR UPDATE SKIP LOCKED) b WHERE o.id = b.id"
	// Each batch runs under the maintenance settings' lock_timeout and is
	// retried like their DDL: the UPDATE's ROW EXCLUSIVE lock on orders must
	// not queue behind an ALTER or a LOCK TABLE while every later order waits.
	po := r.opts.Partitions
	lo := pglock.Options{Timeout: po.LockTimeout, Retries: po.Retries, Backoff: po.RetryBackoff, Logger: r.log}
	err := r.parts.WithTableLock(ctx, "orders", func(ctx context.Context, conn *pgx.Conn) error {
		var total int64
		if r.opts.Progress != nil { // a total for the display: the same count a dry run makes
			if err := conn.QueryRow(ctx, "SELECT count(*) FROM orders WHERE "+where, tr.Cutoff).Scan(&total); err != nil {
				return fmt.Errorf("count expired orders: %w", err)
			}
		}
		flagged := progress.NewCounter(r.opts.Progress, progress.Event{Phase: "archive orders", Subject: "orders", Unit: progress.Rows, Total: total})
		defer flagged.Finish()
		if err := pglock.SetTimeout(ctx, conn, lo.Timeout, false); err != nil {
			return err
		}
		for {
			var tag pgconn.CommandTag
			_, err := pglock.Retry(ctx, lo, fmt.Sprintf("archive orders, batch %d", tr.Batches+1), func(ctx context.Context) error {
				var err error
				tag, err = conn.Exec(ctx, stmt, tr.Cutoff, pol.BatchSize)
				return err
			})
			if err != nil {
				return err
			}
			tr.Batches++
			tr.Rows += tag.RowsAffected()
			flagged.Add(tag.RowsAffected())
			r.log.DebugContext(ctx, "orders batch archived", "batch", tr.Batches, "rows", tag.RowsAffected())
			if tag.RowsAffected() < int64(pol.BatchSize) {
				return nil
			}
			select {
			case <-ctx.Done():
				return ctx.Err()
			case <-time.After(pol.Pause.D):
			}
		}
	})
	if err == nil {
		r.log.InfoContext(ctx, "orders archived", "rows", tr.Rows, "batches", tr.Batches)
	}
	return tr, err
}
