package main

import (
	"crypto/tls"
	"errors"
	"fmt"
	"io/fs"
	"slices"
	"strings"

	"github.com/jackc/pgx/v5/pgconn"

	"github.com/quantx/quantx-db/backup"
	"github.com/quantx/quantx-db/elastic"
	"github.com/quantx/quantx-db/influx"
	"github.com/quantx/quantx-db/internal/influxclient"
	"github.com/quantx/quantx-db/internal/pglock"
	"github.com/quantx/quantx-db/internal/s3store"
	"github.com/quantx/quantx-db/migrations"
	"github.com/quantx/quantx-db/partitions"
	"github.com/quantx/quantx-db/retention"
	"github.com/quantx/quantx-db/roles"
	"github.com/quantx/quantx-db/stack"
)

// This file is the one place where the libraries' facts become words for
// people: explain gives every sentinel and typed error its exit code and
// hint, and fix gives every finding of status and doctor the step that
// clears it. The libraries never name a flag or a command; commands return
// the libraries' errors as they are. Every hint names a command or step that
// works in that situation.

// Hints used in more than one place.
const (
	hintDefaultRows = "run 'quantx-db partitions ensure' (with --months-back N for past months) to move them into monthly partitions"
	hintS3Connect   = "check --s3-endpoint, the keys and that --s3-bucket exists"
)

// scope marks the errors of commands whose generic failures need a hint of
// their own: a permission error of a physical-backup command is about the
// data directory's owner; a privilege error of 'roles ensure' asks for an
// admin role, not for the schema owner.
type scope string

const (
	scopeRoles    scope = "roles"
	scopePhysical scope = "physical"
)

type scopedError struct {
	scope scope
	err   error
}

func (e *scopedError) Error() string { return e.err.Error() }
func (e *scopedError) Unwrap() error { return e.err }

// within marks err as coming from a command of scope s (nil stays nil).
func within(s scope, err error) error {
	if err == nil {
		return nil
	}
	return &scopedError{scope: s, err: err}
}

func inScope(err error, s scope) bool {
	se, ok := errors.AsType[*scopedError](err)
	return ok && se.scope == s
}

