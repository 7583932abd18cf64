package stack

import (
	"errors"
	"time"

	"github.com/quantx/quantx-db/internal/report"
	"github.com/quantx/quantx-db/partitions"
	"github.com/quantx/quantx-db/roles"
)

// Item is one line of a status or doctor report: what was checked, its
// state and what was found, as facts. Advice (which command fixes it) is the
// caller's to write, from Finding and Err.
type Item struct {
	Store  string       `json:"store"`  // postgres, influx, elastic, s3 or tools
	Name   string       `json:"name"`   // what was checked
	State  report.State `json:"state"`  // ok, warn, action, error or skipped
	Detail string       `json:"detail"` // what was found, in one line

	// The numbers behind Detail, where the line has one (nil: none).
	Count       *int64   `json:"count,omitempty"`        // what the line counts: pending migrations or changes, INVALID indexes, stale intervals, partitions due
	Rows        *int64   `json:"rows,omitempty"`         // rows concerned: in the DEFAULT partition, due for retention
	Version     *int64   `json:"version,omitempty"`      // the database's migration version
	MonthsAhead *int64   `json:"months_ahead,omitempty"` // partitions premade after the current month (-1: not even this month)
	AgeSeconds  *float64 `json:"age_seconds,omitempty"`  // age of the newest backup, of the last archived WAL segment
	SkewSeconds *float64 `json:"skew_seconds,omitempty"` // clock difference between here and the server

	// Finding is the typed fact behind a state that asks for something
	// (action, warn, skipped): one of the Finding types of this package, or
	// a *migrations.Problem. Nil when there is nothing to advise.
	Finding any `json:"-"`
	// Err is the failure behind an "error" line (and behind a check that
	// failed with one): a *StoreError whose cause stays reachable, so that
	// the caller gives the exit code and hint of that cause.
	Err error `json:"-"`
}

// Report is the one shape of status and doctor: their items in order, and
// what they add up to.
type Report struct {
	CheckedAt   time.Time `json:"checked_at"`
	NeedsAction bool      `json:"needs_action"` // an item is in state action
	Errors      bool      `json:"errors"`       // an item is in state error
	Problems    int       `json:"problems"`     // items in state action or error
	Items       []Item    `json:"items"`
	// Partitions is the partition health behind the postgres "partitions"
	// line, for the CLI's metrics; nil when it was not read.
	Partitions *partitions.Health `json:"-"`
	// Backups is the newest backup of each kind and database in the
	// catalogue, for the CLI's metrics; nil when it was not read.
	Backups []NewestBackup `json:"-"`
}

func (r *Report) add(items ...Item) {
	for _, it := range items {
		r.Items = append(r.Items, it)
		switch it.State.Severity() {
		case report.SeverityAction:
			r.NeedsAction = true
			r.Problems++
		case report.SeverityError:
			r.Errors = true
			r.Problems++
		}
	}
}

// Err joins the failures behind every "error" line, in report order, or
// returns nil. Each is a *StoreError.
func (r Report) Err() error {
	var errs []error
	for _, it := range r.Items {
		if it.State == report.StateError && it.Err != nil {
			errs = append(errs, it.Err)
		}
	}
	return errors.Join(errs...)
}

// errorItem is the line of a store or check that could not be read.
func errorItem(store, name string, err error) Item {
	return Item{Store: store, Name: name, State: report.StateError, Detail: err.Error(), Err: storeErr(store, err)}
}

func count[T int | int64](n T) *int64 { v := int64(n); return &v }

func seconds(d time.Duration) *float64 { v := d.Seconds(); return &v }

// The findings: the typed facts behind items that ask for something. The
// CLI turns each into the command or step that clears it.
type (
	// NotConfigured is a store or part without settings: it was not checked.
	NotConfigured struct {
		Store string // postgres, influx, elastic, s3, or "wal" (Path: the pgBackRest configuration looked for)
		Path  string
	}
	// DefaultRows: rows sit in the DEFAULT partition. MonthsBack and
	// MonthsAhead are what partitions ensure needs to move all of them into
	// monthly partitions (0: its defaults reach them).
	DefaultRows struct {
		Table                   string
		Rows                    int64
		MonthsBack, MonthsAhead int
	}
	// ShortHorizon: fewer months are premade than asked for.
	ShortHorizon struct {
		Table  string
		Months int
	}
	// HashIncomplete: a hash-partitioned table misses remainders.
	HashIncomplete struct{ Check partitions.HashCheck }
	// RetentionDue: retention would archive or drop something now.
	RetentionDue struct{ Partitions, Rows int64 }
	// InfluxDrift: InfluxDB differs from the desired state.
	InfluxDrift struct{ Changes int }
	// InfluxStale: rolled intervals miss late points; a backfill over Since
	// (from now) re-rolls every one of them.
	InfluxStale struct {
		Intervals int
		Since     time.Duration
	}
	// SearchDrift: the search server differs from the definitions.
	SearchDrift struct{ Pending int }
	// ReindexInterrupted: a reindex of Index stopped half-way.
	ReindexInterrupted struct{ Index string }
	// OldServer: PostgreSQL is older than the version the schema is tested on.
	OldServer struct{ Version string }
	// ClockSkew: this machine's clock and the server's differ.
	ClockSkew struct{ Skew time.Duration }
	// Privileges: what the connected role lacks for one part of the roles
	// model (Part: role, migrate, maintain partitions, app DML, read only).
	Privileges struct {
		Part string
		Caps roles.Capabilities
	}
	// AdvisoryLocks: the role may not take advisory locks.
	AdvisoryLocks struct{ User string }
	// Tool: an external program is missing, or its major version differs
	// from the server's (ServerMajor > 0).
	Tool struct {
		Name          string // pg_dump, pg_restore, pg_dumpall, influxd, pgbackrest
		Missing       bool
		ServerMajor   int    // PostgreSQL tools: the server's major version (0: unknown)
		ServerVersion string // influxd: the InfluxDB server's version
	}
	// InfluxRPC: the InfluxDB 1.x backup/restore address is not set (Addr "") or does not answer.
	InfluxRPC struct{ Addr string }
)
