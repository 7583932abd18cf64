package influx

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/quantx/quantx-db/internal/influxclient"
)

// StaleOptions says how far back Stale looks.
type StaleOptions struct {
	// Since is how far back interval starts are checked; 0 means 72h, which
	// reaches the newest settled day of a daily tier. It should not exceed the
	// raw tier's retention: older raw points are gone, not late.
	Since time.Duration
}

// StaleReport lists the rolled intervals that do not cover every point of the
// tier below: points written after the last scheduled rollup of their
// interval, later than the late tolerance. A re-roll (Backfill) over them
// fixes it.
type StaleReport struct {
	CheckedFrom time.Time     `json:"checked_from"`
	Checked     int           `json:"intervals_checked"` // settled intervals compared, over every rollup
	Stale       []StaleWindow `json:"stale"`
}

// StaleWindow is one rolled interval of one measurement that misses points.
type StaleWindow struct {
	Tier        string    `json:"tier"`
	Measurement string    `json:"measurement"`
	Start       time.Time `json:"start"`
	Fields      []string  `json:"fields"` // the rolled-up fields whose counts differ
	Source      int64     `json:"source_points"`
	Rolled      int64     `json:"rolled_points"`
}

// staleGrace is how long after its scheduled time a rollup run may still be
// finishing: an interval counts as settled only after it.
const staleGrace = 2 * time.Minute

// Stale compares, for every rolled tier, the raw points behind each rolled-up
// field in each settled interval (the <field>_count carriers, which hold raw
// point counts in every tier) with the raw points the raw tier holds for that
// interval now. A point written after the last rollup of its interval makes
// them differ in the hourly and the daily tier alike. An interval is settled
// when its last scheduled rollup has run (Desired.windows); newer ones are left
// to the schedule, so a point within the late tolerance is never reported.
// Intervals older than the raw tier's retention are not compared (their raw
// points are gone), and a point that overwrites an existing raw point (same
// series and time) changes no count and is not seen. InfluxQL reads serve both
// versions (2.x through the DBRP mappings).
func (p *Provisioner) Stale(ctx context.Context, o StaleOptions) (StaleReport, error) {
	if o.Since <= 0 {
		o.Since = 72 * time.Hour
	}
	now := p.now().UTC()
	rep := StaleReport{CheckedFrom: now.Add(-o.Since), Stale: []StaleWindow{}}
	db := p.desired.Database
	for _, r := range p.desired.rollups() {
		every := time.Duration(r.To.RollupEvery)
		from := rep.CheckedFrom.Truncate(every)
		to := now.Add(-time.Duration(r.Window) - staleGrace).Truncate(every).Add(every)
		if raw := time.Duration(p.desired.raw().Duration); raw != 0 {
			// Older raw points are expired, not late: compare only intervals the raw tier still holds whole.
			if oldest := now.Add(-raw).Truncate(every).Add(every); from.Before(oldest) {
				from = oldest
			}
		}
		if !from.Before(to) {
			continue
		}
		var src, dst []string
		for _, f := range r.Measurement.rolledUp() {
			src = append(src, fmt.Sprintf("count(%s) AS %s", quoteIdent(f.Name), quoteIdent(f.Name)))
			dst = append(dst, fmt.Sprintf("sum(%s) AS %s", quoteIdent(f.Name+"_count"), quoteIdent(f.Name)))
		}
		count := func(tier string, cols []string) (map[time.Time]map[string]int64, error) {
			q := fmt.Sprintf("SELECT %s FROM %s.%s.%s WHERE time >= '%s' AND time < '%s' GROUP BY time(%s)",
				strings.Join(cols, ", "), quoteIdent(db), quoteIdent(tier), quoteIdent(r.Measurement.Name),
				from.Format(time.RFC3339), to.Format(time.RFC3339), r.To.RollupEvery)
			series, err := p.client.Query(ctx, influxclient.Query{DB: db, Statement: q, Retry: true, Timeout: 20 * p.client.Timeout()})
			if err != nil {
				return nil, fmt.Errorf("count %s of %s: %w", r.Measurement.Name, tier, err)
			}
			return countsByTime(series), nil
		}
		have, err := count(p.desired.raw().Name, src)
		if err != nil {
			return rep, err
		}
		rolled, err := count(r.To.Name, dst)
		if err != nil {
			return rep, err
		}
		for t := from; t.Before(to); t = t.Add(every) {
			rep.Checked++
			w := StaleWindow{Tier: r.To.Name, Measurement: r.Measurement.Name, Start: t}
			for _, f := range r.Measurement.rolledUp() {
				a, b := have[t][f.Name], rolled[t][f.Name]
				w.Source, w.Rolled = max(w.Source, a), max(w.Rolled, b)
				if a != b {
					w.Fields = append(w.Fields, f.Name)
				}
			}
			if len(w.Fields) > 0 {
				rep.Stale = append(rep.Stale, w)
			}
		}
	}
	slices.SortStableFunc(rep.Stale, func(a, b StaleWindow) int { return a.Start.Compare(b.Start) })
	return rep, nil
}

// countsByTime reads a GROUP BY time answer into interval start → column → value.
func countsByTime(series []influxclient.Series) map[time.Time]map[string]int64 {
	out := map[time.Time]map[string]int64{}
	for _, s := range series {
		for _, row := range s.Values {
			ts, _ := s.Col(row, "time").(string)
			t, err := time.Parse(time.RFC3339Nano, ts)
			if err != nil {
				continue
			}
			m := map[string]int64{}
			for i, c := range s.Columns {
				if v, ok := row[i].(float64); ok && c != "time" {
					m[c] = int64(v)
				}
			}
			out[t.UTC()] = m
		}
	}
	return out
}