// explain gives a library error its exit code and hint; ok is false when
// it knows nothing about err (exit 1, no hint).
func explain(err error) (code int, hint string, ok bool) {
	pgErr, isPG := errors.AsType[*pgconn.PgError](err)
	esErr, isES := errors.AsType[*elastic.ServerError](err)
	he, isHeld := errors.AsType[*pglock.HeldError](err)
	se, isStep := errors.AsType[*migrations.StepError](err)
	de, isDirty := errors.AsType[*migrations.DirtyError](err)
	_, isUntrusted := errors.AsType[*tls.CertificateVerificationError](err)
	_, isConnect := errors.AsType[*pgconn.ConnectError](err)
	switch {
	// Every lock of migrations, partitions and retention (internal/pglock).
	case isHeld:
		return exitLocked, "another quantx-db holds the " + he.Lock + "; retry when it is done, or raise --lock-wait", true
	case errors.Is(err, pglock.ErrLockTimeout):
		return exitLocked, "a long transaction holds a lock this work needs (see pg_stat_activity and pg_locks); retry when it has ended", true

	// Migrations.
	case errors.Is(err, migrations.ErrStandby):
		return exitFailure, "", true // the message says what to do
	case errors.Is(err, migrations.ErrDatabaseNewer):
		return exitFailure, "use the quantx-db release that migrated this database", true
	case isStep:
		return exitFailure, stepHint(se), true
	case isDirty:
		return exitFailure, dirtyHint(de.Interruption, true), true
	case errors.Is(err, migrations.ErrHasVersion):
		return exitFailure, "see 'quantx-db migrate status'; 'quantx-db migrate force VERSION' sets a version without running anything", true
	case errors.Is(err, migrations.ErrUnknownVersion):
		return exitUsage, "see 'quantx-db migrate status' for the known versions", true

	// Partitions and retention.
	case errors.Is(err, partitions.ErrDrift):
		return exitFailure, "inspect the table with 'quantx-db partitions list' and fix it by hand", true
	case errors.Is(err, partitions.ErrWouldFail):
		return exitFailure, "run maintenance as the owner of the tables (see 'quantx-db doctor'; 'quantx-db roles ensure' sets the owner role up)", true
	case errors.Is(err, retention.ErrArchiveNotConfirmed):
		return exitFailure, "the partition was kept; check the bucket and re-run", true
	case errors.Is(err, retention.ErrNoArchiveStore):
		return exitUsage, "configure S3 (--s3-endpoint, --s3-bucket) or pass --no-archive", true

	// Roles.
	case errors.Is(err, roles.ErrInvalidName):
		return exitUsage, "choose three distinct role names with --owner-role, --app-role and --readonly-role", true
	case errors.Is(err, roles.ErrSuperuser):
		return exitFailure, "pick another name with --owner-role, --app-role or --readonly-role", true
	case errors.Is(err, roles.ErrNotAdmin), inScope(err, scopeRoles) && isPG && pgErr.Code == "42501":
		return exitFailure, "run 'quantx-db roles ensure' with a --database-url of a superuser (or of a role with CREATEROLE that owns the objects)", true
	case inScope(err, scopeRoles) && isPG && pgErr.Code == "55P03": // roles runs no retries: one lock_timeout is a failure, not a held lock
		return exitFailure, "a long transaction holds a table (see pg_stat_activity); retry, or raise --roles-lock-timeout", true

	// InfluxDB: the connection (every command that talks to it), then the provisioner and backups.
	case errors.Is(err, influxclient.ErrUnreachable):
		return exitFailure, "is InfluxDB running and reachable at --influx-url?", true
	case errors.Is(err, influxclient.ErrUnauthorized):
		return exitFailure, "check --influx-token: user:password on 1.x; on 2.x a token with write access (an operator token for backup and restore)", true
	case errors.Is(err, influxclient.ErrUnknownVersion):
		return exitFailure, "is --influx-url an InfluxDB server?", true
	case errors.Is(err, influxclient.ErrUnsupportedVersion):
		return exitFailure, "quantx-db works with InfluxDB 1.x and 2.x; is --influx-url the right server?", true
	case errors.Is(err, influx.ErrNoOrg):
		return exitFailure, "set --influx-org (QUANTX_INFLUX_ORG) to an existing 2.x organisation", true
	case errors.Is(err, influx.ErrInvalidDesired), errors.Is(err, influx.ErrBackfillRange):
		return exitUsage, "", true
	case errors.Is(err, influx.ErrNotInSync):
		return exitFailure, "run 'quantx-db influx setup' first (review with 'quantx-db influx setup --dry-run')", true
	case errors.Is(err, influx.ErrFieldTypeConflict):
		return exitFailure, "the writer must send the contract's types: see 'quantx-db influx schema'", true
	case errors.Is(err, backup.ErrRPCUnreachable):
		return exitFailure, "check the 1.x backup/restore address: --influx-rpc or QUANTX_INFLUX_RPC (influxd's bind-address, port 8088 by default); a slow server may need a longer --influx-rpc-timeout", true
	case errors.Is(err, backup.ErrNoDatabase):
		return exitFailure, "check --database (default quantx_db, the database 'quantx-db influx setup' creates); on 2.x its buckets are named DATABASE or DATABASE/<tier>", true
	case errors.Is(err, backup.ErrInfluxNotReady):
		return exitFailure, "the restored database is incomplete: see the server's log and SHOW SHARDS; if a shard never loads, DROP DATABASE the restored one and run the restore again", true
	case errors.Is(err, backup.ErrDatabaseExists):
		return exitUsage, "influxd restore cannot restore onto an existing database: pass --new-database NAME", true

	// Search.
	case errors.Is(err, elastic.ErrUnreachable):
		return exitFailure, "is the search server running and reachable at --elastic-url?", true
	case errors.Is(err, elastic.ErrUnauthorized):
		return exitFailure, "check the user and password in --elastic-url (https://user:password@host:9200)", true
	case errors.Is(err, elastic.ErrUnknownEngine):
		return exitFailure, "set --elastic-engine elasticsearch or opensearch", true
	case errors.Is(err, elastic.ErrInvalidName), errors.Is(err, elastic.ErrBadDefinition), errors.Is(err, elastic.ErrUnknownIndex):
		return exitUsage, "", true
	case errors.Is(err, elastic.ErrNotSetUp):
		return exitFailure, "run 'quantx-db elastic setup' first", true
	case errors.Is(err, elastic.ErrVerifyFailed):
		return exitFailure, "readers and writers were not switched; rerun 'quantx-db elastic reindex' to resume", true
	case errors.Is(err, elastic.ErrWriteBlockTimeout):
		return exitFailure, "writes resumed on the old index; rerun at a quieter time or with a larger --max-write-block", true
	case errors.Is(err, elastic.ErrWriteBlocked):
		return exitFailure, "'quantx-db elastic setup' lifts the block (writers come first); then rerun the reindex", true
	case errors.Is(err, elastic.ErrTargetExists):
		return exitFailure, "delete the index named above (curl -X DELETE URL/INDEX), then rerun 'quantx-db elastic reindex'", true
	case errors.Is(err, elastic.ErrSplitAliases):
		return exitFailure, "point both aliases at one index (POST _aliases), then rerun", true
	case isES && esErr.Status == 400:
		return exitFailure, "the server rejected a definition: fix it (see docs/elastic.md), then rerun", true

	// Physical backups and point-in-time recovery.
	case errors.Is(err, backup.ErrRunAsRoot), errors.Is(err, backup.ErrNotOwner):
		return exitUsage, "", true // one line: the message names the user to run as (nothing was read or written)
	case errors.Is(err, backup.ErrNoConfig):
		return exitUsage, "run 'quantx-db wal setup --pgdata DIR' on the database host first, or point --pgbackrest-config (QUANTX_PGBACKREST_CONFIG) and --stanza at its file", true
	case errors.Is(err, backup.ErrPlainS3):
		return exitUsage, "set --s3-tls (QUANTX_S3_TLS=true), and --s3-ca-file FILE when the server's certificate is from a private CA", true
	case errors.Is(err, backup.ErrOutsideWindow):
		return exitFailure, "pick a --target-time inside the window, or --latest; 'quantx-db wal status' shows the window", true
	case errors.Is(err, backup.ErrTargetDirInUse):
		return exitUsage, "restore into a new or empty directory (--pgdata); nothing was changed", true
	case errors.Is(err, backup.ErrNoPhysicalBackup):
		return exitFailure, "take one with 'quantx-db backup physical --type full'", true
	case errors.Is(err, backup.ErrServerNotRunning):
		return exitFailure, "start PostgreSQL first: wal setup configures it with ALTER SYSTEM", true
	case errors.Is(err, backup.ErrNotSuperuser):
		return exitFailure, "run it as the data directory's owner (peer login as the superuser), or pass a superuser --database-url", true
	case errors.Is(err, backup.ErrCommandLineGUC):
		return exitFailure, "remove the -c option from the server's start command (or its service file), restart, and run wal setup again", true
	case errors.Is(err, backup.ErrRestoredStopped):
		return exitFailure, "read the restored server's log; the data directory is left as it is for inspection", true
	case inScope(err, scopePhysical) && errors.Is(err, backup.ErrToolMissing):
		return exitFailure, "install it (apt-get install pgbackrest postgresql-15), or name the PostgreSQL binaries with --pg-bindir", true
	case inScope(err, scopePhysical) && errors.Is(err, fs.ErrPermission):
		return exitFailure, "run as the data directory's owner; for the pgBackRest configuration's folder, create it for that user as root (install -d -o postgres -g postgres -m 750 /etc/pgbackrest) or pass --pgbackrest-config FILE in a folder it owns", true

	// Logical backups.
	case errors.Is(err, backup.ErrVersionMismatch):
		return exitFailure, "install the client tools of the server's major version (apt-get install postgresql-client-N), or point --pg-bindir at them", true
	case errors.Is(err, backup.ErrToolMissing):
		return exitFailure, "install the tool, or name it with --pg-bindir / --influxd", true
	case errors.Is(err, backup.ErrNotFound):
		return exitUsage, "see 'quantx-db backup list'", true
	case errors.Is(err, backup.ErrEncrypted):
		return exitUsage, "pass --identity FILE with the age identity (age-keygen output) matching the recipient", true
	case errors.Is(err, backup.ErrChecksumMismatch):
		return exitCheck, "the stored object is damaged: restore another backup (see 'quantx-db backup list'), and run 'quantx-db backup verify' on the others", true
	case errors.Is(err, backup.ErrEmptyPolicy), errors.Is(err, backup.ErrInvalidTimeWindow), errors.Is(err, backup.ErrWrongKind):
		return exitUsage, "see --help", true
	case errors.Is(err, backup.ErrNoSpace):
		return exitFailure, "free some space, or point --temp-dir at a file system with room for the dump", true

	// S3.
	case errors.Is(err, s3store.ErrBucketNotFound):
		return exitFailure, "create the bucket, or fix --s3-bucket / QUANTX_S3_BUCKET", true
	case errors.Is(err, s3store.ErrBadCredentials):
		return exitFailure, "check --s3-access-key and --s3-secret-key (QUANTX_S3_ACCESS_KEY / QUANTX_S3_SECRET_KEY)", true
	case errors.Is(err, s3store.ErrAccessDenied):
		return exitFailure, "the S3 user needs s3:ListBucket, GetObject, PutObject, DeleteObject and multipart permissions on the bucket", true
	case errors.Is(err, s3store.ErrConfig):
		return exitUsage, "--s3-endpoint is host:port; use --s3-tls for https, and --s3-ca-file FILE (PEM) for a private CA", true
	case isUntrusted:
		return exitFailure, "the S3 server's certificate is not trusted: pass its CA with --s3-ca-file FILE (QUANTX_S3_CA_FILE)", true

	// PostgreSQL, for every command that connects.
	case isPG && pgErr.Code == "42501":
		return exitFailure, "connect as a role that owns the schema (see --database-url)", true
	case isPG && (pgErr.Code == "28P01" || pgErr.Code == "28000"):
		return exitFailure, "check the user and password in --database-url", true
	case isPG && pgErr.Code == "3D000":
		return exitFailure, "create the database first, or fix the database name in --database-url", true
	case isConnect:
		return exitFailure, "is PostgreSQL running and reachable at --database-url?", true
	}
	return exitFailure, "", false
}

