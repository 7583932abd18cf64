package main

import (
	"errors"
	"fmt"

	"github.com/spf13/cobra"

	"github.com/quantx/quantx-db/backup"
	"github.com/quantx/quantx-db/internal/output"
	"github.com/quantx/quantx-db/internal/report"
)

func newRestorePostgresCmd(d *deps) *cobra.Command {
	var (
		o                        backup.PostgresRestore
		target, identity, binDir string
		lf                       latestFlags
	)
	cmd := &cobra.Command{
		Use:   "postgres ID|latest --target-database-url URL [--jobs N] [--verify] [--yes]",
		Short: "Restore a PostgreSQL backup into an existing (empty) database",
		Long: `Serial restore (the default) streams the object from S3 into pg_restore's
stdin: no local disk needed. --jobs N > 1 runs pg_restore -j N, which needs a
seekable file: the object is first downloaded to a temporary file (--temp-dir,
needs free space for the whole dump).

The target database must exist. A target with tables (outside the system
schemas) is refused unless you confirm (--yes): objects in the dump are then
dropped and recreated (pg_restore --clean --if-exists). --verify compares the
restored row counts (and checksums, if the backup recorded them) with the
manifest and exits 3 on a difference; the outcome is recorded as the backup's
last verification (shown by 'backup info').

ID latest is the newest backup of --database (default: the database of
--database-url) whose last recorded verification did not fail; passed-over
backups are named in a warning. No such backup exits 1.

--dry-run restores nothing: it checks the backup (manifest, object size, that
--identity opens an encrypted one), the target (reachable, empty unless --yes),
pg_restore of the target's major version and, with --jobs, the free space for
the spool file, and exits with the code the restore would exit with.`,
		Example: `  createdb -h db2 quantx_check
  quantx-db restore postgres 20261126T174500Z-postgres-quantx-k3j9x2 \
      --target-database-url postgres://postgres@db2/quantx_check --verify
  quantx-db restore postgres ID --target-database-url URL --jobs 4 --identity ~/.config/quantx/backup.key
  quantx-db restore postgres ID --target-database-url URL --jobs 4 --dry-run
  quantx-db restore postgres latest --database quantx --target-database-url postgres://postgres@db2/quantx_check --verify`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx := cmd.Context()
			if target == "" {
				return usagef("name the database to restore into with --target-database-url", "no target database")
			}
			if o.Jobs < 1 {
				return usagef("--jobs is 1 (streamed) or more (spooled to a temp file)", "--jobs %d", o.Jobs)
			}
			o.TargetURL, o.Tools.BinDir = target, binDir
			var err error
			if o.Identities, err = identities(identity); err != nil {
				return err
			}
			cat, _, err := d.openCatalogue(ctx, nil)
			if err != nil {
				return err
			}
			id, err := d.backupID(ctx, cat, args[0], backup.KindPostgres, &lf, true)
			if err != nil {
				return err
			}
			res, err := cat.RestorePostgres(ctx, id, o)
			if errors.Is(err, backup.ErrTargetNotEmpty) {
				if o.DryRun && !d.assumeYes {
					return usagef("restore into an empty database, or re-run with --yes to restore over it (pg_restore --clean --if-exists)",
						"dry run: the restore would be refused: %v", err)
				}
				if !d.confirm(ctx, fmt.Sprintf("%v; drop and recreate the objects of the dump in it?", err)) {
					return usagef("restore into an empty database, or re-run with --yes to restore over it (pg_restore --clean --if-exists)",
						"refused: %v", err)
				}
				o.AllowNonEmpty = true
				res, err = cat.RestorePostgres(ctx, id, o)
			}
			if err != nil {
				return err
			}
			if err := d.restored(res); err != nil {
				return err
			}
			if res.Check != nil && !res.Check.OK {
				return checkFailed("restored database differs from the manifest of "+res.ID, "see the tables marked DIFFERS")
			}
			return nil
		},
	}
	cmd.Flags().StringVar(&target, "target-database-url", "", "`URL` of the database to restore into (must exist)")
	cmd.Flags().IntVar(&o.Jobs, "jobs", 1, "pg_restore -j `N`; above 1 the dump is first downloaded to a temp file (pg_restore -j cannot read a pipe)")
	cmd.Flags().StringVar(&o.TempDir, "temp-dir", "", "`DIR` for the --jobs spool file (default: $TMPDIR)")
	cmd.Flags().BoolVar(&o.DryRun, "dry-run", false, "check that the restore can run (backup, target, pg_restore, temp space); restore nothing")
	cmd.Flags().BoolVar(&o.Verify, "verify", false, "compare row counts (and checksums when recorded) with the manifest; exit 3 on a difference")
	cmd.Flags().BoolVar(&o.NoOwner, "no-owner", false, "restore as the connecting role (pg_restore --no-owner --no-privileges)")
	identityFlag(cmd, &identity)
	cmd.Flags().StringVar(&binDir, "pg-bindir", "", "`DIR` holding pg_restore of the target server's major version")
	lf.add(cmd, false)
	yesFlag(cmd, d)
	return cmd
}

func restoreTable(r backup.RestoreResult) output.Table {
	t := output.Table{}
	if r.DryRun {
		over := ""
		if r.Cleaned {
			over = ", over its existing objects (pg_restore --clean --if-exists)"
		}
		t.Notes = append(t.Notes, fmt.Sprintf("dry run: would restore %s (%s, %s) into %s with %d job(s)%s; nothing was restored", r.ID, r.Kind, output.Bytes(r.Bytes), r.Target, r.Jobs, over))
		for _, c := range r.Checked {
			t.Notes = append(t.Notes, "checked: "+c)
		}
		return t
	}
	t.Notes = append(t.Notes, fmt.Sprintf("restored %s (%s) into %s: %s read", r.ID, r.Kind, r.Target, output.Bytes(r.Bytes)))
	if r.Check != nil {
		t.Header = []string{"TABLE", "EXPECTED ROWS", "ROWS", "RESULT"}
		for _, c := range r.Check.Tables {
			res, sev := "ok", report.SeverityOK
			if !c.OK {
				res, sev = "DIFFERS", report.SeverityAction
			}
			rows := fmtInt(c.ActualRows)
			if c.ActualRows < 0 {
				rows = "missing"
			}
			t.Row(sev, c.Table, fmtInt(c.ExpectedRows), rows, res)
		}
	}
	return t
}
