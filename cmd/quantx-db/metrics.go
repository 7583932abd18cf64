package main

import (
	"context"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/quantx/quantx-db/backup"
	"github.com/quantx/quantx-db/internal/config"
	"github.com/quantx/quantx-db/internal/metrics"
	"github.com/quantx/quantx-db/migrations"
	"github.com/quantx/quantx-db/partitions"
	"github.com/quantx/quantx-db/retention"
	"github.com/quantx/quantx-db/stack"
)

// The figures commands report, besides the run series of internal/metrics.
// Every series also has the label "command". README "Running from cron"
// lists them; a test keeps that list complete.
var (
	gaugeMigrationsApplied = metrics.Gauge{Name: "quantx_db_migrations_applied",
		Help: "Migrations the last run applied (migrate up, or the steps of goto) or reverted (migrate down)."}
	gaugeMigrationsPending = metrics.Gauge{Name: "quantx_db_migrations_pending",
		Help: "Migrations pending when the last run read the status."}
	gaugeSchemaVersion = metrics.Gauge{Name: "quantx_db_schema_version",
		Help: "Migration version of the database after the last run (absent before the first migration)."}
	gaugePartitionsCreated = metrics.Gauge{Name: "quantx_db_partitions_created",
		Help: "Monthly partitions the last run created.", Labels: []string{"table"}}
	gaugePartitionsDropped = metrics.Gauge{Name: "quantx_db_partitions_dropped",
		Help: "Expired partitions the last run dropped (after their archive was confirmed, unless --no-archive).", Labels: []string{"table"}}
	gaugeRowsMovedFromDefault = metrics.Gauge{Name: "quantx_db_partitions_rows_moved_from_default",
		Help: "Rows the last run moved out of the DEFAULT partition into new monthly partitions.", Labels: []string{"table"}}
	gaugeDefaultRows = metrics.Gauge{Name: "quantx_db_partitions_default_rows",
		Help: "Rows left in the DEFAULT partition when the last run ended (rows of months without a partition).", Labels: []string{"table"}}
	gaugeMonthsAhead = metrics.Gauge{Name: "quantx_db_partitions_months_ahead",
		Help: "Months after the current UTC month covered by partitions without a gap, as the last run saw them (-1: not even the current month).", Labels: []string{"table"}}
	gaugeRowsArchived = metrics.Gauge{Name: "quantx_db_retention_rows_archived",
		Help: "Rows the last run archived: written to confirmed S3 archives (activity_logs) or flagged archived (orders).", Labels: []string{"table"}}
	gaugeBytesArchived = metrics.Gauge{Name: "quantx_db_retention_archived_bytes",
		Help: "Bytes of the S3 archives (compressed) the last run wrote and confirmed.", Labels: []string{"table"}}
	gaugeBackupTimestamp = metrics.Gauge{Name: "quantx_db_backup_last_timestamp_seconds",
		Help:   "Unix time the newest backup of this kind and database finished, as this command last saw it; its age is time() minus this value.",
		Labels: []string{"kind", "database"}, Kept: true}
	gaugeBackupSize = metrics.Gauge{Name: "quantx_db_backup_last_size_bytes",
		Help:   "Bytes stored by the newest backup of this kind and database (all its objects), as this command last saw it.",
		Labels: []string{"kind", "database"}, Kept: true}
	gaugeBackupsDeleted = metrics.Gauge{Name: "quantx_db_backups_deleted",
		Help: "Backups the last prune deleted."}
	gaugeBackupsKept = metrics.Gauge{Name: "quantx_db_backups_kept",
		Help: "Backups the last prune kept."}
	gaugeBackupVerified = metrics.Gauge{Name: "quantx_db_backup_verify_ok",
		Help: "1 when the last backup verify found every object intact (size and sha256), 0 on a mismatch."}
	gaugeRestoreBytes = metrics.Gauge{Name: "quantx_db_restore_bytes",
		Help: "Backup bytes the last restore read.", Labels: []string{"kind", "database"}}
	gaugeRestoreVerified = metrics.Gauge{Name: "quantx_db_restore_verify_ok",
		Help: "1 when the last restore --verify found every table as the manifest recorded it, 0 on a difference.", Labels: []string{"kind", "database"}}
)

// metricsCatalogue is every figure above, for metrics.NewRun.
func metricsCatalogue() []metrics.Gauge {
	return []metrics.Gauge{gaugeMigrationsApplied, gaugeMigrationsPending, gaugeSchemaVersion,
		gaugePartitionsCreated, gaugePartitionsDropped, gaugeRowsMovedFromDefault, gaugeDefaultRows, gaugeMonthsAhead,
		gaugeRowsArchived, gaugeBytesArchived, gaugeBackupTimestamp, gaugeBackupSize, gaugeBackupsDeleted, gaugeBackupsKept,
		gaugeBackupVerified, gaugeRestoreBytes, gaugeRestoreVerified}
}

