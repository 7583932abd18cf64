package partitions

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
)

// ListOptions selects what List reads.
type ListOptions struct {
	Exact bool // count rows with count(*) instead of the reltuples estimate
}

// List is every partition of every partitioned table in the schema, with the
// warnings a DBA must act on.
type List struct {
	Partitions []Partition `json:"partitions"`
	Hash       []HashCheck `json:"hash"`
	Warnings   []string    `json:"warnings"`
}

// List reads the partitions. DEFAULT partitions are always counted exactly
// (an estimate of 0 before ANALYZE would hide rows that block the next CREATE).
func (m *Manager) List(ctx context.Context, lo ListOptions) (List, error) {
	parts, err := partitionsOf(ctx, m.pool, m.opts.Schema, "")
	if err != nil {
		return List{}, err
	}
	l := List{Partitions: parts, Warnings: []string{}}
	for i := range l.Partitions {
		p := &l.Partitions[i]
		if !lo.Exact && !p.Default {
			continue
		}
		if p.Rows, err = exactRows(ctx, m.pool, m.opts.Schema, p.Name); err != nil {
			return List{}, err
		}
		p.RowsExact = true
		if p.Default && p.Rows > 0 {
			l.Warnings = append(l.Warnings, fmt.Sprintf("%s holds %d row(s): they belong to months without a partition", p.Name, p.Rows))
		}
	}
	l.Hash = checkHash(parts)
	for _, h := range l.Hash {
		if !h.OK {
			l.Warnings = append(l.Warnings, h.String())
		}
	}
	return l, nil
}

// Health is the partition state of MonthlyTable that a status report shows.
type Health struct {
	Table       string `json:"table"`
	DefaultRows int64  `json:"default_rows"` // exact; > 0 is a problem to report
	// HorizonMonths is how many months after the current UTC month are covered
	// without a gap; -1 when the current month itself has no partition.
	HorizonMonths int         `json:"horizon_months"`
	CoveredUntil  time.Time   `json:"covered_until,omitzero"` // end of the covered run of months
	Hash          []HashCheck `json:"hash"`
	// DefaultOldest and DefaultNewest bound created_at of the rows in DEFAULT
	// (zero when it is empty): they say how far back and ahead Ensure must
	// reach to move them out (DefaultSpan).
	DefaultOldest time.Time `json:"default_oldest,omitzero"`
	DefaultNewest time.Time `json:"default_newest,omitzero"`
}

// DefaultSpan is how far Ensure must reach, given the current UTC month
// (now), to move every row of DEFAULT into a monthly partition: back months
// before it (0: none) and ahead months after it (0: the default of 3 reaches).
func (h Health) DefaultSpan(now time.Time) (back, ahead int) {
	cur := monthStart(now)
	back = max(monthsBetween(monthStart(h.DefaultOldest), cur), 0)
	if ahead = monthsBetween(cur, monthStart(h.DefaultNewest)); ahead <= 3 {
		ahead = 0
	}
	return back, ahead
}

// monthsBetween counts whole months from a to b (both month starts).
func monthsBetween(a, b time.Time) int {
	return (b.Year()-a.Year())*12 + int(b.Month()) - int(a.Month())
}

// Health reads the DEFAULT row count, the premade horizon of MonthlyTable and
// the hash checks. It takes no lock and changes nothing.
func (m *Manager) Health(ctx context.Context) (Health, error) {
	h := Health{Table: MonthlyTable, HorizonMonths: -1, Hash: []HashCheck{}}
	parts, err := partitionsOf(ctx, m.pool, m.opts.Schema, "")
	if err != nil {
		return h, err
	}
	var monthly []Partition
	for _, p := range parts {
		if p.Table != MonthlyTable {
			continue
		}
		monthly = append(monthly, p)
		if p.Default {
			if h.DefaultRows, err = exactRows(ctx, m.pool, m.opts.Schema, p.Name); err != nil {
				return h, err
			}
			if h.DefaultRows > 0 {
				err := m.pool.QueryRow(ctx, "SELECT min(created_at), max(created_at) FROM ONLY "+
					pgx.Identifier{m.opts.Schema, p.Name}.Sanitize()).Scan(&h.DefaultOldest, &h.DefaultNewest)
				if err != nil {
					return h, fmt.Errorf("date range of %s: %w", p.Name, err)
				}
			}
		}
	}
	h.HorizonMonths, h.CoveredUntil = horizon(monthly, m.opts.Now())
	h.Hash = checkHash(parts)
	return h, nil
}

// horizon counts the months after the month of now that the monthly
// partitions cover without a gap (-1 when that month itself has no
// partition), and returns the end of the covered run.
func horizon(monthly []Partition, now time.Time) (months int, until time.Time) {
	months = -1
	from := monthStart(now)
	for i := 0; i < 1200; i++ { // 100 years: a guard, not a limit anyone reaches
		to := from.AddDate(0, 1, 0)
		if holder, _ := coveredBy(monthly, from, to); holder == "" {
			break
		}
		months, until = i, to
		from = to
	}
	return months, until
}

// Partitions returns the partitions of table (reltuples row estimates).
func (m *Manager) Partitions(ctx context.Context, table string) ([]Partition, error) {
	return partitionsOf(ctx, m.pool, m.opts.Schema, table)
}
