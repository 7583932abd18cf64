package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/spf13/cobra"

	"github.com/quantx/quantx-db/internal/pglock"
	"github.com/quantx/quantx-db/migrations"
	"github.com/quantx/quantx-db/roles"
)

func newRolesCmd(d *deps) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "roles",
		Short: "Create and maintain the owner, app and read-only PostgreSQL roles",
		Long: `Three LOGIN roles run QuantX with least privilege (names configurable):

  quantx_owner     owns every object of the schema; migrations, 'partitions
                   ensure' and 'retention apply' run as it
  quantx_app       SELECT, INSERT, UPDATE, DELETE on the application tables;
                   no DDL, no TRUNCATE, read-only access to schema_migrations
                   and quantx_migration_history
  quantx_readonly  SELECT on the application tables

'roles ensure' creates or corrects them, makes the owner own every object in
the schema and sets the owner's default privileges, so that tables and
partitions it creates later carry the same grants. 'quantx-db doctor' tells
which of these parts the role in --database-url can play.`,
		Example: `  quantx-db roles ensure --dry-run
  quantx-db roles ensure --app-password-file /run/secrets/quantx_app_password`,
	}
	cmd.AddCommand(newRolesEnsureCmd(d))
	return cmd
}

// roleFlags name the roles of the model and where their passwords come from.
// Passwords are read from files only: never from the command line, where ps
// and shell history would keep them.
type roleFlags struct {
	owner, app, readOnly                                     string
	ownerPasswordFile, appPasswordFile, readOnlyPasswordFile string
	lockTimeout                                              time.Duration
}

func (f *roleFlags) add(cmd *cobra.Command) {
	fl := cmd.Flags()
	fl.StringVar(&f.owner, "owner-role", "", "owner role `name` (env QUANTX_OWNER_ROLE; default "+roles.DefaultOwner+")")
	fl.StringVar(&f.app, "app-role", "", "application role `name` (env QUANTX_APP_ROLE; default "+roles.DefaultApp+")")
	fl.StringVar(&f.readOnly, "readonly-role", "", "read-only role `name` (env QUANTX_READONLY_ROLE; default "+roles.DefaultReadOnly+")")
	fl.StringVar(&f.ownerPasswordFile, "owner-password-file", "", "set the owner's password from `file` (env QUANTX_OWNER_PASSWORD_FILE; default: leave it)")
	fl.StringVar(&f.appPasswordFile, "app-password-file", "", "set the app role's password from `file` (env QUANTX_APP_PASSWORD_FILE; default: leave it)")
	fl.StringVar(&f.readOnlyPasswordFile, "readonly-password-file", "", "set the read-only role's password from `file` (env QUANTX_READONLY_PASSWORD_FILE; default: leave it)")
	fl.DurationVar(&f.lockTimeout, "roles-lock-timeout", 5*time.Second, "lock_timeout of the roles transaction (ALTER ... OWNER locks each table briefly; 0 waits)")
}

// roleOptions resolves the flags (flag > QUANTX_* environment > default) and
// reads the password files.
func (d *deps) roleOptions(f *roleFlags) (roles.Options, error) {
	pick := func(flag, env string) string {
		if flag != "" {
			return flag
		}
		return d.getenv(env)
	}
	o := roles.Options{
		Owner: pick(f.owner, "QUANTX_OWNER_ROLE"), App: pick(f.app, "QUANTX_APP_ROLE"), ReadOnly: pick(f.readOnly, "QUANTX_READONLY_ROLE"),
		Passwords: map[roles.Kind]string{}, LockTimeout: f.lockTimeout, Logger: d.logger,
	}
	for _, p := range []struct {
		kind       roles.Kind
		flag, file string
	}{
		{roles.KindOwner, "--owner-password-file", pick(f.ownerPasswordFile, "QUANTX_OWNER_PASSWORD_FILE")},
		{roles.KindApp, "--app-password-file", pick(f.appPasswordFile, "QUANTX_APP_PASSWORD_FILE")},
		{roles.KindReadOnly, "--readonly-password-file", pick(f.readOnlyPasswordFile, "QUANTX_READONLY_PASSWORD_FILE")},
	} {
		if p.file == "" {
			continue
		}
		pw, err := readPasswordFile(p.file)
		if err != nil {
			return o, usagef("the file holds the password alone (a trailing newline is ignored)", "%s %s: %v", p.flag, p.file, err)
		}
		o.Passwords[p.kind] = pw
	}
	return o, nil
}

// readPasswordFile returns the file's content without its trailing newline. The
// error never quotes the content.
func readPasswordFile(path string) (string, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return "", errors.Unwrap(err) // *PathError repeats the path the caller already names
	}
	b = bytes.TrimRight(b, "\r\n")
	switch {
	case len(b) == 0:
		return "", errors.New("the file is empty")
	case len(b) > 1024:
		return "", errors.New("the file is larger than 1 KiB: is it a password?")
	case bytes.ContainsAny(b, "\x00\n"):
		return "", errors.New("the password spans several lines or holds a NUL byte")
	}
	return string(b), nil
}

// rolesManager builds the roles manager for pool, after creating the
// migration bookkeeping tables (unless dryRun) so that the app role's default
// grants never reach them.
func (d *deps) rolesManager(ctx context.Context, pool *pgxpool.Pool, f *roleFlags, dryRun bool) (*roles.Manager, error) {
	o, err := d.roleOptions(f)
	if err != nil {
		return nil, err
	}
	runner, err := migrations.New(pool, migrations.Files(), migrations.Options{AppliedBy: appliedBy(), Logger: d.logger, LockWait: pglock.DefaultWait})
	if err != nil {
		return nil, err
	}
	if !dryRun {
		if err := runner.EnsureBookkeeping(ctx); err != nil {
			if errors.Is(err, migrations.ErrLocked) {
				// Exit 4, as for every held lock; the hint names no --lock-wait,
				// which roles ensure does not have.
				ue := classify(ctx, err)
				ue.hint = "a migration is running; retry when it is done"
				return nil, ue
			}
			return nil, within(scopeRoles, fmt.Errorf("create the migration bookkeeping tables: %w", err))
		}
	}
	o.Bookkeeping = runner.BookkeepingTables()
	m, err := roles.New(pool, o)
	if err != nil {
		return nil, within(scopeRoles, err)
	}
	return m, nil
}

// rolesSummary is one line naming the roles and what happened to them.
func rolesSummary(rs []roles.Role) string {
	var parts []string
	for _, r := range rs {
		s := string(r.Kind) + " " + r.Name
		var notes []string
		if r.Created {
			notes = append(notes, "created")
		}
		if r.PasswordSet {
			notes = append(notes, "password set")
		}
		if len(notes) > 0 {
			s += " (" + strings.Join(notes, ", ") + ")"
		}
		parts = append(parts, s)
	}
	return strings.Join(parts, ", ")
}
