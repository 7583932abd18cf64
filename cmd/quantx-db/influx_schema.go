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

Each rolled-up field is stored in the hourly and daily tiers under its own name,
with <field>_count (the raw points behind the value) and, for a mean,
<field>_sum beside it. The EXACT column says, per tier, whether the stored value
equals the aggregate of the interval's raw points: first, last, min, max, sum
and mean compose exactly; a median is exact only in the first rolled tier (above
it, it is the median of the medians below). -o json lists every field and tier
under "rollups", and how far back each tier's rollup recomputes under
"windows" (from late_tolerance).

--check reads SHOW FIELD KEYS of the raw tier and exits 3 when a field's type
differs from the contract (or the contract does not list it).`,
		Example: `  quantx-db influx schema
  quantx-db influx schema -o json
  quantx-db influx schema --check`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if !check {
				desired, err := d.influxDesired(f)
				if err != nil {
					return err
				}
				doc := schemaDoc{Desired: desired, Windows: desired.RollupWindows(), Rollups: desired.Compositions()}
				return d.render(doc, func() output.Table { return schemaTable(doc) })
			}
			p, err := d.influxProvisioner(f)
			if err != nil {
				return err
			}
			sc, err := p.CheckSchema(cmd.Context())
			if err != nil {
				return err
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

// schemaDoc is influx schema: the desired state, and what its rollups store and how exactly.
type schemaDoc struct {
	influx.Desired
	Windows []influx.RollupWindow `json:"windows"`
	Rollups []influx.Composition  `json:"rollups"`
}

func schemaTable(doc schemaDoc) output.Table {
	d := doc.Desired
	t := output.Table{Header: []string{"MEASUREMENT", "KEY", "KIND", "TYPE", "ROLLUP", "EXACT"}}
	exact := map[string][]string{} // measurement.field → "tier: yes|no"
	for _, c := range doc.Rollups {
		v := "yes"
		if !c.Exact {
			v = "no (" + c.Note + ")"
		}
		exact[c.Measurement+"."+c.Field] = append(exact[c.Measurement+"."+c.Field], c.Tier+": "+v)
	}
	for _, m := range d.Measurements {
		for _, tag := range m.Tags {
			t.Rows = append(t.Rows, []string{m.Name, tag, "tag", "string", "group by", "-"})
		}
		for _, fl := range m.Fields {
			x := "-"
			if e := exact[m.Name+"."+fl.Name]; len(e) > 0 {
				x = strings.Join(e, ", ")
			}
			t.Rows = append(t.Rows, []string{m.Name, fl.Name, "field", string(fl.Type), orDash(fl.Rollup), x})
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
	var windows []string
	for _, w := range doc.Windows {
		windows = append(windows, fmt.Sprintf("%s every %s recomputes the last %s", w.Tier, w.Every, w.Window))
	}
	t.Notes = append(t.Notes,
		"database "+d.Database+"; tiers: "+strings.Join(tiers, " → "),
		fmt.Sprintf("late tolerance %s: %s", influxDuration(d.LateTolerance), strings.Join(windows, "; ")),
		"rolled tiers also hold <field>_count per rolled-up field and <field>_sum per mean (carriers: exact daily means, stale checks)",
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
