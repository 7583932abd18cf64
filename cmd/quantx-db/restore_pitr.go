package main

import (
	"fmt"
	"strconv"
	"time"

	"github.com/spf13/cobra"

	"github.com/quantx/quantx-db/backup"
	"github.com/quantx/quantx-db/internal/output"
	"github.com/quantx/quantx-db/migrations"
)

func newRestorePITRCmd(d *deps) *cobra.Command {
	var (
		o                  backup.PITROptions
		targetTime, binDir string
	)
	cmd := &cobra.Command{
		Use:   "pitr --pgdata NEWDIR (--target-time RFC3339 | --latest) [--start --port N] [--verify]",
		Short: "Restore the cluster to a point in time from the physical backups and archived WAL",
		Long: `Restores the cluster with pgBackRest into NEWDIR, which must be missing or
empty (a non-empty one is refused, nothing is touched), as the user who will
own it (never root). --target-time stops just after the last transaction
committed at or before that time and promotes; --latest replays every archived
WAL segment. The target is checked first: outside the recovery window (before
the oldest backup, or after the last archived commit) it exits 1 naming the
window, in seconds, before copying anything.

--start starts the restored server on --port (socket folder --socket-dir, else
the one in its configuration) and waits until recovery has finished; its log
is NEWDIR/quantx-restore.log. --verify (with --start) then checks the last
replayed commit is not after the target and recovery is over, reads every
table of every database (row counts in the report) and checks the migration
version; a problem exits 3.

The restored copy never archives into the source's repository (archive_mode
is turned off in it): its new timeline would confuse later restores of the
source. --keep-archiving keeps the source's archive settings instead, for a
copy that replaces the source.`,
		Example: `  sudo -u postgres quantx-db restore pitr --pgdata /srv/pg-restored \
      --target-time 2026-11-30T16:59:00Z --start --port 5433 --verify
  sudo -u postgres quantx-db restore pitr --pgdata /srv/pg-latest --latest -o json`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if o.PGData == "" {
				return usagef("name the directory to restore into: --pgdata NEWDIR", "no target directory")
			}
			switch {
			case targetTime == "" && !o.Latest:
				return usagef("give --target-time RFC3339 (e.g. 2026-11-30T16:59:00Z) or --latest", "no recovery target")
			case targetTime != "" && o.Latest:
				return usagef("give either --target-time or --latest", "--target-time and --latest both given")
			case targetTime != "":
				t, err := time.Parse(time.RFC3339Nano, targetTime)
				if err != nil {
					return usagef("times are RFC 3339, e.g. 2026-11-30T16:59:00Z or 2026-11-30T17:59:00+01:00", "--target-time %q is not an RFC 3339 time", targetTime)
				}
				o.Target = t
			}
			if o.Start && (o.Port <= 0 || o.Port > 65535) {
				return usagef("--start needs a free --port N for the restored server", "--port %d", o.Port)
			}
			if o.Verify && !o.Start {
				return usagef("--verify reads the restored server: add --start --port N", "--verify without --start")
			}
			if err := backup.RefuseRoot(); err != nil {
				return within(scopePhysical, err)
			}
			p, cfg, err := d.physical(binDir)
			if err != nil {
				return err
			}
			if err := needPgBackRestConfig(cfg); err != nil {
				return err
			}
			if o.Verify {
				ms, err := migrations.Load(migrations.Files())
				if err != nil {
					return err
				}
				for _, m := range ms {
					o.KnownMigrations = append(o.KnownMigrations, int64(m.Version))
				}
			}
			res, err := p.RestorePITR(cmd.Context(), o)
			if err != nil {
				return within(scopePhysical, err)
			}
			if err := d.render(res, func() output.Table { return pitrTable(res) }); err != nil {
				return err
			}
			if res.Verify != nil && !res.Verify.OK {
				return checkFailed("restored cluster failed verification: "+res.Verify.Problems[0].Error(),
					"the restored server keeps running on port "+strconv.Itoa(res.Port)+" for inspection")
			}
			return nil
		},
	}
	cmd.Flags().StringVar(&o.PGData, "pgdata", "", "`NEWDIR` to restore into: missing or empty")
	cmd.Flags().StringVar(&targetTime, "target-time", "", "stop at this RFC 3339 `time` (everything committed at or before it)")
	cmd.Flags().BoolVar(&o.Latest, "latest", false, "replay every archived WAL segment")
	cmd.Flags().BoolVar(&o.Start, "start", false, "start the restored server and wait until recovery has finished")
	cmd.Flags().IntVar(&o.Port, "port", 0, "`port` of the restored server (with --start)")
	cmd.Flags().StringVar(&o.SocketDir, "socket-dir", "", "Unix-socket `DIR` of the restored server (with --start)")
	cmd.Flags().BoolVar(&o.Verify, "verify", false, "check the target was reached, read every table, check the migration version (exit 3 on a problem)")
	cmd.Flags().BoolVar(&o.KeepArchiving, "keep-archiving", false, "let the restored copy archive into the source's repository (a replacement, not a copy)")
	cmd.Flags().StringVar(&binDir, "pg-bindir", "", "`DIR` of the server's binaries (pg_ctl, pg_waldump) of the backup's major version")
	return cmd
}

func pitrTable(r backup.PITRResult) output.Table {
	t := output.Table{}
	target := "latest (every archived WAL segment)"
	if r.TargetTime != nil {
		target = output.Time(*r.TargetTime)
	}
	t.Notes = append(t.Notes,
		fmt.Sprintf("restored backup %s of stanza %s into %s in %s, target %s", r.Backup, r.Stanza, r.PGData,
			(time.Duration(r.RestoreMS)*time.Millisecond).String(), target),
		"recovery window "+r.Window.String(),
		"archiving on the restored copy: "+r.Archiving)
	if r.Started {
		t.Notes = append(t.Notes, fmt.Sprintf("server started on port %d (socket %s), recovery finished in %s; log %s",
			r.Port, r.SocketDir, (time.Duration(r.RecoveryMS)*time.Millisecond).String(), r.LogFile))
	}
	if v := r.Verify; v != nil {
		t.Header = []string{"DATABASE", "TABLE", "ROWS"}
		for _, db := range v.Databases {
			for _, tr := range db.Tables {
				t.Rows = append(t.Rows, []string{db.Name, tr.Table, fmtInt(tr.Rows)})
			}
			if db.MigrationVersion != nil {
				mig := fmt.Sprintf("migration version %d", *db.MigrationVersion)
				if db.MigrationDirty {
					mig += " (dirty)"
				}
				t.Notes = append(t.Notes, "database "+db.Name+": "+mig)
			}
		}
		last := "none"
		if v.LastReplayed != nil {
			last = v.LastReplayed.Format(time.RFC3339Nano)
		}
		t.Notes = append(t.Notes, fmt.Sprintf("verify: recovery finished %t, last replayed commit %s", v.RecoveryFinished, last))
		for _, p := range v.Problems {
			t.Notes = append(t.Notes, "problem: "+p.Error())
		}
		if v.OK {
			t.Notes = append(t.Notes, "verify: ok")
		}
	}
	return t
}