// stepHint says how to go on after a migration file failed.
func stepHint(se *migrations.StepError) string {
	resume := "'quantx-db migrate up'"
	if se.Direction == migrations.Down {
		resume = "'quantx-db migrate down 1 --yes'"
	}
	switch {
	case se.Lost:
		return fmt.Sprintf("when PostgreSQL accepts connections again, run %s: it resumes at statement %d of %s", resume, se.Done+1, se.File)
	case se.Dirty:
		return fmt.Sprintf("fix the cause (or the statement, if it is wrong), then run %s: it resumes at statement %d of %s", resume, se.Done+1, se.File)
	case se.Direction == migrations.Down:
		return "fix the down file, then 'quantx-db migrate down 1 --yes' reverts it: nothing of it was applied"
	}
	return "fix the file and run 'quantx-db migrate up' again: nothing of it was applied"
}

// dirtyHint says how to clear an interrupted run: for a command it blocked
// (blocked), or for a report.
func dirtyHint(in migrations.Interruption, blocked bool) string {
	switch {
	case !in.Resumable:
		what := in.File
		if what == "" {
			what = fmt.Sprintf("migration %d", in.Version)
		}
		return fmt.Sprintf("check which statements of %s ran; finish them and run 'quantx-db migrate force %d', or undo them and run 'quantx-db migrate force %d'",
			what, in.ForceDone, in.ForceUndone)
	case in.Direction == migrations.Down && blocked:
		return "run 'quantx-db migrate down 1 --yes' first: it finishes reverting " + in.File
	case in.Direction == migrations.Down:
		return "run 'quantx-db migrate down 1 --yes' to finish reverting it (it resumes at the first unfinished statement)"
	case blocked:
		return "run 'quantx-db migrate up' first: it finishes " + in.File
	}
	return "run 'quantx-db migrate up' to resume it at the first unfinished statement"
}

