package stack

import (
	"context"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"time"

	"github.com/quantx/quantx-db/elastic"
	"github.com/quantx/quantx-db/influx"
	"github.com/quantx/quantx-db/internal/report"
	"github.com/quantx/quantx-db/partitions"
	"github.com/quantx/quantx-db/retention"
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

// StatusOptions tunes the report.
type StatusOptions struct {
	Now          func() time.Time // nil: time.Now
	MonthsAhead  int              // partition horizon below which action is needed; 0 means 1
	BackupMaxAge time.Duration    // newest backup older than this is a warning; 0 means 26h
	Logger       *slog.Logger     // nil discards
	// BackupDatabases names, by kind ("postgres", "influx"), the database
	// whose newest backup the report gives: a backup of another database
	// must not hide a dead backup job for this one. A kind missing here (or
	// "") is reported for its newest backup of any database.
	BackupDatabases map[string]string
}

// Status reads every configured store; it changes nothing. A store that
// cannot be read is an "error" item, and the others are still reported.
func Status(ctx context.Context, s Stores, o StatusOptions) Report {
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.MonthsAhead == 0 {
		o.MonthsAhead = 1
	}
	if o.BackupMaxAge == 0 {
		o.BackupMaxAge = 26 * time.Hour
	}
	rep := Report{CheckedAt: o.Now().UTC(), Items: []Item{}}
	switch {
	case s.unavailable(Postgres) != nil:
		rep.add(errorItem(Postgres, "connect", s.Unavailable[Postgres]))
	case s.configured(Postgres):
		items, migrated := postgresStatus(ctx, s, o, &rep)
		rep.add(items...)
		if migrated {
			rep.add(retentionStatus(ctx, s, o))
		} else {
			rep.add(Item{Store: Postgres, Name: "retention", State: report.StateSkipped, Detail: "not migrated"})
		}
	default:
		rep.add(notConfigured(Postgres, "configured"))
	}
	if s.WAL != nil { // WAL archiving can be read through the pgBackRest configuration alone
		rep.add(walStatus(ctx, s))
	}
	switch {
	case s.unavailable(Influx) != nil:
		rep.add(errorItem(Influx, "connect", s.Unavailable[Influx]))
	case s.configured(Influx):
		st, err := s.Influx.Status(ctx)
		switch {
		case err != nil:
			rep.add(errorItem(Influx, "drift", err))
		case !st.InSync:
			rep.add(Item{Store: Influx, Name: "drift", State: report.StateAction, Count: count(len(st.Drift)), Finding: InfluxDrift{Changes: len(st.Drift)},
				Detail: fmt.Sprintf("%s %s: %d change(s) pending", st.Server.Version, st.Database, len(st.Drift))})
		default:
			rep.add(Item{Store: Influx, Name: "drift", State: report.StateOK, Count: count(0), Detail: fmt.Sprintf("%s %s in sync", st.Server.Version, st.Database)})
			rep.add(influxRollups(ctx, s.Influx, o.Now()))
		}
	default:
		rep.add(notConfigured(Influx, "configured"))
	}
	switch {
	case s.unavailable(Elastic) != nil:
		rep.add(errorItem(Elastic, "connect", s.Unavailable[Elastic]))
	case s.configured(Elastic):
		st, err := s.Elastic.Status(ctx)
		switch {
		case err != nil:
			rep.add(errorItem(Elastic, "drift", err))
		case st.Drift:
			it := Item{Store: Elastic, Name: "drift", State: report.StateAction, Count: count(len(st.Pending)), Finding: SearchDrift{Pending: len(st.Pending)},
				Detail: fmt.Sprintf("%s: %d change(s) pending", st.Engine, len(st.Pending))}
			for _, x := range st.Items {
				if x.State == elastic.StateInterrupted { // readers and writers may be on different indices: say so first
					it.Detail, it.Finding = fmt.Sprintf("%s: reindex of %s interrupted (%s)", st.Engine, x.Name, x.Detail), ReindexInterrupted{Index: x.Name}
					break
				}
			}
			rep.add(it)
		default:
			rep.add(Item{Store: Elastic, Name: "drift", State: report.StateOK, Count: count(0), Detail: fmt.Sprintf("%s in sync, retention %s", st.Engine, st.RetentionMode)})
		}
	default:
		rep.add(notConfigured(Elastic, "configured"))
	}
	switch {
	case s.unavailable(S3) != nil:
		rep.add(errorItem(S3, "backups", s.Unavailable[S3]))
	case s.configured(S3):
		rep.add(backupStatus(ctx, s, o, &rep)...)
	default:
		rep.add(notConfigured(S3, "backups"))
	}
	return rep
}

// notConfigured is the line of a store without settings.
func notConfigured(store, name string) Item {
	return Item{Store: store, Name: name, State: report.StateSkipped, Detail: "not configured", Finding: NotConfigured{Store: store}}
}

// postgresStatus reports migrations and partitions; migrated is false when no
// migration has been applied (nothing else can be read yet).
func postgresStatus(ctx context.Context, s Stores, o StatusOptions, rep *Report) (items []Item, migrated bool) {
	st, err := s.Migrations.Status(ctx)
	if err != nil {
		return []Item{errorItem(Postgres, "migrations", err)}, false
	}
	if st.CurrentVersion == nil && !st.Dirty {
		// A database no migration ran on: not an error, the first action of a DBA.
		return []Item{{Store: Postgres, Name: "migrations", State: report.StateAction, Count: count(st.Pending), Finding: st.Problem(),
			Detail: fmt.Sprintf("not migrated: %d pending", st.Pending)},
			{Store: Postgres, Name: "partitions", State: report.StateSkipped, Detail: "not migrated"}}, false
	}
	mig := Item{Store: Postgres, Name: "migrations", State: report.StateOK, Version: st.CurrentVersion, Count: count(st.Pending),
		Detail: fmt.Sprintf("version %s, 0 pending", versionString(st.CurrentVersion))}
	if p := st.Problem(); p != nil {
		mig.State, mig.Detail, mig.Finding = report.StateAction, p.Summary, p
	}
	items = append(items, mig)
	idx := Item{Store: Postgres, Name: "indexes", State: report.StateOK, Detail: "no INVALID index", Count: count(len(st.InvalidIndexes))}
	if p := st.IndexProblem(); p != nil {
		idx.State, idx.Detail, idx.Finding = report.StateAction, p.Summary, p
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
	part := Item{Store: Postgres, Name: "partitions", State: report.StateOK, Rows: count(h.DefaultRows), MonthsAhead: count(h.HorizonMonths),
		Detail: fmt.Sprintf("%s: %d month(s) premade ahead, DEFAULT empty", h.Table, h.HorizonMonths)}
	switch {
	case h.DefaultRows > 0:
		back, ahead := h.DefaultSpan(o.Now())
		part.State, part.Finding = report.StateAction, DefaultRows{Table: h.Table, Rows: h.DefaultRows, MonthsBack: back, MonthsAhead: ahead}
		part.Detail = fmt.Sprintf("%s: %d row(s) in DEFAULT (%s to %s)",
			h.Table, h.DefaultRows, h.DefaultOldest.UTC().Format("2006-01-02"), h.DefaultNewest.UTC().Format("2006-01-02"))
	case h.HorizonMonths < o.MonthsAhead:
		part.State, part.Finding = report.StateAction, ShortHorizon{Table: h.Table, Months: max(h.HorizonMonths, 0)}
		part.Detail = fmt.Sprintf("%s: only %d month(s) premade ahead", h.Table, max(h.HorizonMonths, 0))
	}
	for _, hc := range h.Hash {
		if !hc.OK {
			part.State, part.Detail, part.Finding = report.StateAction, hc.String(), HashIncomplete{Check: hc}
		}
	}
	return append(items, part), true
}

// retentionStatus reports whether retention work is due: a dry run of the
// built-in policy, which reads only and takes no maintenance lock, so it
// answers even while the nightly retention run works.
func retentionStatus(ctx context.Context, s Stores, o StatusOptions) Item {
	r := retention.New(s.Postgres, retention.DefaultPolicy(), retention.Options{DryRun: true, Logger: o.Logger,
		Partitions: partitions.Options{Now: o.Now, Logger: o.Logger}})
	rep, err := r.Apply(ctx)
	if err != nil {
		return errorItem(Postgres, "retention", err)
	}
	var due []string
	var parts, rows int64
	for _, t := range rep.Tables {
		switch {
		case t.Action == retention.ActionDropPartitions && len(t.Partitions) > 0:
			parts += int64(len(t.Partitions))
			due = append(due, fmt.Sprintf("%s: %d partition(s) past %s", t.Table, len(t.Partitions), t.Keep))
		case t.Action == retention.ActionArchiveRows && t.Rows > 0:
			rows += t.Rows
			due = append(due, fmt.Sprintf("%s: %d row(s) past %s", t.Table, t.Rows, t.Keep))
		}
	}
	it := Item{Store: Postgres, Name: "retention", State: report.StateOK, Detail: "nothing due", Count: &parts, Rows: &rows}
	if len(due) > 0 {
		it.State, it.Detail, it.Finding = report.StateAction, strings.Join(due, "; "), RetentionDue{Partitions: parts, Rows: rows}
	}
	return it
}

// backupStatus reports, for each logical kind, the newest backup of the
// configured database (o.BackupDatabases) and its age.
func backupStatus(ctx context.Context, s Stores, o StatusOptions, rep *Report) []Item {
	newest, err := s.Backups.Newest(ctx)
	if err != nil {
		return []Item{errorItem(S3, "backups", err)}
	}
	rep.Backups = newest
	var out []Item
	for _, kind := range []string{"postgres", "influx"} {
		out = append(out, backupItem(kind, o.BackupDatabases[kind], newest, o))
	}
	return out
}

// backupItem is the line of one kind: the newest backup of database (any
// database when ""), or a warning that there is none, naming the databases
// whose backups exist.
func backupItem(kind, database string, newest []NewestBackup, o StatusOptions) Item {
	it := Item{Store: S3, Name: "backup " + kind, State: report.StateWarn}
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
	it.State, it.AgeSeconds, it.Detail = report.StateOK, seconds(age), fmt.Sprintf("%s: %s, %s old", found.Database, found.ID, age.Round(time.Minute))
	if database == "" {
		it.Detail = "newest of any database, " + it.Detail
	}
	if age > o.BackupMaxAge {
		it.State = report.StateWarn
		it.Detail += fmt.Sprintf(" (older than %s)", o.BackupMaxAge)
	}
	return it
}

func versionString(v *int64) string {
	if v == nil {
		return "none"
	}
	return fmt.Sprint(*v)
}

// influxRollups reports rolled intervals that miss raw points written later than the late tolerance
// (influx.Provisioner.Stale over its default window).
func influxRollups(ctx context.Context, p *influx.Provisioner, now time.Time) Item {
	sr, err := p.Stale(ctx, influx.StaleOptions{})
	if err != nil {
		return errorItem(Influx, "rollups", err)
	}
	it := Item{Store: Influx, Name: "rollups", State: report.StateOK, Count: count(len(sr.Stale)),
		Detail: fmt.Sprintf("%d settled interval(s) match the raw points", sr.Checked)}
	if len(sr.Stale) > 0 {
		since := now.Sub(sr.Stale[0].Start).Truncate(time.Hour) + time.Hour
		it.State, it.Finding = report.StateAction, InfluxStale{Intervals: len(sr.Stale), Since: since}
		it.Detail = fmt.Sprintf("%d rolled interval(s) miss late points, the oldest from %s", len(sr.Stale), sr.Stale[0].Start.Format(time.RFC3339))
	}
	return it
}
