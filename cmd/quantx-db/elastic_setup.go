package main

import (
	"fmt"

	"github.com/spf13/cobra"

	"github.com/quantx/quantx-db/elastic"
	"github.com/quantx/quantx-db/internal/output"
)

// elasticSetupResult is the JSON document of `elastic setup`.
type elasticSetupResult struct {
	elastic.Plan
	DryRun bool `json:"dry_run"`
}

func newElasticSetupCmd(d *deps, f *elasticFlags) *cobra.Command {
	var dryRun bool
	cmd := &cobra.Command{
		Use:   "setup",
		Short: "Create or update templates, indices, aliases and retention (idempotent)",
		Long: `Create the templates and the current version's indices and aliases when
missing, apply additive mapping and dynamic settings changes in place, put the
ILM/ISM policy (or, without either, roll over and delete time-based indices
itself: run it from cron), and record each applied definition in the history.

A change the engine cannot apply in place (a changed field type or analyzer,
a field added by hand) is reported as reindex_required: run
'quantx-db elastic reindex NAME'. Setup then exits 3.`,
		Example: `  quantx-db elastic setup --dry-run
  quantx-db elastic setup -o json`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			p, err := d.elasticProvisioner(cmd.Context(), f, nil)
			if err != nil {
				return err
			}
			var plan elastic.Plan
			if dryRun {
				plan, err = p.Plan(cmd.Context())
			} else {
				plan, err = p.Setup(cmd.Context())
			}
			if err != nil {
				return err
			}
			res := elasticSetupResult{Plan: plan, DryRun: dryRun}
			if err := d.render(res, func() output.Table { return elasticPlanTable(res) }); err != nil {
				return err
			}
			if rr := plan.ReindexRequired(); len(rr) > 0 && !dryRun {
				return checkFailed(fmt.Sprintf("elastic: %d index(es) need a reindex", len(rr)),
					"run 'quantx-db elastic reindex NAME' for each index marked reindex_required")
			}
			return nil
		},
	}
	cmd.Flags().BoolVar(&dryRun, "dry-run", false, "print the plan; change nothing")
	return cmd
}

func elasticPlanTable(r elasticSetupResult) output.Table {
	t := output.Table{Header: []string{"OP", "KIND", "NAME", "DETAIL"}}
	for _, a := range r.Actions {
		t.Rows = append(t.Rows, []string{a.Op, a.Kind, a.Name, orDash(a.Detail)})
	}
	verb := "applied"
	if r.DryRun {
		verb = "planned (dry run, nothing changed)"
	}
	if len(r.Actions) == 0 {
		t.Header = nil
		t.Notes = append(t.Notes, fmt.Sprintf("%s: nothing to do (retention: %s)", r.Engine, r.RetentionMode))
	} else {
		t.Notes = append(t.Notes, fmt.Sprintf("%s: %d action(s) %s (retention: %s)", r.Engine, len(r.Actions), verb, r.RetentionMode))
	}
	return t
}