// problemFix names what clears a migrations problem.
func problemFix(p *migrations.Problem) string {
	switch p.Kind {
	case migrations.ProblemRunning:
		return "wait for it to finish, then run 'quantx-db migrate status' again"
	case migrations.ProblemDirty:
		return dirtyHint(*p.Interrupted, false)
	case migrations.ProblemUnknownApplied:
		return "use the quantx-db release that migrated this database"
	case migrations.ProblemDrift:
		return "restore the applied files as they were ('quantx-db migrate validate' names them) and put changes in a new migration"
	case migrations.ProblemPending:
		return "run 'quantx-db migrate up'"
	case migrations.ProblemInvalidIndex:
		var fixes []string
		if len(p.Rebuild) > 0 {
			fixes = append(fixes, fmt.Sprintf("run 'quantx-db migrate up': it builds %s again", strings.Join(p.Rebuild, ", ")))
		}
		for _, f := range p.Foreign {
			fixes = append(fixes, fmt.Sprintf("no migration builds %s: drop it (DROP INDEX CONCURRENTLY %s;) and create it again CONCURRENTLY", f, f))
		}
		if len(p.Building) > 0 {
			fixes = append(fixes, fmt.Sprintf("%s is being built now: wait for the build to finish, then run 'quantx-db migrate status' again", strings.Join(p.Building, ", ")))
		}
		return strings.Join(fixes, "; ")
	}
	return "see 'quantx-db migrate status'"
}

