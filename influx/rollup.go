package influx

import (
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/quantx/quantx-db/internal/influxclient"
)

// rollup is one measurement's aggregation from one tier into the next.
type rollup struct {
	Name        string // cq_<measurement>_<every>: the CQ (1.x) or task (2.x) name
	Measurement Measurement
	From, To    Tier
	First       bool     // From is the raw tier: the aggregates read raw points, not carriers
	Window      Duration // how far back each scheduled run recomputes (Desired.windows)
}

// rollups lists every rollup of d in apply order: all of raw→tier 2 first,
// then tier 2→tier 3, so a backfill reads a tier only after it was filled.
func (d Desired) rollups() []rollup {
	var out []rollup
	ws := d.windows()
	for i := 1; i < len(d.Tiers); i++ {
		for _, m := range d.Measurements {
			if len(m.rolledUp()) == 0 {
				continue
			}
			out = append(out, rollup{
				Name:        "cq_" + m.Name + "_" + d.Tiers[i].RollupEvery.String(),
				Measurement: m, From: d.Tiers[i-1], To: d.Tiers[i], First: i == 1, Window: ws[i],
			})
		}
	}
	return out
}

// windows returns, for each tier after the raw one (index 0 is unused), how
// far back its scheduled rollup recomputes, so that a raw point written up to
// LateTolerance after its own timestamp reaches every tier without a re-roll.
//
// A rollup runs at each multiple B of its interval i and recomputes the
// intervals in [B-window, B) (RESAMPLE FOR on 1.x, range(start: -window) on
// 2.x). A raw point of interval [s, s+i) arrives before s+i+L, so the first
// tier needs a run at or after that: window = i + ceil(L/i)·i. The tier is
// then final lag = ceil(L/i)·i after an interval's end. A later tier reads the
// tier below, which may still change up to lag after the end of this tier's
// interval (and at lag 0 its run at the same instant may come second), so it
// needs a run strictly after that: window = i + (floor(lag/i)+1)·i.
// Tier.ResampleFor may widen a window. With the defaults (L 2h, hourly and
// daily tiers): 3h and 2d.
func (d Desired) windows() []Duration {
	ws := make([]Duration, len(d.Tiers))
	lag := time.Duration(d.LateTolerance)
	for k := 1; k < len(d.Tiers); k++ {
		i := time.Duration(d.Tiers[k].RollupEvery)
		n := lag/i + 1 // a run strictly after the tier below settles
		if k == 1 {
			n = (lag + i - 1) / i // a run at or after the last in-tolerance write
		}
		w := max(i+n*i, time.Duration(d.Tiers[k].ResampleFor))
		ws[k] = Duration(w)
		lag = w - i // the last run recomputing an interval comes this long after its end
	}
	return ws
}

// RollupWindow is how a rolled tier is kept current: every Every, the last
// Window of intervals are recomputed from the tier below.
type RollupWindow struct {
	Tier   string   `json:"tier"`
	Every  Duration `json:"every"`
	Window Duration `json:"recomputes"`
}

// RollupWindows lists the rolled tiers' windows that LateTolerance implies.
func (d Desired) RollupWindows() []RollupWindow {
	out := []RollupWindow{}
	ws := d.windows()
	for k := 1; k < len(d.Tiers); k++ {
		out = append(out, RollupWindow{Tier: d.Tiers[k].Name, Every: d.Tiers[k].RollupEvery, Window: ws[k]})
	}
	return out
}

// carriers are what a rolled-up field writes into every rolled tier besides
// its value: the count of raw points behind it, and for a mean their sum.
func (f Field) carriers() []string {
	if f.Rollup == "mean" {
		return []string{f.Name + "_count", f.Name + "_sum"}
	}
	return []string{f.Name + "_count"}
}

