package stack

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/quantx/quantx-db/elastic"
	"github.com/quantx/quantx-db/influx"
	"github.com/quantx/quantx-db/migrations"
	"github.com/quantx/quantx-db/partitions"
)

// BackupCatalogue is what Status needs from the backup catalogue: the newest
// valid backup of each kind and database.
type BackupCatalogue interface {
	Newest(ctx context.Context) ([]NewestBackup, error)
}

// NewestBackup is the newest backup with a manifest of one kind and database.
type NewestBackup struct {
	Kind       string
	Database   string
	ID         string
	FinishedAt time.Time
	Size       int64 // bytes stored
}

// StatusItem is one line of the report.
type StatusItem struct {
	Store  string `json:"store"`
	Check  string `json:"check"`
	State  string `json:"state"` // ok | warn | action | error | skipped
	Detail string `json:"detail"`
	// Err is the failure behind an "error" line, a *StoreError whose cause
	// stays reachable for exit codes and hints.
	Err error `json:"-"`
}

// errorItem is the line of a store or check that could not be read.
func errorItem(store, check string, err error) StatusItem {
	return StatusItem{Store: store, Check: check, State: StateError, Detail: err.Error(), Err: storeErr(store, err)}
}

// Item states. "action" makes the CLI exit 3; "error" exit 1; "warn" is shown only.
const (
	StateOK      = "ok"
	StateWarn    = "warn"
	StateAction  = "action"
	StateError   = "error"
	StateSkipped = "skipped"
)

// StatusReport is the one report across every store.
type StatusReport struct {
	CheckedAt   time.Time    `json:"checked_at"`
	NeedsAction bool         `json:"needs_action"`
	Errors      bool         `json:"errors"`
	Items       []StatusItem `json:"items"`
	// Partitions is the partition health behind the postgres "partitions"
	// line, for the CLI's metrics; nil when it was not read.
	Partitions *partitions.Health `json:"-"`
	// Backups is the newest backup of each kind and database in the
	// catalogue, for the CLI's metrics; nil when it was not read.
	Backups []NewestBackup `json:"-"`
}

// Err joins the failures behind every "error" line, in report order, or
// returns nil. Each is a *StoreError.
func (r StatusReport) Err() error {
	var errs []error
	for _, it := range r.Items {
		if it.State == StateError && it.Err != nil {
			errs = append(errs, it.Err)
		}
	}
	return errors.Join(errs...)
}

// StatusOptions tunes the report.
type StatusOptions struct {
	Now            func() time.Time // nil: time.Now
	MonthsAhead    int              // partition horizon below which action is needed; 0 means 1
	BackupMaxAge   time.Duration    // newest backup older than this is a warning; 0 means 26h
	RetentionCheck func(ctx context.Context) (StatusItem, error)
	// WALCheck reports WAL archiving and physical backups (one item; nil: not reported).
	WALCheck func(ctx context.Context) (StatusItem, error)
	// BackupDatabases names, by kind ("postgres", "influx"), the database
	// whose newest backup the report gives: a backup of another database
	// must not hide a dead backup job for this one. A kind missing here (or
	// "") is reported for its newest backup of any database.
	BackupDatabases map[string]string
}

