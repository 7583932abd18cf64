package partitions

import (
	"fmt"
	"time"
)

// monthStart is the first instant of t's month in UTC. Partitions are named
// and bounded in UTC whatever the server's or the session's TimeZone
// (seed-defects #8).
func monthStart(t time.Time) time.Time {
	t = t.UTC()
	return time.Date(t.Year(), t.Month(), 1, 0, 0, 0, 0, time.UTC)
}

// MonthName is the partition name of the month that starts at from:
// activity_logs_yYYYYmMM.
func MonthName(from time.Time) string {
	from = from.UTC()
	return fmt.Sprintf("%s_y%04dm%02d", MonthlyTable, from.Year(), int(from.Month()))
}

// boundLiteral writes a bound with an explicit +00 offset: a bare date would
// be read in the session TimeZone.
func boundLiteral(t time.Time) string {
	return "'" + t.UTC().Format("2006-01-02 15:04:05") + "+00'"
}
