package main

import (
	"fmt"

	"github.com/spf13/cobra"

	"github.com/quantx/quantx-db/internal/output"
	"github.com/quantx/quantx-db/roles"
)

func newRolesEnsureCmd(d *deps) *cobra.Command {
	var rf roleFlags
	var dryRun bool
	cmd := &cobra.Command{
		Use:   "ensure",
		Short: "Create or correct the roles, ownership, grants and default privileges (idempotent)",
		Long: `Run as a superuser (--database-url). In one transaction, it creates the owner,
app and read-only roles that are missing (LOGIN, and no SUPERUSER, CREATEDB,
CREATEROLE, REPLICATION or BYPASSRLS), sets passwords given in files, makes the
owner own every table, sequence, function and type of schema public (extension
objects excepted), grants the app role DML and the read-only role SELECT,
revokes everything else they hold there (CREATE on the schema included, also
from PUBLIC), and sets the owner's default privileges for later tables and
sequences. The migration bookkeeping tables are created first, so that the app
role can only read them. A second run changes nothing and says so.

Passwords come from files (or QUANTX_*_PASSWORD_FILE), never from the command
line, and reach the server as SCRAM-SHA-256 verifiers, never in clear text.
Without a file a role keeps its password (a new one has none: give it one, or
use certificate or peer authentication).

Changing the owner of a table takes a short ACCESS EXCLUSIVE lock on it; each
lock is requested under --roles-lock-timeout, so a long transaction makes the
run fail (nothing applied) instead of queueing the application behind it.`,
		Example: `  quantx-db roles ensure --dry-run
  quantx-db roles ensure --app-password-file /run/secrets/app --readonly-password-file /run/secrets/ro
  QUANTX_APP_ROLE=trading_app quantx-db roles ensure -o json`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx := cmd.Context()
			o, err := d.roleOptions(&rf)
			if err != nil {
				return err
			}
			if err := o.Validate(); err != nil { // bad names before any connection
				return within(scopeRoles, err)
			}
			pool, err := d.openPool(ctx)
			if err != nil {
				return err
			}
			defer pool.Close()
			m, err := d.rolesManager(ctx, pool, &rf, dryRun)
			if err != nil {
				return err
			}
			var rep roles.Report
			if dryRun {
				rep, err = m.Plan(ctx)
			} else {
				rep, err = m.Ensure(ctx)
			}
			if err != nil {
				return within(scopeRoles, err)
			}
			return d.render(rep, func() output.Table { return rolesTable(rep) })
		},
	}
	rf.add(cmd)
	cmd.Flags().BoolVar(&dryRun, "dry-run", false, "print the statements; change nothing (reads the catalogs only)")
	return cmd
}

func rolesTable(rep roles.Report) output.Table {
	t := output.Table{Header: []string{"ROLE", "ACTION", "STATEMENT"}}
	for _, a := range rep.Actions {
		t.Rows = append(t.Rows, []string{a.Role, a.Kind, a.SQL})
	}
	t.Notes = append(t.Notes, "roles: "+rolesSummary(rep.Roles))
	switch {
	case rep.DryRun && len(rep.Actions) > 0:
		t.Notes = append(t.Notes, fmt.Sprintf("dry run: %d statement(s) would run in database %s; nothing was changed", len(rep.Actions), rep.Database))
	case len(rep.Actions) == 0:
		t.Notes = append(t.Notes, fmt.Sprintf("no changes: database %s already follows the roles model", rep.Database))
	default:
		t.Notes = append(t.Notes, fmt.Sprintf("%d statement(s) applied in one transaction to database %s", len(rep.Actions), rep.Database))
	}
	for _, w := range rep.Warnings {
		t.Notes = append(t.Notes, "warning: "+w)
	}
	return t
}
