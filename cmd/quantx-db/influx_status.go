package main

import (
	"fmt"

	"github.com/spf13/cobra"

	"github.com/quantx/quantx-db/influx"
	"github.com/quantx/quantx-db/internal/output"
)

func newInfluxStatusCmd(d *deps, f *influxFlags) *cobra.Command {
	return &cobra.Command{
		Use:   "status",
		Short: "Compare InfluxDB with the desired state; exit 3 on drift",
		Example: `  quantx-db influx status
  quantx-db influx status -o json | jq '.drift[].description'`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			p, err := d.influxProvisioner(f)
			if err != nil {
				return err
			}
			st, err := p.Status(cmd.Context())
			if err != nil {
				return influxErr(err)
			}
			if err := d.render(st, func() output.Table { return influxStatusTable(st) }); err != nil {
				return err
			}
			if !st.InSync {
				return checkFailed(fmt.Sprintf("influx: %d change(s) needed on database %s", len(st.Drift), st.Database),
					"review with 'quantx-db influx setup --dry-run', then run 'quantx-db influx setup'")
			}
			return nil
		},
	}
}

func influxStatusTable(st influx.Status) output.Table {
	t := output.Table{Header: []string{"KIND", "NAME", "STATE", "DETAIL"}}
	for _, o := range st.Objects {
		t.Rows = append(t.Rows, []string{o.Kind, o.Name, o.State, orDash(o.Detail)})
	}
	state := "in sync"
	if !st.InSync {
		state = fmt.Sprintf("%d change(s) needed", len(st.Drift))
	}
	t.Notes = append(t.Notes, fmt.Sprintf("influx %s (%s %s), database %s: %s", st.Server.URL, st.Server.Dialect, st.Server.Version, st.Database, state))
	for _, a := range st.Drift {
		t.Notes = append(t.Notes, "  "+a.Description)
	}
	for _, e := range st.Extras {
		t.Notes = append(t.Notes, fmt.Sprintf("note: %s %s: %s", e.Kind, e.Name, e.Note))
	}
	return t
}
