package main

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/spf13/cobra"

	"github.com/quantx/quantx-db/elastic"
	"github.com/quantx/quantx-db/internal/output"
	"github.com/quantx/quantx-db/stack"
)

func newElasticStatusCmd(d *deps, f *elasticFlags) *cobra.Command {
	return &cobra.Command{
		Use:   "status",
		Short: "Compare the search server with the definitions and the history; exit 3 on drift",
		Example: `  quantx-db elastic status
  quantx-db elastic status -o json | jq '.items[] | select(.state != "ok")'`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			p, err := d.elasticProvisioner(cmd.Context(), f, nil)
			if err != nil {
				return err
			}
			st, err := p.Status(cmd.Context())
			if err != nil {
				return err
			}
			if err := d.render(st, func() output.Table { return elasticStatusTable(st) }); err != nil {
				return err
			}
			if st.Drift {
				for _, it := range st.Items {
					if it.State == elastic.StateInterrupted {
						return checkFailed(fmt.Sprintf("elastic: the reindex of %s was interrupted", it.Name),
							findingFix(stack.ReindexInterrupted{Index: it.Name}))
					}
				}
				return checkFailed(fmt.Sprintf("elastic: %d pending action(s)", len(st.Pending)), findingFix(stack.SearchDrift{Pending: len(st.Pending)}))
			}
			return nil
		},
	}
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