// runMetrics is how a command reports its figures: one method per library
// report, so that reporting is one line in the command. The figures are
// written only when --metrics-file or --metrics-push is set (recordRun).
type runMetrics struct{ *metrics.Run }

func newRunMetrics() *runMetrics { return &runMetrics{metrics.NewRun(metricsCatalogue()...)} }

// migrations reports a migrate up, down or goto run; a failed run reports
// what it applied before the failure.
func (m *runMetrics) migrations(rep migrations.Report, err error) {
	m.Set(gaugeMigrationsApplied, float64(len(rep.Applied)))
	if err == nil && rep.ToVersion >= 0 {
		m.Set(gaugeSchemaVersion, float64(rep.ToVersion))
	}
}

func (m *runMetrics) migrationStatus(st migrations.Status) {
	m.Set(gaugeMigrationsPending, float64(st.Pending))
	if st.CurrentVersion != nil {
		m.Set(gaugeSchemaVersion, float64(*st.CurrentVersion))
	}
}

func (m *runMetrics) partitionsEnsure(rep partitions.EnsureReport) {
	m.Set(gaugePartitionsCreated, float64(len(rep.Created)), rep.Table)
	m.Set(gaugeRowsMovedFromDefault, float64(rep.RowsMoved), rep.Table)
	m.Set(gaugeDefaultRows, float64(rep.DefaultRows), rep.Table)
	m.Set(gaugeMonthsAhead, float64(rep.HorizonMonths), rep.Table)
}

// retention reports what a real run did, table by table, also when it
// failed part way (rep then holds the tables done). A dry run did nothing.
func (m *runMetrics) retention(rep retention.Report) {
	if rep.DryRun {
		return
	}
	for _, t := range rep.Tables {
		switch t.Action {
		case retention.ActionDropPartitions:
			var dropped, rows, bytes int64
			for _, p := range t.Partitions {
				if p.Dropped {
					dropped++
				}
				if p.Archive != nil && p.Archive.Verified {
					rows += p.Archive.Rows
					bytes += p.Archive.Bytes
				}
			}
			m.Set(gaugePartitionsDropped, float64(dropped), t.Table)
			m.Set(gaugeRowsArchived, float64(rows), t.Table)
			m.Set(gaugeBytesArchived, float64(bytes), t.Table)
		case retention.ActionArchiveRows:
			m.Set(gaugeRowsArchived, float64(t.Rows), t.Table)
		}
	}
}

// backups reports the newest of the given backups for each kind and
// database (a new backup, or the whole catalogue of 'backup list').
func (m *runMetrics) backups(ms ...backup.Manifest) {
	newest := map[[2]string]backup.Manifest{}
	for _, b := range ms {
		k := [2]string{string(b.Kind), b.Database}
		if n, ok := newest[k]; !ok || b.FinishedAt.After(n.FinishedAt) {
			newest[k] = b
		}
	}
	for k, b := range newest {
		m.newestBackup(k[0], k[1], b.FinishedAt, b.StoredSize())
	}
}

// backupInfo reports the newest backup of each group of 'backup info'.
func (m *runMetrics) backupInfo(info backup.Info) {
	for _, g := range info.Groups {
		m.newestBackup(string(g.Kind), g.Database, g.Newest.FinishedAt, g.Newest.Bytes)
	}
}

// newestBackup sets the time and size of the newest backup of a kind and database.
func (m *runMetrics) newestBackup(kind, database string, finished time.Time, size int64) {
	m.Set(gaugeBackupTimestamp, float64(finished.UnixNano())/1e9, kind, database)
	m.Set(gaugeBackupSize, float64(size), kind, database)
}

func (m *runMetrics) prune(res backup.PruneResult) {
	if res.DryRun {
		return
	}
	kept := 0
	for _, dec := range res.Decisions {
		if dec.Keep {
			kept++
		}
	}
	m.Set(gaugeBackupsDeleted, float64(len(res.Deleted)))
	m.Set(gaugeBackupsKept, float64(kept))
}

func (m *runMetrics) verify(v backup.VerifyResult) { m.Set(gaugeBackupVerified, boolValue(v.OK)) }

func (m *runMetrics) restore(res backup.RestoreResult) {
	kind, db := string(res.Kind), res.Manifest.Database
	m.Set(gaugeRestoreBytes, float64(res.Bytes), kind, db)
	if res.Check != nil {
		m.Set(gaugeRestoreVerified, boolValue(res.Check.OK), kind, db)
	}
}

func (m *runMetrics) status(rep stack.Report) {
	if h := rep.Partitions; h != nil {
		m.Set(gaugeMonthsAhead, float64(h.HorizonMonths), h.Table)
		m.Set(gaugeDefaultRows, float64(h.DefaultRows), h.Table)
	}
	for _, b := range rep.Backups { // every database's, not only the configured one's
		m.newestBackup(b.Kind, b.Database, b.FinishedAt, b.Size)
	}
}