// notConfiguredFix says which setting configures a store.
var notConfiguredFix = map[string]string{
	stack.Postgres: "set --database-url (QUANTX_DATABASE_URL)",
	stack.Influx:   "set --influx-url (QUANTX_INFLUX_URL)",
	stack.Elastic:  "set --elastic-url (QUANTX_ELASTIC_URL)",
	stack.S3:       "set --s3-endpoint and --s3-bucket (QUANTX_S3_ENDPOINT, QUANTX_S3_BUCKET)",
	"wal":          "set up archiving with 'quantx-db wal setup --pgdata DIR' on the database host, or point --pgbackrest-config at its file",
}

// connectFix is the fix of a store that could not be reached, when its
// error has no hint of its own.
var connectFix = map[string]string{
	stack.Postgres: "check --database-url, that the server runs and that pg_hba.conf admits this host",
	stack.Influx:   "check --influx-url and --influx-token",
	stack.Elastic:  "check --elastic-url and --elastic-engine",
	stack.S3:       hintS3Connect,
}

// fix is the step that clears an item of status or doctor: the advice for
// its finding (the more precise fact), else the hint of its error, else what
// to check for a store that could not be reached; "" when there is nothing
// to do.
func fix(it stack.Item) string {
	if f := findingFix(it.Finding); f != "" {
		return f
	}
	if it.Err == nil {
		return ""
	}
	if ue, ok := errors.AsType[*userError](it.Err); ok && ue.hint != "" {
		return ue.hint
	}
	if _, hint, ok := explain(it.Err); ok && hint != "" {
		return hint
	}
	switch it.Name {
	case "connect", "bucket", "backups": // the store itself could not be reached
		return connectFix[it.Store]
	}
	return ""
}

// findingFix is the step that clears a finding (the stack package's
// finding types, *migrations.Problem); "" for nil.
func findingFix(finding any) string {
	switch f := finding.(type) {
	case stack.NotConfigured:
		return notConfiguredFix[f.Store]
	case *migrations.Problem:
		return problemFix(f)
	case stack.DefaultRows:
		cmd := "quantx-db partitions ensure"
		if f.MonthsBack > 0 {
			cmd += fmt.Sprintf(" --months-back %d", f.MonthsBack)
		}
		if f.MonthsAhead > 0 {
			cmd += fmt.Sprintf(" --months-ahead %d", f.MonthsAhead)
		}
		return "run '" + cmd + "'"
	case stack.ShortHorizon:
		return "run 'quantx-db partitions ensure'"
	case stack.HashIncomplete:
		return "create the missing hash partitions (CREATE TABLE ... PARTITION OF ... FOR VALUES WITH (MODULUS m, REMAINDER r))"
	case stack.RetentionDue:
		return "run 'quantx-db retention apply --dry-run', then with --yes"
	case stack.InfluxDrift:
		return "run 'quantx-db influx setup' (review with 'quantx-db influx setup --dry-run')"
	case stack.InfluxStale:
		return fmt.Sprintf("re-roll them with 'quantx-db influx backfill --since %s'", f.Since)
	case stack.SearchDrift:
		return "review with 'quantx-db elastic setup --dry-run', then run 'quantx-db elastic setup'; reindex_required needs 'quantx-db elastic reindex NAME'"
	case stack.ReindexInterrupted:
		return fmt.Sprintf("run 'quantx-db elastic reindex %s' to finish it", f.Index)
	case stack.WALProblem:
		return walHint(f.Status) + "; details: 'quantx-db wal status'"
	case stack.NoPhysicalBackup:
		return "run 'quantx-db backup physical --type full'"
	case stack.WALUnreadable:
		return "run as the data directory's owner to include WAL archiving"
	case stack.OldServer:
		return "the schema is tested on PostgreSQL 15; upgrade the server"
	case stack.ClockSkew:
		return "run chrony/ntpd on both hosts: partition months and backup ages use this machine's clock"
	case stack.AdvisoryLocks:
		return fmt.Sprintf("GRANT EXECUTE ON FUNCTION pg_try_advisory_lock(bigint), pg_advisory_unlock(bigint) TO %s", f.User)
	case stack.Privileges:
		return privilegeFix(f)
	case stack.Tool:
		return toolFix(f)
	case stack.InfluxRPC:
		if f.Addr == "" {
			return "set --influx-rpc or QUANTX_INFLUX_RPC to influxd's bind-address (port 8088)"
		}
		return "set --influx-rpc or QUANTX_INFLUX_RPC to influxd's bind-address (port 8088); 'quantx-db backup influx' on 1.x needs it"
	}
	return ""
}