// Composition says how a rolled-up field's value in a tier relates to the raw
// points. The schema contract (influx schema) prints it.
type Composition struct {
	Measurement string   `json:"measurement"`
	Field       string   `json:"field"`
	Tier        string   `json:"tier"`
	Rollup      string   `json:"rollup"`
	Fields      []string `json:"fields"` // written into the tier: the value and its carriers
	Expression  string   `json:"expression"`
	Exact       bool     `json:"exact"` // the value equals the aggregate of the raw points of the interval
	Note        string   `json:"note,omitempty"`
}

// Compositions lists, for every rolled-up field and rolled tier, what is
// stored and whether it is exact. first, last, min, max and sum compose
// exactly; a mean is exact in every tier because the sum and count of the raw
// points travel with it; a median is exact only in the first rolled tier: a
// median of medians is not the median of the points.
func (d Desired) Compositions() []Composition {
	out := []Composition{}
	for _, r := range d.rollups() {
		for _, f := range r.Measurement.rolledUp() {
			c := Composition{Measurement: r.Measurement.Name, Field: f.Name, Tier: r.To.Name, Rollup: f.Rollup,
				Fields: append([]string{f.Name}, f.carriers()...), Exact: true}
			cols := f.columns(r.First)
			c.Expression = cols[0].influxQL()
			if f.Rollup == "median" && !r.First {
				c.Exact = false
				c.Note = fmt.Sprintf("median of the %s medians, not of the raw points", r.From.Name)
			}
			out = append(out, c)
		}
	}
	return out
}

// column is one aggregate a rollup writes: fn(src) AS as, or for the mean of
// a later tier sum(src)/sum(den) AS as.
type column struct {
	fn, src, den, as string
}

func (c column) influxQL() string {
	if c.den != "" {
		return fmt.Sprintf("sum(%s) / sum(%s) AS %s", quoteIdent(c.src), quoteIdent(c.den), quoteIdent(c.as))
	}
	return fmt.Sprintf("%s(%s) AS %s", c.fn, quoteIdent(c.src), quoteIdent(c.as))
}

// columns are the aggregates of f in a rolled tier, the value first. From raw
// points (first): the aggregate, count, and for a mean the sum. From the tier
// below: the same aggregate of the values (exact for first, last, min, max,
// sum), sums of the carriers, and a mean as their quotient.
func (f Field) columns(first bool) []column {
	n, cnt, sum := f.Name, f.Name+"_count", f.Name+"_sum"
	if first {
		cols := []column{{fn: f.Rollup, src: n, as: n}, {fn: "count", src: n, as: cnt}}
		if f.Rollup == "mean" {
			cols = append(cols, column{fn: "sum", src: n, as: sum})
		}
		return cols
	}
	if f.Rollup == "mean" {
		return []column{{src: sum, den: cnt, as: n}, {fn: "sum", src: cnt, as: cnt}, {fn: "sum", src: sum, as: sum}}
	}
	return []column{{fn: f.Rollup, src: n, as: n}, {fn: "sum", src: cnt, as: cnt}}
}

// quoteIdent quotes an InfluxQL identifier: tier names start with a digit.
func quoteIdent(s string) string { return influxclient.QuoteIdent(s) }

