package main

import (
	"context"
	"fmt"

	"github.com/spf13/cobra"

	"github.com/quantx/quantx-db/internal/output"
	"github.com/quantx/quantx-db/migrations"
)

func newMigrateDownCmd(d *deps, f *migrateFlags) *cobra.Command {
	var all bool
	cmd := &cobra.Command{
		Use:   "down [N] [--all]",
		Short: "Revert the last N migrations, or all of them (destructive)",
		Long: `Reverting drops tables and their data. Without --yes on a terminal you are
asked to confirm; off a terminal the plan is printed and nothing runs.`,
		Example: `  quantx-db migrate down 1 --yes
  quantx-db migrate down --all --yes`,
		Args: cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			n, err := parseSteps(args)
			if err != nil {
				return err
			}
			if (n == 0) == !all {
				return usagef("give N to revert N migrations, or --all", "down needs exactly one of N or --all")
			}
			return runReverting(cmd.Context(), d, f, migrations.Target{Direction: migrations.Down, Steps: n})
		},
	}
	cmd.Flags().BoolVar(&all, "all", false, "revert every migration")
	yesFlag(cmd, d)
	return cmd
}

// runReverting plans a run that may go down, asks before reverting
// anything, then applies it. Used by down and goto.
func runReverting(ctx context.Context, d *deps, f *migrateFlags, t migrations.Target) error {
	return d.withRunner(ctx, f, func(r *migrations.Runner) error { return revert(ctx, d, r, t) })
}

func revert(ctx context.Context, d *deps, r *migrations.Runner, t migrations.Target) error {
	p, err := r.PlanFor(ctx, t)
	if err != nil {
		return err
	}
	downs := 0
	for _, s := range p.Steps {
		if s.Direction == migrations.Down {
			downs++
		}
	}
	if downs > 0 && !d.confirm(ctx, fmt.Sprintf("revert %d migration(s), from version %s to %s, dropping their objects and data?",
		downs, versionText(p.FromVersion), versionText(p.ToVersion))) {
		if err := d.render(p, func() output.Table { return planTable(p) }); err != nil {
			return err
		}
		return usagef("re-run with --yes to revert", "refused to revert %d migration(s) without confirmation", downs)
	}
	rep, err := r.Run(ctx, t)
	return d.migrated(rep, err)
}