func boolValue(b bool) float64 {
	if b {
		return 1
	}
	return 0
}

// recordRun writes the run's series to --metrics-file and pushes them to
// --metrics-push, whatever the outcome of the command: success, failure, a
// usage error (also one found while parsing the flags), an interruption. A
// metrics problem is a warning on stderr; it never changes the exit code.
func (d *deps) recordRun(ctx context.Context, cmd *cobra.Command, args []string, code int, start time.Time) {
	if cmd == nil || !recordable(cmd) {
		return
	}
	file, push := d.metricsTargets(cmd, args)
	if file == "" && push == "" {
		return
	}
	if err := d.metrics.Finish(metricsCommand(cmd), resultOf(code), start, time.Now()); err != nil {
		d.warn("metrics: %v", err)
		if d.metrics.Families() == nil {
			return
		}
	}
	if file != "" {
		if err := d.metrics.WriteFile(ctx, file); err != nil {
			d.warn("metrics file not written: %v", err)
		}
	}
	if push != "" {
		if err := d.metrics.Push(ctx, push); err != nil {
			d.warn("metrics not pushed (the exit code is the command's): %v", err)
		}
	}
}

// recordable says whether a run is worth a series: a command, not help,
// shell completion, or the root alone (no command was named).
func recordable(cmd *cobra.Command) bool {
	if !cmd.HasParent() {
		return false
	}
	if h := cmd.Flags().Lookup("help"); h != nil && h.Changed {
		return false
	}
	for c := cmd; c.HasParent(); c = c.Parent() {
		if c.Hidden || c.Name() == "help" || c.Name() == "completion" {
			return false
		}
	}
	return true
}

// metricsCommand is the command label: the command path without the
// program name ("retention apply"). A dry run is labelled apart
// ("retention apply --dry-run"): it must not pass for the real run in an
// alert on the last success.
func metricsCommand(cmd *cobra.Command) string {
	path := strings.TrimPrefix(cmd.CommandPath(), cmd.Root().Name()+" ")
	if f := cmd.Flags().Lookup("dry-run"); f != nil && f.Value.String() == "true" {
		path += " --dry-run"
	}
	return path
}

// resultOf names an exit code.
func resultOf(code int) metrics.Result {
	switch code {
	case exitOK:
		return metrics.Success
	case exitUsage:
		return metrics.Usage
	case exitCheck:
		return metrics.Check
	case exitLocked:
		return metrics.Locked
	case exitInterrupted:
		return metrics.Interrupted
	}
	return metrics.Failure
}

// metricsTargets resolves --metrics-file and --metrics-push like every
// setting (flag > QUANTX_* variable > config file). When the flags could
// not be parsed (a mistyped flag), those two are read from the arguments
// with unknown flags allowed, so that a typo in a cron line is recorded as
// a usage error too. When the other settings are bad, these two still
// count.
func (d *deps) metricsTargets(cmd *cobra.Command, args []string) (file, push string) {
	fs := d.flags
	if !d.formatSet { // PersistentPreRunE did not run: an argument or flag error
		fs = tolerantFlags(args)
	}
	// Resolved again rather than taken from d.config(): 'testenv up' replaces
	// that with the settings of the stack it started.
	cfg, err := config.Resolve(fs, d.getenv)
	d.redactor.Add(cfg.Secrets()...)
	if err == nil {
		return cfg.MetricsFile, cfg.MetricsPush.Reveal()
	}
	// cfg holds what was read before the error: the file's and the
	// environment's values, below the flags in precedence.
	file, push = cfg.MetricsFile, cfg.MetricsPush.Reveal()
	if v, ok := config.Lookup(fs, d.getenv, "metrics-file"); ok {
		file = v
	}
	if v, ok := config.Lookup(fs, d.getenv, "metrics-push"); ok {
		push = v
	}
	d.redactor.Add(config.ConnectionSecrets(push)...)
	return file, push
}

// tolerantFlags parses the global settings flags out of args, skipping
// every other flag and word.
func tolerantFlags(args []string) *pflag.FlagSet {
	fs := pflag.NewFlagSet("settings", pflag.ContinueOnError)
	fs.SetOutput(io.Discard)
	fs.ParseErrorsAllowlist.UnknownFlags = true
	config.AddFlags(fs)
	_ = fs.Parse(args) // what parsed before an error is kept
	return fs
}

// warn prints a warning on stderr, redacted like every line.
func (d *deps) warn(format string, args ...any) {
	fmt.Fprintf(d.streams.Err, "quantx-db: warning: %s\n", oneLine(fmt.Sprintf(format, args...)))
}
