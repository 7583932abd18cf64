package main

import (
	"context"
	"fmt"
	"io/fs"
	"os"
	"os/user"
	"strconv"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/spf13/cobra"

	"github.com/quantx/quantx-db/internal/pgcancel"
	"github.com/quantx/quantx-db/internal/pglock"
	"github.com/quantx/quantx-db/migrations"
)

// migrateLockRetries is the default of migrate's --lock-retries.
const migrateLockRetries = 3

// migrateFlags are shared by every migrate verb. The lock flags reach the
// library unchanged: its rule is the flags' (0 means off).
type migrateFlags struct {
	lockWait    time.Duration
	lockTimeout time.Duration
	lockRetries int
	source      string
}

func newMigrateCmd(d *deps) *cobra.Command {
	var f migrateFlags
	cmd := &cobra.Command{
		Use:   "migrate",
		Short: "Apply, revert and inspect the PostgreSQL schema migrations",
		Long: `The QuantX schema ships inside the binary as versioned SQL migrations.
The version lives in golang-migrate's schema_migrations table; every run is
recorded in quantx_migration_history with the sha256 of its file.

Each file runs in one transaction with its version update, so a failure
leaves the previous version and nothing half-applied. A file whose first line
is "-- quantx:no-transaction" runs statement by statement (for CREATE INDEX
CONCURRENTLY): the database is dirty while it runs, and the history records
each finished statement. If it fails or is cut off (kill -9, a server
restart), the error names the statement (file:line), and the next
'migrate up' resumes at the first unfinished statement by itself. A version
is recorded as applied only once no statement left an INVALID index.`,
		Example: `  quantx-db migrate up
  quantx-db migrate status
  quantx-db migrate down 1 --yes`,
	}
	pf := cmd.PersistentFlags()
	pf.DurationVar(&f.lockWait, "lock-wait", pglock.DefaultWait, "how long to wait for another runner's lock before exiting 4 (0 tries once)")
	pf.DurationVar(&f.lockTimeout, "lock-timeout", pglock.DefaultTimeout, "PostgreSQL lock_timeout for migration statements (0 disables)")
	pf.IntVar(&f.lockRetries, "lock-retries", migrateLockRetries, "retries of a migration that hit lock_timeout, with doubling backoff (0: none)")
	pf.StringVar(&f.source, "source", "", "read migrations from this `dir` instead of the embedded set")
	cmd.AddCommand(
		newMigrateUpCmd(d, &f),
		newMigrateDownCmd(d, &f),
		newMigrateGotoCmd(d, &f),
		newMigrateForceCmd(d, &f),
		newMigrateVersionCmd(d, &f),
		newMigrateStatusCmd(d, &f),
		newMigrateValidateCmd(d, &f),
		newMigratePlanCmd(d, &f),
		newMigrateCreateCmd(d),
		newMigrateBaselineCmd(d, &f),
		newMigrateLintCmd(d, &f),
	)
	return cmd
}

// openPool connects to --database-url. The pool is small: the migration
// runner uses one connection for the lock and the work.
func (d *deps) openPool(ctx context.Context) (*pgxpool.Pool, error) {
	cfg, err := d.config()
	if err != nil {
		return nil, err
	}
	if cfg.DatabaseURL == "" {
		return nil, usagef("set --database-url or QUANTX_DATABASE_URL", "no PostgreSQL database configured")
	}
	pc, err := pgxpool.ParseConfig(cfg.DatabaseURL.Reveal())
	if err != nil {
		// pgx parse errors can quote the connection string: never pass them on.
		return nil, usagef("check the format: postgres://user:password@host:port/db?sslmode=disable",
			"database-url %s cannot be parsed", cfg.DatabaseURL)
	}
	pc.MaxConns = 4
	pc.ConnConfig.RuntimeParams["application_name"] = "quantx-db"
	pgcancel.Configure(&pc.ConnConfig.Config) // Ctrl-C cancels the server's work too (a lock wait, a long statement)
	pool, err := pgxpool.NewWithConfig(ctx, pc)
	if err != nil {
		return nil, fmt.Errorf("connect to %s: %w", cfg.DatabaseURL, err)
	}
	if err := pool.Ping(ctx); err != nil {
		pool.Close()
		return nil, fmt.Errorf("connect to %s: %w", cfg.DatabaseURL, err)
	}
	return pool, nil
}

// sourceFS is the migration files: --source, else the embedded set. dir is
// the folder they are named under ("" for the embedded set).
func (f *migrateFlags) sourceFS() (src fs.FS, dir string, err error) {
	if f.source == "" {
		return migrations.Files(), "", nil
	}
	if st, err := os.Stat(f.source); err != nil || !st.IsDir() {
		return nil, "", usagef("give a folder of NNNN_name.up.sql files", "--source %q is not a directory", f.source)
	}
	return os.DirFS(f.source), f.source, nil
}

// withRunner is the shape of every migrate verb that talks to the
// database: connect, load the migrations, run fn, close the pool. Errors
// go back as they are: hints.go explains them.
func (d *deps) withRunner(ctx context.Context, f *migrateFlags, fn func(*migrations.Runner) error) error {
	r, pool, err := d.openRunner(ctx, f)
	if err != nil {
		return err
	}
	defer pool.Close()
	return fn(r)
}

// openRunner connects and loads the migrations. The caller closes the pool.
func (d *deps) openRunner(ctx context.Context, f *migrateFlags) (*migrations.Runner, *pgxpool.Pool, error) {
	src, _, err := f.sourceFS()
	if err != nil {
		return nil, nil, err
	}
	pool, err := d.openPool(ctx)
	if err != nil {
		return nil, nil, err
	}
	r, err := migrations.New(pool, src, migrations.Options{
		LockWait: f.lockWait, LockTimeout: f.lockTimeout, LockRetries: f.lockRetries,
		AppliedBy: appliedBy(), Logger: d.logger, Progress: d.progress(),
	})
	if err != nil {
		pool.Close()
		return nil, nil, usageErr(err, "fix the migration file names (NNNN_name.up.sql / .down.sql)")
	}
	return r, pool, nil
}

// appliedBy names the operator for the history table: OS user and host.
func appliedBy() string {
	name := "unknown"
	if u, err := user.Current(); err == nil {
		name = u.Username
	}
	host, _ := os.Hostname()
	return name + "@" + host
}

// parseSteps reads the optional N of up/down/plan.
func parseSteps(args []string) (int, error) {
	if len(args) == 0 {
		return 0, nil
	}
	n, err := strconv.Atoi(args[0])
	if err != nil || n <= 0 {
		return 0, usagef("N is a positive number of migrations", "invalid N %q", args[0])
	}
	return n, nil
}

// parseVersion reads a VERSION argument; -1 means "no version".
func parseVersion(s string) (int64, error) {
	v, err := strconv.ParseInt(s, 10, 64)
	if err != nil || v < -1 {
		return 0, usagef("VERSION is a migration number such as 7, or -1 for none", "invalid VERSION %q", s)
	}
	return v, nil
}

func versionText(v int64) string {
	if v < 0 {
		return "none"
	}
	return strconv.FormatInt(v, 10)
}