// Status reads every configured store; it changes nothing. A store that
// cannot be read is an "error" item, and the others are still reported.
func Status(ctx context.Context, s Stores, o StatusOptions) StatusReport {
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.MonthsAhead == 0 {
		o.MonthsAhead = 1
	}
	if o.BackupMaxAge == 0 {
		o.BackupMaxAge = 26 * time.Hour
	}
	rep := StatusReport{CheckedAt: o.Now().UTC(), Items: []StatusItem{}}
	add := func(it StatusItem) {
		rep.Items = append(rep.Items, it)
		rep.NeedsAction = rep.NeedsAction || it.State == StateAction
		rep.Errors = rep.Errors || it.State == StateError
	}
	switch {
	case s.unavailable(Postgres) != nil:
		add(errorItem(Postgres, "connect", s.Unavailable[Postgres]))
	case s.configured(Postgres):
		items, migrated := postgresStatus(ctx, s, o, &rep)
		for _, it := range items {
			add(it)
		}
		switch {
		case o.RetentionCheck == nil:
		case !migrated:
			add(StatusItem{Store: Postgres, Check: "retention", State: StateSkipped, Detail: "not migrated"})
		default:
			it, err := o.RetentionCheck(ctx)
			if err != nil {
				it = errorItem(Postgres, "retention", err)
			}
			add(it)
		}
	default:
		add(StatusItem{Store: Postgres, Check: "configured", State: StateSkipped, Detail: "no --database-url"})
	}
	if o.WALCheck != nil { // WAL archiving can be read through the pgBackRest configuration alone
		it, err := o.WALCheck(ctx)
		if err != nil {
			it = StatusItem{Store: Postgres, Check: "wal archiving", State: StateError, Detail: err.Error()}
		}
		add(it)
	}
	switch {
	case s.unavailable(Influx) != nil:
		add(errorItem(Influx, "connect", s.Unavailable[Influx]))
	case s.configured(Influx):
		st, err := s.Influx.Status(ctx)
		switch {
		case err != nil:
			add(errorItem(Influx, "drift", err))
		case !st.InSync:
			add(StatusItem{Store: Influx, Check: "drift", State: StateAction,
				Detail: fmt.Sprintf("%s %s: %d change(s) pending; run 'quantx-db influx setup'", st.Server.Version, st.Database, len(st.Drift))})
		default:
			add(StatusItem{Store: Influx, Check: "drift", State: StateOK, Detail: fmt.Sprintf("%s %s in sync", st.Server.Version, st.Database)})
			add(influxRollups(ctx, s.Influx, o.Now()))
		}
	default:
		add(StatusItem{Store: Influx, Check: "configured", State: StateSkipped, Detail: "no --influx-url"})
	}
	switch {
	case s.unavailable(Elastic) != nil:
		add(errorItem(Elastic, "connect", s.Unavailable[Elastic]))
	case s.configured(Elastic):
		st, err := s.Elastic.Status(ctx)
		switch {
		case err != nil:
			add(errorItem(Elastic, "drift", err))
		case st.Drift:
			detail := fmt.Sprintf("%s: %d change(s) pending; run 'quantx-db elastic status'", st.Engine, len(st.Pending))
			for _, it := range st.Items {
				if it.State == elastic.StateInterrupted { // readers and writers may be on different indices: say so first
					detail = fmt.Sprintf("%s: reindex of %s interrupted (%s); run 'quantx-db elastic reindex %s'", st.Engine, it.Name, it.Detail, it.Name)
					break
				}
			}
			add(StatusItem{Store: Elastic, Check: "drift", State: StateAction, Detail: detail})
		default:
			add(StatusItem{Store: Elastic, Check: "drift", State: StateOK, Detail: fmt.Sprintf("%s in sync, retention %s", st.Engine, st.RetentionMode)})
		}
	default:
		add(StatusItem{Store: Elastic, Check: "configured", State: StateSkipped, Detail: "no --elastic-url"})
	}
	switch {
	case s.unavailable(S3) != nil:
		add(errorItem(S3, "backups", s.Unavailable[S3]))
	case s.configured(S3):
		for _, it := range backupStatus(ctx, s, o, &rep) {
			add(it)
		}
	default:
		add(StatusItem{Store: S3, Check: "backups", State: StateSkipped, Detail: "no --s3-bucket"})
	}
	return rep
}

