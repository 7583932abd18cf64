package main

import (
	"fmt"
	"strings"

	"github.com/spf13/cobra"

	"github.com/quantx/quantx-db/backup"
	"github.com/quantx/quantx-db/internal/output"
)

func newBackupPruneCmd(d *deps) *cobra.Command {
	var (
		cf     catalogueFlags
		p      backup.Policy
		dryRun bool
	)
	cmd := &cobra.Command{
		Use:   "prune [--keep-last N] [--keep-daily N] [--keep-weekly N] [--dry-run]",
		Short: "Delete backups outside the retention policy, and what killed runs left behind",
		Long: `Per kind and database, a backup is kept when any rule keeps it: the N newest
(--keep-last), the newest of each of the N newest days (--keep-daily, UTC), the
newest of each of the N newest ISO weeks (--keep-weekly). The newest backup is
always kept. Physical backup sets (when 'wal setup' configured them here) follow
the same rules, plus every set a kept diff or incr depends on; they are expired
with pgbackrest expire, then the archived WAL older than the oldest kept full
backup (the recovery window then starts there). prune also aborts incomplete
multipart uploads (of backups and of retention archives) and removes backup
folders without a manifest once idle for --stale-after (what a killed run leaves).
Deleting asks for confirmation (--yes off a terminal); --dry-run only shows.`,
		Example: `  quantx-db backup prune --keep-last 7 --keep-weekly 8 --dry-run
  quantx-db backup prune --keep-daily 14 --keep-weekly 8 --yes`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx := cmd.Context()
			if p.KeepLast <= 0 && p.KeepDaily <= 0 && p.KeepWeekly <= 0 {
				return usagef("give at least one of --keep-last, --keep-daily, --keep-weekly", "no retention policy")
			}
			cat, _, err := d.openCatalogue(ctx, &cf)
			if err != nil {
				return err
			}
			plan, err := cat.Prune(ctx, p, true)
			if err != nil {
				return err
			}
			// Physical backup sets follow the same rules, through pgbackrest expire.
			phys, cfg, err := d.physical("")
			if err != nil {
				return err
			}
			withPhysical := physicalConfigured(cfg)
			if withPhysical {
				pp, err := phys.Prune(ctx, p, true)
				if err != nil {
					return within(scopePhysical, err)
				}
				plan.Physical = &pp
			}
			if dryRun {
				return d.render(plan, func() output.Table { return pruneTable(plan) })
			}
			nPhys := 0
			if plan.Physical != nil {
				nPhys = len(plan.Physical.Deleted)
			}
			if n := len(plan.Deleted) + len(plan.Orphans) + nPhys; n > 0 && !d.confirm(ctx, fmt.Sprintf("delete %d backup(s), %d physical backup(s) and %d orphan folder(s)?", len(plan.Deleted), nPhys, len(plan.Orphans))) {
				if err := d.render(plan, func() output.Table { return pruneTable(plan) }); err != nil {
					return err
				}
				return usagef("re-run with --yes, or use --dry-run", "refused to delete %d backup(s) without confirmation", len(plan.Deleted)+nPhys)
			}
			if nPhys > 0 { // before deleting anything: pgbackrest expire as root leaves root-owned files
				if err := backup.RefuseRoot(); err != nil {
					return within(scopePhysical, err)
				}
			}
			res, err := cat.Prune(ctx, p, false)
			if err != nil {
				return err
			}
			if withPhysical && nPhys > 0 {
				pp, err := phys.Prune(ctx, p, false)
				res.Physical = &pp
				if err != nil {
					_ = d.render(res, func() output.Table { return pruneTable(res) })
					return within(scopePhysical, err)
				}
			} else {
				res.Physical = plan.Physical
				if res.Physical != nil {
					res.Physical.DryRun = false
				}
			}
			d.metrics.prune(res)
			return d.render(res, func() output.Table { return pruneTable(res) })
		},
	}
	cf.addStale(cmd)
	cmd.Flags().IntVar(&p.KeepLast, "keep-last", 0, "keep the `N` newest backups")
	cmd.Flags().IntVar(&p.KeepDaily, "keep-daily", 0, "keep the newest backup of each of the `N` newest days")
	cmd.Flags().IntVar(&p.KeepWeekly, "keep-weekly", 0, "keep the newest backup of each of the `N` newest ISO weeks")
	cmd.Flags().BoolVar(&dryRun, "dry-run", false, "show what would be deleted; change nothing")
	yesFlag(cmd, d)
	return cmd
}

func pruneTable(r backup.PruneResult) output.Table {
	t := output.Table{Header: []string{"ID", "KIND", "DATABASE", "ACTION", "WHY"}}
	verb := "delete"
	if !r.DryRun {
		verb = "deleted"
	}
	for _, d := range r.Decisions {
		action, why := verb, "-"
		if d.Keep {
			action, why = "keep", strings.Join(d.Reasons, ", ")
		}
		t.Rows = append(t.Rows, []string{d.ID, string(d.Kind), d.Database, action, why})
	}
	if r.Physical != nil {
		for _, d := range r.Physical.Decisions {
			action, why := verb, "-"
			if d.Keep {
				action, why = "keep", strings.Join(d.Reasons, ", ")
			}
			t.Rows = append(t.Rows, []string{d.ID, string(d.Kind), d.Database, action, why})
		}
		if r.Physical.ArchiveExpired {
			t.Notes = append(t.Notes, "archived WAL older than the oldest kept physical backup expired")
		}
	}
	for _, o := range r.Orphans {
		t.Rows = append(t.Rows, []string{o, "-", "-", verb, "no manifest (killed or failed run)"})
	}
	if len(r.Aborted) > 0 {
		if r.DryRun {
			t.Notes = append(t.Notes, fmt.Sprintf("%d incomplete upload(s) present; those idle for --stale-after will be aborted", len(r.Aborted)))
		} else {
			t.Notes = append(t.Notes, fmt.Sprintf("%d incomplete upload(s) aborted", len(r.Aborted)))
		}
	}
	return t
}
