package main

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/spf13/cobra"

	"github.com/quantx/quantx-db/elastic"
	"github.com/quantx/quantx-db/internal/output"
	"github.com/quantx/quantx-db/internal/report"
	"github.com/quantx/quantx-db/stack"
)

func newElasticStatusCmd(d *deps, f *elasticFlags) *cobra.Command {
	var sc statusCheck
	cmd := &cobra.Command{
		Use:   "status",
		Short: "Compare the search server with the definitions and the history",
		Long: `Compare the search server with the definitions (built in, or --defs) and with
what setup recorded: a missing or drifted template, index or alias, a
definition edited since it was applied, a change only a reindex makes, or a
reindex that stopped half-way needs action.`,
		Example: `  quantx-db elastic status
  quantx-db elastic status -o json | jq '.items[] | select(.state != "ok")'`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx := cmd.Context()
			p, err := d.elasticProvisioner(ctx, f, nil)
			if err != nil {
				return d.statusUnreadable(ctx, sc, err)
			}
			st, err := p.Status(ctx)
			if err != nil {
				return d.statusUnreadable(ctx, sc, err)
			}
			return d.statusReport(sc, d.now(), elasticFindings(st), st, func() output.Table { return elasticStatusTable(st) })
		},
	}
	sc.add(cmd)
	return cmd
}

// elasticFindings is the worst line of elastic status and what explains it.
func elasticFindings(st elastic.Status) findings {
	worst := report.SeverityOK
	for _, it := range st.Items {
		worst = max(worst, it.State.Severity())
	}
	if !st.Drift {
		return actionOr(worst, nil)
	}
	for _, it := range st.Items {
		if it.State == elastic.StateInterrupted {
			return actionOr(max(worst, report.SeverityAction), checkFailed(fmt.Sprintf("elastic: the reindex of %s was interrupted", it.Name),
				findingFix(stack.ReindexInterrupted{Index: it.Name})))
		}
	}
	return actionOr(max(worst, report.SeverityAction), checkFailed(fmt.Sprintf("elastic: %d pending action(s)", len(st.Pending)), findingFix(stack.SearchDrift{Pending: len(st.Pending)})))
}

func elasticStatusTable(st elastic.Status) output.Table {
	t := output.Table{Header: []string{"KIND", "NAME", "VERSION", "APPLIED", "INDEX", "STATE", "DETAIL"}}
	for _, it := range st.Items {
		t.Row(it.State.Severity(), it.Kind, it.Name, strconv.Itoa(it.Version), versionCell(it.AppliedVersion),
			orDash(it.PhysicalIndex), string(it.State), orDash(it.Detail))
	}
	for _, r := range st.Retention {
		line := fmt.Sprintf("retention %s: %s", r.Index, r.Mode)
		if r.Policy != "" {
			line += " policy " + r.Policy
		}
		line += fmt.Sprintf(", attached %t, write index %s, %d generation(s)", r.Attached, orDash(r.WriteIndex), r.Generations)
		if r.RolloverDue {
			line += ", rollover due"
		}
		if len(r.ExpiredGenerations) > 0 {
			line += ", expired " + strings.Join(r.ExpiredGenerations, " ")
		}
		t.Notes = append(t.Notes, line)
	}
	state := "in sync"
	if st.Drift {
		state = fmt.Sprintf("%d pending action(s)", len(st.Pending))
	}
	t.Notes = append(t.Notes, fmt.Sprintf("%s: %s", st.Engine, state))
	return t
}

func versionCell(v int) string {
	if v == 0 {
		return "-"
	}
	return strconv.Itoa(v)
}
