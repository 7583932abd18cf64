package main

import (
	"errors"
	"fmt"
	"strings"

	"github.com/spf13/cobra"

	"github.com/quantx/quantx-db/internal/output"
	"github.com/quantx/quantx-db/internal/pglock"
	"github.com/quantx/quantx-db/stack"
)

func newProvisionCmd(d *deps) *cobra.Command {
	var o stack.ProvisionOptions
	var only string
	var sf stackFlags
	var withRoles bool
	var rf roleFlags
	cmd := &cobra.Command{
		Use:   "provision",
		Short: "Migrate up, ensure partitions, set up InfluxDB and search, as one plan",
		Long: `provision plans every configured store first (what will change in each), then
applies the plans in order: PostgreSQL migrations and partitions, InfluxDB,
Elasticsearch/OpenSearch. Stores without a URL are skipped with a note, unless
named in --only (then it is an error). Safe to re-run: a second run changes nothing.

With --roles (off by default) the PostgreSQL step ends with 'roles ensure': the
owner, app and read-only roles, ownership and grants (see 'quantx-db roles
--help'); --database-url must then be a superuser's.`,
		Example: `  quantx-db provision --dry-run
  quantx-db provision --only postgres,influx -o json
  quantx-db provision --only postgres --roles --app-password-file /run/secrets/app`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if only != "" {
				o.Only = strings.Split(only, ",")
			}
			s, closeStores, err := d.openStores(cmd.Context(), &sf)
			defer closeStores()
			if err != nil {
				return err
			}
			if withRoles {
				if s.Postgres == nil {
					return usagef("set --database-url (a superuser's), or leave out --roles", "--roles needs PostgreSQL and no database is configured")
				}
				if s.Roles, err = d.rolesManager(cmd.Context(), s.Postgres, &rf, o.DryRun); err != nil {
					return err
				}
			}
			rep, err := stack.Provision(cmd.Context(), s, o)
			if errors.Is(err, stack.ErrNotConfigured) {
				return usageErr(err, "set its URL (see 'quantx-db --help'), or leave it out of --only")
			}
			if err != nil && rep.Stores == nil {
				return usageErr(err, "")
			}
			if rerr := d.render(rep, func() output.Table { return provisionTable(rep) }); rerr != nil {
				return rerr
			}
			if err != nil {
				return err
			}
			if rep.Failed {
				return storeFailure("provisioning failed: ", rep.Err())
			}
			return nil
		},
	}
	cmd.Flags().BoolVar(&o.DryRun, "dry-run", false, "print the plan; change nothing")
	cmd.Flags().StringVar(&only, "only", "", "comma-separated `stores` to provision: postgres, influx, elastic")
	sf.add(cmd)
	cmd.Flags().IntVar(&o.MonthsAhead, "months-ahead", 3, "activity_logs partitions premade after the current month")
	cmd.Flags().BoolVar(&withRoles, "roles", false, "also run 'roles ensure' after the migrations and partitions (needs a superuser)")
	rf.add(cmd)
	cmd.Flags().DurationVar(&sf.lockWait, "lock-wait", pglock.DefaultWait, "how long to wait for another runner's migration or maintenance lock before exiting 4 (0 tries once)")
	return cmd
}

func provisionTable(rep stack.ProvisionReport) output.Table {
	t := output.Table{Header: []string{"STORE", "STATUS", "CHANGE"}}
	for _, s := range rep.Stores {
		steps, past := s.Applied, !rep.DryRun
		if rep.DryRun || s.Status == stack.StatusFailed && len(steps) == 0 {
			steps, past = s.Plan, false
		}
		detail := s.Note
		if s.Note == "not selected" {
			detail = "not in --only"
		}
		if s.Err() != nil {
			detail = s.Error.Error()
		}
		if len(steps) == 0 {
			if detail == "" {
				detail = "nothing to do"
			}
			t.Row(s.Status.Severity(), s.Store, string(s.Status), detail)
			continue
		}
		for i, st := range steps {
			if i == 0 {
				t.Row(s.Status.Severity(), s.Store, string(s.Status), stepLine(st, past))
			} else {
				t.Rows = append(t.Rows, []string{s.Store, "", stepLine(st, past)})
			}
		}
		if s.Err() != nil {
			t.Rows = append(t.Rows, []string{s.Store, "", "error: " + s.Error.Error()})
		}
	}
	switch {
	case rep.DryRun:
		t.Notes = []string{"dry run: nothing was changed"}
	case !rep.Changed && !rep.Failed:
		t.Notes = []string{"no changes: every configured store was already provisioned"}
	}
	return t
}

// stepLine is one change of a plan or of a run, for people.
func stepLine(st stack.Step, past bool) string {
	switch {
	case st.Op == stack.OpReindexRequired:
		return fmt.Sprintf("%s needs 'quantx-db elastic reindex' (not done by provision): %s", st.Object, st.Detail)
	case st.Part == stack.Influx:
		return st.Detail // the action's own description
	case st.Part == "roles":
		return "roles: " + st.Object // the statement
	case st.Part == "migrate" && past:
		return "migrate: applied " + st.Object
	case st.Part == "partitions" && st.Op == "create":
		return "partitions: created " + st.Object
	case st.Part == "partitions" && st.Op == "ensure":
		return "partitions: ensure " + st.Detail
	case st.Part == "partitions":
		return "partitions: " + st.Detail
	case st.Part == stack.Elastic && st.Detail != "":
		return fmt.Sprintf("%s %s: %s", st.Op, st.Object, st.Detail)
	case st.Part == stack.Elastic:
		return st.Op + " " + st.Object
	}
	return st.Part + ": " + st.Op + " " + st.Object
}
