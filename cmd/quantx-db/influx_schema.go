package main

import (
	"fmt"
	"strings"

	"github.com/spf13/cobra"

	"github.com/quantx/quantx-db/influx"
	"github.com/quantx/quantx-db/internal/output"
)

func newInfluxSchemaCmd(d *deps, f *influxFlags) *cobra.Command {
	var check bool
	cmd := &cobra.Command{
		Use:   "schema",
		Short: "Print the line-protocol contract of each measurement (--check: compare with the server)",
		Long: `Print the measurements, tags, fields and field types writers must follow, and
how each field is rolled up. InfluxDB has no CREATE MEASUREMENT: the first write
fixes a field's type, and later writes of another type fail.

--check reads SHOW FIELD KEYS of the raw tier and exits 3 when a field's type
differs from the contract (or the contract does not list it).`,
		Example: `  quantx-db influx schema
  quantx-db influx schema -o json
  quantx-db influx schema --check`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if !check {
				desired, err := influxDesired(f)
				if err != nil {
					return err
				}
				return d.render(desired, func() output.Table { return schemaTable(desired) })
			}
			p, err := d.influxProvisioner(f)
			if err != nil {
				return err
			}
			sc, err := p.CheckSchema(cmd.Context())
			if err != nil {
				return influxErr(err)
			}
			if err := d.render(sc, func() output.Table { return schemaCheckTable(sc) }); err != nil {
				return err
			}
			if !sc.OK {
				return checkFailed(fmt.Sprintf("influx: %d field(s) break the line-protocol contract", len(sc.Findings)),
					"fix the writer; a field's type changes only in a new shard (or after the data expires)")
			}
			return nil
		},
	}
	cmd.Flags().BoolVar(&check, "check", false, "compare the contract with the field types on the server; exit 3 on a difference")
	return cmd
}

func schemaTable(d influx.Desired) output.Table {
	t := output.Table{Header: []string{"MEASUREMENT", "KEY", "KIND", "TYPE", "ROLLUP"}}
	for _, m := range d.Measurements {
		for _, tag := range m.Tags {
			t.Rows = append(t.Rows, []string{m.Name, tag, "tag", "string", "group by"})
		}
		for _, fl := range m.Fields {
			t.Rows = append(t.Rows, []string{m.Name, fl.Name, "field", string(fl.Type), orDash(fl.Rollup)})
		}
	}
	var tiers []string
	for i, tr := range d.Tiers {
		s := fmt.Sprintf("%s (%s", tr.Name, influxDuration(tr.Duration))
		if i > 0 {
			s += ", rollup every " + tr.RollupEvery.String()
		}
		tiers = append(tiers, s+")")
	}
	t.Notes = append(t.Notes,
		"database "+d.Database+"; tiers: "+strings.Join(tiers, " → "),
		"integer fields are written with the i suffix (volume=100i); everything else float unless typed string/boolean")
	return t
}

// influxDuration prints a retention in days when it is whole days.
func influxDuration(v influx.Duration) string {
	b, _ := v.MarshalText()
	return string(b)
}

func schemaCheckTable(sc influx.SchemaCheck) output.Table {
	t := output.Table{Header: []string{"MEASUREMENT", "FIELD", "WANT", "GOT", "PROBLEM"}}
	for _, f := range sc.Findings {
		t.Rows = append(t.Rows, []string{f.Measurement, f.Field, orDash(f.Want), f.Got, f.Problem})
	}
	if sc.OK {
		t.Header = nil
		t.Notes = append(t.Notes, fmt.Sprintf("database %s, tier %s: every field follows the contract", sc.Database, sc.Tier))
	}
	return t
}
