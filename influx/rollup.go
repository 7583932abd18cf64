package influx

import (
	"fmt"
	"slices"
	"strings"
	"time"
)

// rollup is one measurement's aggregation from one tier into the next.
type rollup struct {
	Name        string // cq_<measurement>_<every>: the CQ (1.x) or task (2.x) name
	Measurement Measurement
	From, To    Tier
}

// rollups lists every rollup of d in apply order: all of raw→tier 2 first,
// then tier 2→tier 3, so a backfill reads a tier only after it was filled.
func (d Desired) rollups() []rollup {
	var out []rollup
	for i := 1; i < len(d.Tiers); i++ {
		for _, m := range d.Measurements {
			if len(m.rolledUp()) == 0 {
				continue
			}
			out = append(out, rollup{
				Name:        "cq_" + m.Name + "_" + d.Tiers[i].RollupEvery.String(),
				Measurement: m, From: d.Tiers[i-1], To: d.Tiers[i],
			})
		}
	}
	return out
}

// quoteIdent quotes an InfluxQL identifier: tier names start with a digit.
func quoteIdent(s string) string {
	return `"` + strings.ReplaceAll(strings.ReplaceAll(s, `\`, `\\`), `"`, `\"`) + `"`
}

// selectInto is the rollup's SELECT ... INTO; where is "" for the CQ body or
// a time range for a backfill. Each field keeps its name in the next tier
// (first("open") AS "open"), unlike mean(*), which would write mean_open and
// break the next rollup (seed defects, corrected setup).
func (r rollup) selectInto(db, where string) string {
	var cols []string
	for _, f := range r.Measurement.rolledUp() {
		cols = append(cols, fmt.Sprintf("%s(%s) AS %s", f.Rollup, quoteIdent(f.Name), quoteIdent(f.Name)))
	}
	q := fmt.Sprintf("SELECT %s INTO %s.%s.%s FROM %s.%s.%s", strings.Join(cols, ", "),
		quoteIdent(db), quoteIdent(r.To.Name), quoteIdent(r.Measurement.Name),
		quoteIdent(db), quoteIdent(r.From.Name), quoteIdent(r.Measurement.Name))
	if where != "" {
		q += " WHERE " + where
	}
	// GROUP BY * keeps tags as tags; without it SELECT INTO writes them as fields.
	return q + fmt.Sprintf(" GROUP BY time(%s), *", r.To.RollupEvery)
}

// createCQ is the 1.x continuous query of the rollup.
func (r rollup) createCQ(db string) string {
	resample := ""
	if r.To.ResampleFor != 0 {
		resample = " RESAMPLE FOR " + r.To.ResampleFor.String()
	}
	return fmt.Sprintf("CREATE CONTINUOUS QUERY %s ON %s%s BEGIN %s END",
		quoteIdent(r.Name), quoteIdent(db), resample, r.selectInto(db, ""))
}

// normalizeInfluxQL makes a CQ read back from SHOW CONTINUOUS QUERIES
// comparable with the one we send: the server re-prints the statement and
// drops quotes that an identifier does not need, and nothing else.
func normalizeInfluxQL(q string) string {
	return strings.Join(strings.Fields(strings.ReplaceAll(q, `"`, "")), " ")
}

// bucketName is the 2.x bucket of a tier. "db/rp" is the name 1.8's v2 write
// API accepts, so writers use the same bucket name on both versions.
func bucketName(db string, t Tier) string { return db + "/" + t.Name }

// taskName is the 2.x task of the rollup. Tasks are named per organisation,
// not per database as 1.x CQs are, so the name carries the database: two
// databases in one org (staging and prod, or parallel tests) must not collide.
func (r rollup) taskName(db string) string { return db + "/" + r.Name }

// fluxTask is the 2.x task of the rollup. Fields that share an aggregate
// share one pipeline; the results are unioned and written to the next bucket.
// timeSrc "_start" stamps each window with its start, as InfluxQL does, so
// 1.x and 2.x rollups of the same data carry the same timestamps.
func (r rollup) fluxTask(db string) string {
	window := r.To.ResampleFor
	if window == 0 {
		window = r.To.RollupEvery
	}
	byFn := map[string][]string{}
	var fns []string
	for _, f := range r.Measurement.rolledUp() {
		if _, ok := byFn[f.Rollup]; !ok {
			fns = append(fns, f.Rollup)
		}
		byFn[f.Rollup] = append(byFn[f.Rollup], f.Name)
	}
	var b strings.Builder
	fmt.Fprintf(&b, "option task = {name: %q, every: %s}\n\n", r.taskName(db), r.To.RollupEvery)
	fmt.Fprintf(&b, "data = from(bucket: %q)\n  |> range(start: -%s)\n  |> filter(fn: (r) => r._measurement == %q)\n\n",
		bucketName(db, r.From), window, r.Measurement.Name)
	var parts []string
	for _, fn := range fns {
		var conds []string
		for _, name := range byFn[fn] {
			conds = append(conds, fmt.Sprintf("r._field == %q", name))
		}
		parts = append(parts, fmt.Sprintf("  data |> filter(fn: (r) => %s) |> aggregateWindow(every: %s, fn: %s, timeSrc: \"_start\", createEmpty: false)",
			strings.Join(conds, " or "), r.To.RollupEvery, fn))
	}
	if len(parts) == 1 {
		// union() refuses a single stream ("union must have at least two streams").
		fmt.Fprintf(&b, "%s\n  |> to(bucket: %q)\n", strings.TrimSpace(parts[0]), bucketName(db, r.To))
		return b.String()
	}
	fmt.Fprintf(&b, "union(tables: [\n%s,\n])\n  |> to(bucket: %q)\n", strings.Join(parts, ",\n"), bucketName(db, r.To))
	return b.String()
}

// normalizeFlux makes a task script read back from a 2.x server comparable
// with ours. The server re-formats a script whenever a PATCH touches its task
// options (name, every): it re-indents, breaks lines and adds trailing commas
// (seen on 2.7.12). Whitespace outside string literals and a comma before a
// closing bracket carry no meaning, so both go.
func normalizeFlux(src string) string {
	var b strings.Builder
	inString, escaped := false, false
	for _, c := range src {
		switch {
		case inString:
			b.WriteRune(c)
			switch {
			case escaped:
				escaped = false
			case c == '\\':
				escaped = true
			case c == '"':
				inString = false
			}
			continue
		case c == '"':
			inString = true
		case c == ' ' || c == '\t' || c == '\n' || c == '\r':
			continue
		case (c == ')' || c == ']') && strings.HasSuffix(b.String(), ","):
			s := b.String()
			b.Reset()
			b.WriteString(s[:len(s)-1])
		}
		b.WriteRune(c)
	}
	return b.String()
}

// windows splits [from, to) into backfill windows of at most size, aligned
// to the rollup interval so that no window cuts a rollup bucket in two.
func windows(from, to time.Time, every, size time.Duration) [][2]time.Time {
	from = from.UTC().Truncate(every)
	if rem := to.UTC().Sub(to.UTC().Truncate(every)); rem > 0 {
		to = to.UTC().Truncate(every).Add(every)
	}
	size = max(size.Truncate(every), every)
	var out [][2]time.Time
	for t := from; t.Before(to); t = t.Add(size) {
		out = append(out, [2]time.Time{t, slices.MinFunc([]time.Time{t.Add(size), to.UTC()}, time.Time.Compare)})
	}
	return out
}
