package main

import (
	"context"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/spf13/cobra"

	"github.com/quantx/quantx-db/internal/pglock"
	"github.com/quantx/quantx-db/partitions"
)

// maintenanceLockRetries is the default of the partitions and retention
// verbs' --lock-retries.
const maintenanceLockRetries = 4

// maintenanceFlags are shared by the partitions and retention verbs: both
// take the per-table maintenance lock and run DDL under lock_timeout. They
// reach the library unchanged: its rule is the flags' (0 means off).
type maintenanceFlags struct {
	lockWait    time.Duration
	lockTimeout time.Duration
	lockRetries int
}

func (f *maintenanceFlags) add(cmd *cobra.Command) {
	pf := cmd.PersistentFlags()
	pf.DurationVar(&f.lockWait, "lock-wait", pglock.DefaultWait, "how long to wait for another runner's maintenance lock on a table before exiting 4 (0 tries once)")
	pf.DurationVar(&f.lockTimeout, "lock-timeout", pglock.DefaultTimeout, "PostgreSQL lock_timeout of every DDL statement (0 disables)")
	pf.IntVar(&f.lockRetries, "lock-retries", maintenanceLockRetries, "retries of a DDL statement that hit lock_timeout, with doubling backoff (0: none)")
}

func newPartitionsCmd(d *deps) *cobra.Command {
	var f maintenanceFlags
	cmd := &cobra.Command{
		Use:   "partitions",
		Short: "Premake and inspect table partitions without blocking the hot tables",
		Long: `activity_logs is partitioned by month (activity_logs_yYYYYmMM, bounds in UTC) with a
DEFAULT partition; transactions is hash-partitioned by portfolio.

'ensure' premakes monthly partitions from the current UTC month (never from the
newest row), moving any rows already sitting in DEFAULT for those months into
the new partition in the same short transaction, and verifies that every hash
remainder exists. It is idempotent and safe to run from cron: DDL runs under
--lock-timeout with retries, and two runs on one table serialise on an
advisory lock (the second waits up to --lock-wait, then exits 4).`,
		Example: `  quantx-db partitions ensure --months-ahead 3
  quantx-db partitions list --exact -o json`,
	}
	f.add(cmd)
	cmd.AddCommand(newPartitionsEnsureCmd(d, &f), newPartitionsListCmd(d, &f))
	return cmd
}

// openPartitions connects and returns a Manager. The caller closes the pool.
func (d *deps) openPartitions(ctx context.Context, f *maintenanceFlags) (*partitions.Manager, *pgxpool.Pool, error) {
	pool, err := d.openPool(ctx)
	if err != nil {
		return nil, nil, err
	}
	return partitions.New(pool, d.partitionOptions(f)), pool, nil
}

func (d *deps) partitionOptions(f *maintenanceFlags) partitions.Options {
	o := partitions.Options{Now: d.now, Logger: d.logger}
	if f != nil {
		o.LockWait, o.LockTimeout, o.Retries = f.lockWait, f.lockTimeout, f.lockRetries
	}
	return o
}
