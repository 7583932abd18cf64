package main

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/jackc/pgx/v5/pgconn"
	"github.com/spf13/cobra"

	"github.com/quantx/quantx-db/backup"
	"github.com/quantx/quantx-db/influx"
)

// latestID is the backup ID argument that stands for the newest valid backup.
const latestID = "latest"

// latestFlags select the backup "latest" stands for: --database (and, for backup verify, --kind).
type latestFlags struct {
	cmd      *cobra.Command
	kind     string
	database string
}

// add adds --database, and --kind when the command's kind is not fixed (backup verify).
func (f *latestFlags) add(cmd *cobra.Command, withKind bool) {
	f.cmd = cmd
	if withKind {
		cmd.Flags().StringVar(&f.kind, "kind", string(backup.KindPostgres), "with ID latest: the `KIND` of backup (postgres or influx)")
	}
	cmd.Flags().StringVar(&f.database, "database", "",
		"with ID latest: the `DATABASE` whose newest backup is meant (default: postgres, the database of --database-url; influx, quantx_db)")
}

// logicalKind parses the --kind of a command that takes logical backups only.
func (f *latestFlags) logicalKind() (backup.Kind, error) {
	k, err := parseKindFlag(f.kind)
	if err != nil {
		return "", err
	}
	if k == backup.KindPhysical {
		return "", usagef("use --kind postgres or influx; physical sets are pgBackRest's ('quantx-db backup list --kind physical')",
			"--kind physical: this command takes logical backups only")
	}
	return k, nil
}

// parseKindFlag parses a --kind value ("" means any kind).
func parseKindFlag(s string) (backup.Kind, error) {
	if s == "" {
		return "", nil
	}
	k, err := backup.ParseKind(s)
	if err != nil {
		return "", usageErr(fmt.Errorf("--kind: %w", err), "")
	}
	return k, nil
}

// backupID resolves the backup ID argument of verify and restore: an ID is returned as given;
// "latest" is the newest backup of kind and of the database of --database (default: the configured
// one, configuredDatabase). Restores pass skipFailed: a backup whose last recorded verification
// failed is passed over, with a warning.
//
// Exit codes: a database that cannot be determined, or --kind/--database with an explicit ID, is a
// usage error (2); no such backup is a failure (1), as for any state of the bucket a cron job must
// report: 'backup verify latest' after a dead backup job fails like the job.
func (d *deps) backupID(ctx context.Context, cat *backup.Catalogue, arg string, kind backup.Kind, f *latestFlags, skipFailed bool) (string, error) {
	if arg != latestID {
		for _, name := range []string{"kind", "database"} {
			if fl := f.cmd.Flags().Lookup(name); fl != nil && fl.Changed {
				return "", usagef("pass either a backup ID, or latest with --"+name, "--%s selects the backup that 'latest' stands for; %s names one already", name, arg)
			}
		}
		return arg, nil
	}
	database := f.database
	if database == "" {
		var err error
		if database, err = d.configuredDatabase(kind, ""); err != nil {
			return "", err
		}
	}
	if database == "" {
		ms, err := cat.List(ctx)
		if err != nil {
			return "", err
		}
		hint := "pass --database NAME, or set --database-url"
		if dbs := backup.Databases(ms, kind); len(dbs) > 0 {
			hint += fmt.Sprintf(" (%s backups exist for %s)", kind, strings.Join(dbs, ", "))
		}
		return "", usagef(hint, "latest: no database named: which database's newest %s backup?", kind)
	}
	m, err := cat.Latest(ctx, backup.LatestOptions{Kind: kind, Database: database, SkipFailed: skipFailed})
	if nb, ok := errors.AsType[*backup.NoBackupError](err); ok {
		var hint string
		switch {
		case len(nb.Failed) > 0:
			hint = fmt.Sprintf("name an older backup by its ID ('quantx-db backup list --kind %s --database %s'); 'quantx-db backup info' shows the verifications", kind, database)
		case len(nb.Others) > 0:
			hint = "if " + database + " is the database you meant, its backup job has not run: check it; otherwise pass --database with one of those"
		case kind == backup.KindInflux:
			hint = "take one with 'quantx-db backup influx --database " + database + "'"
		default:
			hint = "take one with 'quantx-db backup " + string(kind) + "'"
		}
		return "", failure(err, hint)
	}
	if err != nil {
		return "", err
	}
	d.logger.InfoContext(ctx, "latest backup", "backup", m.ID, "kind", kind, "database", database)
	return m.ID, nil
}

// configuredDatabase is the database whose backups a kind's commands mean by default: for
// postgres the database of --database-url ("" when none is set), for influx the one given (status's
// --influx-database) or quantx_db, the database 'influx setup' creates and 'backup influx' backs up.
func (d *deps) configuredDatabase(kind backup.Kind, influxDatabase string) (string, error) {
	switch kind {
	case backup.KindInflux:
		if influxDatabase != "" {
			return influxDatabase, nil
		}
		return influx.DefaultDatabase, nil
	case backup.KindPostgres:
		cfg, err := d.config()
		if err != nil || cfg.DatabaseURL == "" {
			return "", err
		}
		pc, err := pgconn.ParseConfig(cfg.DatabaseURL.Reveal())
		if err != nil {
			return "", usageErr(err, "check --database-url (QUANTX_DATABASE_URL)")
		}
		if pc.Database == "" { // the server's default: the user's name, as pg_dump would connect
			return pc.User, nil
		}
		return pc.Database, nil
	}
	return "", nil
}

// backupDatabases is status's BackupDatabases: the configured database of each logical kind.
func (d *deps) backupDatabases(influxDatabase string) map[string]string {
	out := map[string]string{}
	for _, k := range []backup.Kind{backup.KindPostgres, backup.KindInflux} {
		if db, err := d.configuredDatabase(k, influxDatabase); err == nil {
			out[string(k)] = db
		}
	}
	return out
}
