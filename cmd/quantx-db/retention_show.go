package main

import (
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/spf13/cobra"

	"github.com/quantx/quantx-db/internal/output"
	"github.com/quantx/quantx-db/retention"
)

func newRetentionShowCmd(d *deps) *cobra.Command {
	var path string
	cmd := &cobra.Command{
		Use:   "show",
		Short: "Print the effective retention policy",
		Example: `  quantx-db retention show
  quantx-db retention show --policy retention.yaml -o json`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			p, err := loadPolicy(path)
			if err != nil {
				return err
			}
			return d.render(p, func() output.Table { return policyTable(p) })
		},
	}
	policyFlag(cmd, &path)
	return cmd
}

func policyTable(p retention.Policy) output.Table {
	t := output.Table{Header: []string{"STORE", "TABLE", "KEEP", "RULE"}}
	if a := p.Postgres.ActivityLogs; a != nil {
		rule := "drop whole monthly partitions older than keep, after archiving each to S3 (gzip CSV + manifest)"
		if !a.Archives() {
			rule = "drop whole monthly partitions older than keep, WITHOUT archiving"
		}
		t.Rows = append(t.Rows, []string{"postgres", "activity_logs", a.Keep.String(), rule})
	}
	if o := p.Postgres.Orders; o != nil {
		t.Rows = append(t.Rows, []string{"postgres", "orders", o.Keep.String(),
			fmt.Sprintf("set archived = true where status in (%s), %d rows per batch, %s pause", strings.Join(o.Statuses, ", "), o.BatchSize, o.Pause)})
	}
	for _, k := range slices.Sorted(maps.Keys(p.Influx)) {
		t.Rows = append(t.Rows, []string{"influx", k, p.Influx[k].String(), "retention policy (information; applied by 'influx setup')"})
	}
	for _, k := range slices.Sorted(maps.Keys(p.Search)) {
		t.Rows = append(t.Rows, []string{"search", k, p.Search[k].String(), "index retention (information; applied by 'elastic setup')"})
	}
	t.Notes = append(t.Notes, "policy: "+p.Source)
	return t
}