// postgresStatus reports migrations and partitions; migrated is false when no
// migration has been applied (nothing else can be read yet).
func postgresStatus(ctx context.Context, s Stores, o StatusOptions, rep *StatusReport) (items []StatusItem, migrated bool) {
	st, err := s.Migrations.Status(ctx)
	if err != nil {
		return []StatusItem{errorItem(Postgres, "migrations", err)}, false
	}
	if st.CurrentVersion == nil && !st.Dirty {
		// A database no migration ran on: not an error, the first action of a DBA.
		return []StatusItem{{Store: Postgres, Check: "migrations", State: StateAction,
			Detail: fmt.Sprintf("not migrated: %d pending; run 'quantx-db migrate up'", st.Pending)},
			{Store: Postgres, Check: "partitions", State: StateSkipped, Detail: "not migrated"}}, false
	}
	cur := versionString(st.CurrentVersion)
	mig := StatusItem{Store: Postgres, Check: "migrations", State: StateOK, Detail: fmt.Sprintf("version %s, 0 pending", cur)}
	if problem, fix := MigrationsProblem(st); problem != "" {
		mig.State, mig.Detail = StateAction, problem+": "+fix
	}
	items = append(items, mig)
	idx := StatusItem{Store: Postgres, Check: "indexes", State: StateOK, Detail: "no INVALID index"}
	if problem, fix := IndexProblem(st); problem != "" {
		idx.State, idx.Detail = StateAction, problem+": "+fix
	}
	items = append(items, idx)
	if st.CurrentVersion == nil {
		return items, false // dirty before the first version: nothing partitioned to inspect
	}
	h, err := s.Partitions.Health(ctx)
	if err != nil {
		return append(items, errorItem(Postgres, "partitions", err)), true
	}
	rep.Partitions = &h
	part := StatusItem{Store: Postgres, Check: "partitions", State: StateOK,
		Detail: fmt.Sprintf("%s: %d month(s) premade ahead, DEFAULT empty", h.Table, h.HorizonMonths)}
	switch {
	case h.DefaultRows > 0:
		part.State, part.Detail = StateAction, fmt.Sprintf("%s: %d row(s) in DEFAULT (%s to %s): run '%s'",
			h.Table, h.DefaultRows, h.DefaultOldest.UTC().Format("2006-01-02"), h.DefaultNewest.UTC().Format("2006-01-02"), h.DefaultFix(o.Now()))
	case h.HorizonMonths < o.MonthsAhead:
		part.State, part.Detail = StateAction, fmt.Sprintf("%s: only %d month(s) premade ahead: run 'quantx-db partitions ensure'", h.Table, max(h.HorizonMonths, 0))
	}
	for _, hc := range h.Hash {
		if !hc.OK {
			part.State, part.Detail = StateAction, hc.String()
		}
	}
	return append(items, part), true
}

// backupStatus reports, for each logical kind, the newest backup of the
// configured database (o.BackupDatabases) and its age.
func backupStatus(ctx context.Context, s Stores, o StatusOptions, rep *StatusReport) []StatusItem {
	newest, err := s.Backups.Newest(ctx)
	if err != nil {
		return []StatusItem{errorItem(S3, "backups", err)}
	}
	rep.Backups = newest
	var out []StatusItem
	for _, kind := range []string{"postgres", "influx"} {
		out = append(out, backupItem(kind, o.BackupDatabases[kind], newest, o))
	}
	return out
}

// backupItem is the line of one kind: the newest backup of database (any
// database when ""), or a warning that there is none, naming the databases
// whose backups exist.
func backupItem(kind, database string, newest []NewestBackup, o StatusOptions) StatusItem {
	it := StatusItem{Store: S3, Check: "backup " + kind, State: StateWarn}
	var found *NewestBackup
	var others []string
	for i, b := range newest {
		switch {
		case b.Kind != kind:
		case database == "":
			if found == nil || b.FinishedAt.After(found.FinishedAt) {
				found = &newest[i]
			}
		case b.Database == database:
			found = &newest[i]
		default:
			others = append(others, b.Database)
		}
	}
	if found == nil {
		it.Detail = "no backup yet"
		if database != "" {
			it.Detail = fmt.Sprintf("no backup of %s yet", database)
		}
		if len(others) > 0 {
			slices.Sort(others)
			it.Detail += fmt.Sprintf("; %s backups exist for other databases: %s", kind, strings.Join(others, ", "))
		}
		return it
	}
	age := o.Now().Sub(found.FinishedAt)
	it.State, it.Detail = StateOK, fmt.Sprintf("%s: %s, %s old", found.Database, found.ID, age.Round(time.Minute))
	if database == "" {
		it.Detail = "newest of any database, " + it.Detail
	}
	if age > o.BackupMaxAge {
		it.State = StateWarn
		it.Detail += fmt.Sprintf(" (older than %s)", o.BackupMaxAge)
	}
	return it
}

