package influx

import (
	"context"
	"fmt"
	"slices"
	"sort"
	"strings"

	"github.com/quantx/quantx-db/internal/influxclient"
)

// SchemaCheck compares the field types the server has seen in the raw tier
// with the line-protocol contract. InfluxDB fixes a field's type at its first
// write to a shard, and every later write of another type fails (seed defect
// 47), so a wrong type found here means writers are losing points.
type SchemaCheck struct {
	Database string          `json:"database"`
	Tier     string          `json:"tier"`
	OK       bool            `json:"ok"`
	Findings []SchemaFinding `json:"findings"`
}

// SchemaFinding is one field that breaks the contract.
type SchemaFinding struct {
	Measurement string `json:"measurement"`
	Field       string `json:"field"`
	Want        string `json:"want"` // contract type, "" for a field the contract does not list
	Got         string `json:"got"`  // live type(s), comma separated when shards disagree
	Problem     string `json:"problem"`
}

// CheckSchema reads SHOW FIELD KEYS for the raw tier and reports each field
// whose type differs from the contract, or that the contract does not list.
func (p *Provisioner) CheckSchema(ctx context.Context) (SchemaCheck, error) {
	d := p.desired
	res := SchemaCheck{Database: d.Database, Tier: d.raw().Name, Findings: []SchemaFinding{}}
	series, err := p.client.Query(ctx, influxclient.Query{DB: d.Database, Retry: true,
		Statement: fmt.Sprintf("SHOW FIELD KEYS ON %s FROM %s./.*/", quoteIdent(d.Database), quoteIdent(d.raw().Name))})
	if err != nil {
		return res, fmt.Errorf("read field keys of %s: %w", d.Database, err)
	}
	live := map[string]map[string][]string{} // measurement → field → types
	for _, s := range series {
		for _, row := range s.Values {
			key, _ := s.Col(row, "fieldKey").(string)
			typ, _ := s.Col(row, "fieldType").(string)
			if live[s.Name] == nil {
				live[s.Name] = map[string][]string{}
			}
			if !slices.Contains(live[s.Name][key], typ) {
				live[s.Name][key] = append(live[s.Name][key], typ)
			}
		}
	}
	names := make([]string, 0, len(live))
	for m := range live {
		names = append(names, m)
	}
	sort.Strings(names)
	for _, mname := range names {
		mi := slices.IndexFunc(d.Measurements, func(m Measurement) bool { return m.Name == mname })
		fields := make([]string, 0, len(live[mname]))
		for f := range live[mname] {
			fields = append(fields, f)
		}
		sort.Strings(fields)
		for _, fname := range fields {
			got := live[mname][fname]
			sort.Strings(got)
			f := SchemaFinding{Measurement: mname, Field: fname, Got: strings.Join(got, ",")}
			if mi < 0 {
				continue // measurements outside the contract are the writer's own business
			}
			fi := slices.IndexFunc(d.Measurements[mi].Fields, func(x Field) bool { return x.Name == fname })
			switch {
			case fi < 0:
				f.Problem = "field not in the contract"
			case len(got) > 1:
				f.Want, f.Problem = string(d.Measurements[mi].Fields[fi].Type), "shards disagree on the type"
			case got[0] != string(d.Measurements[mi].Fields[fi].Type):
				f.Want, f.Problem = string(d.Measurements[mi].Fields[fi].Type), "type differs from the contract"
			default:
				continue
			}
			res.Findings = append(res.Findings, f)
		}
	}
	res.OK = len(res.Findings) == 0
	return res, nil
}

// CheckPoint checks one point against the contract before it is written: the
// measurement must be known, tags must be contract tags, and each field
// value's Go type must match (float64 for float, int64/int for integer,
// string, bool). A mismatch wraps ErrFieldTypeConflict.
func (d Desired) CheckPoint(measurement string, tags map[string]string, fields map[string]any) error {
	mi := slices.IndexFunc(d.Measurements, func(m Measurement) bool { return m.Name == measurement })
	if mi < 0 {
		return fmt.Errorf("measurement %s is not in the contract", measurement)
	}
	m := d.Measurements[mi]
	for k := range tags {
		if !slices.Contains(m.Tags, k) {
			return fmt.Errorf("measurement %s: %s is not a tag of the contract", measurement, k)
		}
	}
	for k, v := range fields {
		fi := slices.IndexFunc(m.Fields, func(f Field) bool { return f.Name == k })
		if fi < 0 {
			return fmt.Errorf("measurement %s: %s is not a field of the contract", measurement, k)
		}
		var got FieldType
		switch v.(type) {
		case float64, float32:
			got = TypeFloat
		case int, int64, int32, uint32, uint64:
			got = TypeInteger
		case string:
			got = TypeString
		case bool:
			got = TypeBoolean
		default:
			got = FieldType(fmt.Sprintf("%T", v))
		}
		if got != m.Fields[fi].Type {
			return fmt.Errorf("%w: measurement %s field %s is %s, got %s", ErrFieldTypeConflict, measurement, k, m.Fields[fi].Type, got)
		}
	}
	return nil
}

// Write sends line protocol (nanosecond timestamps) to one tier through the
// v2 write endpoint, which 1.8 and 2.x both serve (bucket "db/tier"). A field
// type conflict wraps ErrFieldTypeConflict; the server's message names the
// field.
func (p *Provisioner) Write(ctx context.Context, tier string, lines []byte) error {
	return p.client.Write(ctx, bucketName(p.desired.Database, Tier{Name: tier}), p.org, lines)
}