// selectInto is the rollup's SELECT ... INTO; where is "" for the CQ body or
// a time range for a backfill. Each field keeps its name in the next tier
// (first("open") AS "open"), unlike mean(*), which would write mean_open and
// break the next rollup (seed defects, corrected setup).
func (r rollup) selectInto(db, where string) string {
	var cols []string
	for _, f := range r.Measurement.rolledUp() {
		for _, c := range f.columns(r.First) {
			cols = append(cols, c.influxQL())
		}
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
	if r.Window != r.To.RollupEvery {
		resample = " RESAMPLE FOR " + r.Window.String()
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

// fluxTask is the 2.x task of the rollup: the same aggregates as selectInto,
// grouped into one pipeline per aggregate function, unioned and written to
// the next bucket. timeSrc "_start" stamps each window with its start, as
// InfluxQL does, so 1.x and 2.x rollups of the same data carry the same
// timestamps.
func (r rollup) fluxTask(db string) string {
	var b strings.Builder
	fmt.Fprintf(&b, "option task = {name: %q, every: %s}\n\n", r.taskName(db), r.To.RollupEvery)
	fmt.Fprintf(&b, "data = from(bucket: %q)\n  |> range(start: -%s)\n  |> filter(fn: (r) => r._measurement == %q)\n\n",
		bucketName(db, r.From), r.Window, r.Measurement.Name)
	// Pipelines by (function, rename suffix), in a fixed order.
	type group struct{ fn, suffix string }
	byGroup := map[group][]string{}
	var order []group
	add := func(g group, field string) {
		if _, ok := byGroup[g]; !ok {
			order = append(order, g)
		}
		byGroup[g] = append(byGroup[g], field)
	}
	var means []string
	for _, f := range r.Measurement.rolledUp() {
		switch {
		case r.First:
			add(group{fn: f.Rollup}, f.Name)
		case f.Rollup == "mean":
			means = append(means, f.Name)
		default:
			add(group{fn: f.Rollup}, f.Name)
		}
	}
	for _, f := range r.Measurement.rolledUp() {
		if r.First {
			add(group{fn: "count", suffix: "_count"}, f.Name)
		} else {
			add(group{fn: "sum"}, f.Name+"_count")
		}
	}
	for _, f := range r.Measurement.rolledUp() {
		if f.Rollup != "mean" {
			continue
		}
		if r.First {
			add(group{fn: "sum", suffix: "_sum"}, f.Name)
		} else {
			add(group{fn: "sum"}, f.Name+"_sum")
		}
	}
	agg := func(fn string) string {
		if fn == "median" { // InfluxQL's median: the mean of the two middle values, exactly
			fn = `(column, tables=<-) => tables |> median(column: column, method: "exact_mean")`
		}
		return fmt.Sprintf("aggregateWindow(every: %s, fn: %s, timeSrc: \"_start\", createEmpty: false)", r.To.RollupEvery, fn)
	}
	var parts []string
	for _, g := range order {
		p := fmt.Sprintf("  data |> filter(fn: (r) => %s) |> %s", fieldFilter(byGroup[g]), agg(g.fn))
		if g.suffix != "" {
			p += fmt.Sprintf(` |> map(fn: (r) => ({r with _field: r._field + %q}))`, g.suffix)
		}
		parts = append(parts, p)
	}
	for _, n := range means {
		// The exact mean of the raw points: their sum over their count, both carried up.
		sum, cnt := n+"_sum", n+"_count"
		parts = append(parts, fmt.Sprintf("  data |> filter(fn: (r) => %s) |> %s\n"+
			"    |> pivot(rowKey: [\"_time\"], columnKey: [\"_field\"], valueColumn: \"_value\")\n"+
			"    |> filter(fn: (r) => exists r.%s and exists r.%s and r.%s > 0)\n"+
			"    |> map(fn: (r) => ({r with _field: %q, _value: float(v: r.%s) / float(v: r.%s)}))\n"+
			"    |> drop(columns: [%q, %q])",
			fieldFilter([]string{sum, cnt}), agg("sum"), sum, cnt, cnt, n, sum, cnt, sum, cnt))
	}
	if len(parts) == 1 {
		// union() refuses a single stream ("union must have at least two streams").
		fmt.Fprintf(&b, "%s\n  |> to(bucket: %q)\n", strings.TrimSpace(parts[0]), bucketName(db, r.To))
		return b.String()
	}
	fmt.Fprintf(&b, "union(tables: [\n%s,\n])\n  |> to(bucket: %q)\n", strings.Join(parts, ",\n"), bucketName(db, r.To))
	return b.String()
}

// fieldFilter is the Flux predicate r._field == a or r._field == b ...
func fieldFilter(fields []string) string {
	conds := make([]string, len(fields))
	for i, f := range fields {
		conds[i] = fmt.Sprintf("r._field == %q", f)
	}
	return strings.Join(conds, " or ")
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
		case (c == ')' || c == ']' || c == '}') && strings.HasSuffix(b.String(), ","):
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