// MigrationsProblem says what needs doing about the migrations, apart from
// INVALID indexes (IndexProblem): problem is "" when nothing does, and fix
// names the command that does it.
func MigrationsProblem(st migrations.Status) (problem, fix string) {
	drift := 0
	for _, m := range st.Migrations {
		if m.Drift {
			drift++
		}
	}
	switch in := st.Interrupted; {
	case in != nil && st.Running:
		return fmt.Sprintf("migration %d (%s) is running in another session", in.Version, in.Name),
			"wait for it to finish, then run 'quantx-db migrate status' again"
	case in != nil:
		what := in.File
		if what == "" {
			what = fmt.Sprintf("%d_%s", in.Version, in.Name)
		}
		problem = fmt.Sprintf("database is dirty at version %s: %s (%s) stopped after %d", versionString(st.CurrentVersion), what, in.Direction, in.StatementsDone)
		if in.Statements > 0 {
			problem += fmt.Sprintf(" of %d", in.Statements)
		}
		problem += " statement(s)"
		if in.Error != "" {
			problem += ": " + in.Error
		}
		switch {
		case !in.Resumable:
			fix = fmt.Sprintf("it cannot be resumed (%s): check which statements of %s ran; finish them and run 'quantx-db migrate force %d', or undo them and run 'quantx-db migrate force %d'",
				in.Reason, what, in.ForceDone, in.ForceUndone)
		case in.Direction == migrations.Down:
			fix = "run 'quantx-db migrate down 1 --yes' to finish reverting it (it resumes at the first unfinished statement)"
		default:
			fix = "run 'quantx-db migrate up' to resume it at the first unfinished statement"
		}
		return problem, fix
	case len(st.UnknownApplied) > 0:
		problem = fmt.Sprintf("applied version(s) %v not shipped by this binary", st.UnknownApplied)
		if st.CurrentVersion != nil {
			problem = (&migrations.VersionError{Database: *st.CurrentVersion, Newest: st.BinaryVersion}).Error()
		}
		return problem, "use the quantx-db release that migrated this database"
	case drift > 0:
		return fmt.Sprintf("%d applied migration(s) changed since they were applied", drift),
			"restore the applied files as they were ('quantx-db migrate validate' names them) and put changes in a new migration"
	case st.Pending > 0:
		return fmt.Sprintf("%d migration(s) pending", st.Pending), "run 'quantx-db migrate up'"
	}
	return "", ""
}

// IndexProblem reports the INVALID indexes of the database, or "" when
// there are none. PostgreSQL updates such an index on every write and never
// reads it: a failed CREATE INDEX CONCURRENTLY leaves one behind.
func IndexProblem(st migrations.Status) (problem, fix string) {
	if len(st.InvalidIndexes) == 0 {
		return "", ""
	}
	var names, ours, foreign, building []string
	for _, ix := range st.InvalidIndexes {
		names = append(names, ix.String())
		name := ix.Schema + "." + ix.Name
		switch {
		case ix.Building:
			building = append(building, name)
		case ix.Rebuild:
			ours = append(ours, name)
		default:
			foreign = append(foreign, name)
		}
	}
	problem = fmt.Sprintf("%d INVALID index(es): %s", len(names), strings.Join(names, ", "))
	var fixes []string
	if len(ours) > 0 {
		fixes = append(fixes, fmt.Sprintf("run 'quantx-db migrate up': it builds %s again", strings.Join(ours, ", ")))
	}
	for _, f := range foreign {
		fixes = append(fixes, fmt.Sprintf("no migration builds %s: drop it (DROP INDEX CONCURRENTLY %s;) and create it again CONCURRENTLY", f, f))
	}
	if len(building) > 0 {
		fixes = append(fixes, fmt.Sprintf("%s is being built now: wait for the build to finish, then run 'quantx-db migrate status' again", strings.Join(building, ", ")))
	}
	return problem, strings.Join(fixes, "; ")
}

func versionString(v *int64) string {
	if v == nil {
		return "none"
	}
	return fmt.Sprint(*v)
}

// influxRollups reports rolled intervals that miss raw points written later than the late tolerance
// (influx.Provisioner.Stale over its default window).
func influxRollups(ctx context.Context, p *influx.Provisioner, now time.Time) StatusItem {
	it := StatusItem{Store: Influx, Check: "rollups"}
	sr, err := p.Stale(ctx, influx.StaleOptions{})
	switch {
	case err != nil:
		it.State, it.Detail = StateError, err.Error()
	case len(sr.Stale) > 0:
		since := now.Sub(sr.Stale[0].Start).Truncate(time.Hour) + time.Hour
		it.State = StateAction
		it.Detail = fmt.Sprintf("%d rolled interval(s) miss late points, the oldest from %s; run 'quantx-db influx backfill --since %s'",
			len(sr.Stale), sr.Stale[0].Start.Format(time.RFC3339), since)
	default:
		it.State, it.Detail = StateOK, fmt.Sprintf("%d settled interval(s) match the raw points", sr.Checked)
	}
	return it
}