// privilegeFix names what gives the connected role its part in the roles
// model. No fix ever grants DDL: that is the owner's, and the fix is to
// connect as the owner.
func privilegeFix(f stack.Privileges) string {
	c := f.Caps
	owner := "the owner of the schema objects"
	if len(c.Owners) > 0 {
		owner = strings.Join(c.Owners, " or ")
	}
	ensure := "run 'quantx-db roles ensure' as a superuser: it leaves the app role DML only and the read-only role SELECT only"
	// Objects made by another role (a superuser's cron run) are what roles ensure hands back to the owner.
	reown := "; if another role created some of them, 'quantx-db roles ensure' (as a superuser) makes the owner own them"
	switch f.Part {
	case "role":
		switch c.Profile {
		case roles.ProfileSuperuser:
			return "let the application connect as an app role without DDL: 'quantx-db roles ensure' creates it (--app-role or QUANTX_APP_ROLE; default " + roles.DefaultApp + ")"
		case roles.ProfileApp:
			if slices.Contains(c.DDL, "CREATE on schema "+c.Schema) {
				return fmt.Sprintf("REVOKE CREATE ON SCHEMA %s FROM %s (and PUBLIC); or %s", c.Schema, c.Role, ensure)
			}
			return ensure
		case roles.ProfileReadOnly:
			return ensure
		}
		return "connect as " + owner + " (--database-url); as a superuser, 'quantx-db roles ensure' creates an owner role that owns every object (--owner-role or QUANTX_OWNER_ROLE; default " + roles.DefaultOwner + ")"
	case "migrate":
		return "run migrations as " + owner + reown
	case "maintain partitions":
		return "run 'quantx-db partitions ensure' and 'quantx-db retention apply' as " + owner + reown
	}
	return ensure
}

// toolFix says how to install an external program, or the right version of it.
func toolFix(t stack.Tool) string {
	switch t.Name {
	case "influxd":
		return "install influxd " + t.ServerVersion + " on PATH (or in $QUANTX_CACHE/bin): 'quantx-db backup influx' runs influxd backup -portable"
	case "pgbackrest":
		return "apt-get install pgbackrest: archive_command and physical backups run it"
	}
	if !t.Missing && t.ServerMajor > 0 {
		return fmt.Sprintf("install the %s of PostgreSQL %d (e.g. apt-get install postgresql-client-%d) and put it first on PATH", t.Name, t.ServerMajor, t.ServerMajor)
	}
	return fmt.Sprintf("apt-get install postgresql-client-%d (backups need it)", max(t.ServerMajor, 15))
}

// walHint says what to do about the first problem of a WAL status.
func walHint(st backup.WALStatus) string {
	switch {
	case !st.Repository.Reachable:
		return "PostgreSQL keeps the WAL until the repository answers again; check the S3 server, --s3-endpoint and --s3-ca-file, and watch pg_wal's free space"
	case st.ArchiveMode == "off":
		return "run 'quantx-db wal setup --pgdata DIR' and restart PostgreSQL"
	case st.Failing:
		return "see pgBackRest's archive-push log; PostgreSQL retries and keeps the WAL meanwhile"
	}
	return "see the problems listed above"
}
