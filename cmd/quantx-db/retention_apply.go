package main

import (
	"fmt"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/quantx/quantx-db/backup"
	"github.com/quantx/quantx-db/internal/output"
	"github.com/quantx/quantx-db/internal/report"
	"github.com/quantx/quantx-db/internal/s3store"
	"github.com/quantx/quantx-db/retention"
)

func newRetentionApplyCmd(d *deps, f *maintenanceFlags) *cobra.Command {
	var path string
	var dryRun, noArchive bool
	var staleAfter time.Duration
	cmd := &cobra.Command{
		Use:   "apply",
		Short: "Archive and drop expired data according to the retention policy",
		Long: `Applies the retention policy table by table. Expired activity_logs months are
detached, archived to S3 and confirmed there (size and sha256 read back), then
dropped; a month is never dropped without a confirmed archive unless
--no-archive says so. Orders are flagged archived in short batches.

--dry-run prints what would happen, with row and partition counts, and changes
nothing. It checks what the real run needs and fails as it would: exit 2 when
archiving is on and no S3 bucket is configured, exit 1 when the bucket cannot
be reached or the role may not do the work (own activity_logs, UPDATE orders).
Without a terminal, a real run needs --yes.

Before archiving, incomplete multipart uploads idle for --stale-after (left by
a run killed mid-archive, or by a bucket that died under it) are aborted, under
archive/ and backups/ alike.`,
		Example: `  quantx-db retention apply --dry-run
  quantx-db retention apply --yes -o json`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx := cmd.Context()
			p, err := loadPolicy(path)
			if err != nil {
				return err
			}
			archive := p.Postgres.ActivityLogs != nil && p.Postgres.ActivityLogs.Archives() && !noArchive
			// A dry run checks what the real run needs, and fails as it would: the bucket (configured,
			// reachable) when archiving, and the role's privileges (CheckPrivileges below).
			var store *s3store.Store
			if archive {
				if store, err = d.openS3(ctx, "activity_logs retention archives partitions to S3", "pass --no-archive to drop without a copy"); err != nil {
					return err
				}
			}
			pool, err := d.openPool(ctx)
			if err != nil {
				return err
			}
			defer pool.Close()
			opts := retention.Options{Partitions: d.partitionOptions(f), Store: store, NoArchive: noArchive, DryRun: dryRun, Logger: d.logger, Progress: d.progress(),
				StaleAfter: staleAfter, StalePrefixes: []string{backup.BackupsPrefix}, CheckPrivileges: true}
			if staleAfter == 0 {
				opts.StaleAfter = -1 // the flag's 0 means "now": everything idle is stale
			}
			if !dryRun && !d.confirm(ctx, "archive and drop the expired data listed by --dry-run?") {
				opts.DryRun = true
				plan, err := retention.New(pool, p, opts).Apply(ctx)
				if err != nil {
					if len(plan.Tables) > 0 {
						_ = d.render(plan, func() output.Table { return retentionTable(plan) })
					}
					return err
				}
				if err := d.render(plan, func() output.Table { return retentionTable(plan) }); err != nil {
					return err
				}
				return usagef("re-run with --yes (cron: 'quantx-db retention apply --yes')", "refused to drop or archive data without confirmation: the plan above was not applied")
			}
			rep, err := retention.New(pool, p, opts).Apply(ctx)
			d.metrics.retention(rep)
			if err != nil {
				if len(rep.Tables) > 0 {
					_ = d.render(rep, func() output.Table { return retentionTable(rep) })
				}
				return err
			}
			return d.render(rep, func() output.Table { return retentionTable(rep) })
		},
	}
	policyFlag(cmd, &path)
	cmd.Flags().BoolVar(&dryRun, "dry-run", false, "print what would be archived and dropped; change nothing")
	cmd.Flags().BoolVar(&noArchive, "no-archive", false, "drop expired partitions WITHOUT archiving them to S3")
	cmd.Flags().DurationVar(&staleAfter, "stale-after", 15*time.Minute,
		"abort incomplete uploads (under archive/ and backups/) idle for this long (a live upload is never idle that long)")
	yesFlag(cmd, d)
	return cmd
}

func retentionTable(rep retention.Report) output.Table {
	t := output.Table{Header: []string{"TABLE", "ITEM", "ROWS", "RESULT"}}
	due := report.SeverityOK // done, or in a dry run: would be done
	if rep.DryRun {
		due = report.SeverityAction
	}
	for _, tr := range rep.Tables {
		switch tr.Action {
		case retention.ActionDropPartitions:
			for _, p := range tr.Partitions {
				rows := fmt.Sprint(p.Rows)
				if !p.RowsExact {
					rows = "~" + rows
				}
				t.Row(due, tr.Table, p.Partition, rows, partitionResult(rep.DryRun, p))
			}
			if len(tr.Partitions) == 0 {
				t.Row(report.SeverityOK, tr.Table, "-", "0", fmt.Sprintf("nothing older than %s (keep %s)", tr.Cutoff.Format("2006-01-02"), tr.Keep))
			}
		case retention.ActionArchiveRows:
			verb := "archived = true"
			if rep.DryRun {
				verb = "would set archived = true"
			}
			sev := due
			if tr.Rows == 0 {
				sev = report.SeverityOK
			}
			t.Row(sev, tr.Table, "created before "+tr.Cutoff.Format("2006-01-02"), fmt.Sprint(tr.Rows),
				fmt.Sprintf("%s in %d batch(es)", verb, tr.Batches))
		}
		for _, w := range tr.Warnings {
			t.Notes = append(t.Notes, "warning: "+tr.Table+": "+w)
		}
		if tr.DefaultExpiredRows > 0 {
			t.Notes = append(t.Notes, "hint: "+hintDefaultRows)
		}
	}
	if len(rep.AbortedUploads) > 0 {
		t.Notes = append(t.Notes, fmt.Sprintf("aborted %d stale incomplete upload(s) left by earlier runs", len(rep.AbortedUploads)))
	}
	if rep.DryRun {
		t.Notes = append(t.Notes, "dry run: nothing was changed (checked: the role's privileges for this work, and the archive bucket when archiving)")
	}
	return t
}

func partitionResult(dry bool, p retention.PartitionReport) string {
	if dry {
		return "would be archived, detached and dropped"
	}
	var parts []string
	if p.Archive != nil {
		parts = append(parts, fmt.Sprintf("archived to %s (%s, sha256 %s…)", p.Archive.Key, output.Bytes(p.Archive.Bytes), p.Archive.SHA256[:12]))
	}
	if p.Detach != "" {
		parts = append(parts, "detached ("+p.Detach+")")
	}
	if p.Dropped {
		parts = append(parts, "dropped")
	} else {
		parts = append(parts, "kept")
	}
	return strings.Join(parts, ", ")
}
