package stack

import (
	"context"
	"fmt"
	"time"
)

// BackupCatalogue is what Status needs from the backup catalogue: the newest
// valid backup of each kind (postgres, influx).
type BackupCatalogue interface {
	Newest(ctx context.Context) ([]NewestBackup, error)
}

// NewestBackup is the newest backup with a manifest of one kind.
type NewestBackup struct {
	Kind       string
	ID         string
	FinishedAt time.Time
}

// StatusItem is one line of the report.
type StatusItem struct {
	Store  string `json:"store"`
	Check  string `json:"check"`
	State  string `json:"state"` // ok | warn | action | error | skipped
	Detail string `json:"detail"`
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
}

// StatusOptions tunes the report.
type StatusOptions struct {
	Now            func() time.Time // nil: time.Now
	MonthsAhead    int              // partition horizon below which action is needed; 0 means 1
	BackupMaxAge   time.Duration    // newest backup older than this is a warning; 0 means 26h
	RetentionCheck func(ctx context.Context) (StatusItem, error)
	// WALCheck reports WAL archiving and physical backups (one item; nil: not reported).
	WALCheck func(ctx context.Context) (StatusItem, error)
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
	if s.configured(Postgres) {
		for _, it := range postgresStatus(ctx, s, o) {
			add(it)
		}
		if o.RetentionCheck != nil {
			it, err := o.RetentionCheck(ctx)
			if err != nil {
				it = StatusItem{Store: Postgres, Check: "retention", State: StateError, Detail: err.Error()}
			}
			add(it)
		}
	} else {
		add(StatusItem{Store: Postgres, Check: "configured", State: StateSkipped, Detail: "no --database-url"})
	}
	if o.WALCheck != nil { // WAL archiving can be read through the pgBackRest configuration alone
		it, err := o.WALCheck(ctx)
		if err != nil {
			it = StatusItem{Store: Postgres, Check: "wal archiving", State: StateError, Detail: err.Error()}
		}
		add(it)
	}
	if s.configured(Influx) {
		st, err := s.Influx.Status(ctx)
		switch {
		case err != nil:
			add(StatusItem{Store: Influx, Check: "drift", State: StateError, Detail: err.Error()})
		case !st.InSync:
			add(StatusItem{Store: Influx, Check: "drift", State: StateAction,
				Detail: fmt.Sprintf("%s %s: %d change(s) pending; run 'quantx-db influx setup'", st.Server.Version, st.Database, len(st.Drift))})
		default:
			add(StatusItem{Store: Influx, Check: "drift", State: StateOK, Detail: fmt.Sprintf("%s %s in sync", st.Server.Version, st.Database)})
		}
	} else {
		add(StatusItem{Store: Influx, Check: "configured", State: StateSkipped, Detail: "no --influx-url"})
	}
	if s.configured(Elastic) {
		st, err := s.Elastic.Status(ctx)
		switch {
		case err != nil:
			add(StatusItem{Store: Elastic, Check: "drift", State: StateError, Detail: err.Error()})
		case st.Drift:
			add(StatusItem{Store: Elastic, Check: "drift", State: StateAction,
				Detail: fmt.Sprintf("%s: %d change(s) pending; run 'quantx-db elastic status'", st.Engine, len(st.Pending))})
		default:
			add(StatusItem{Store: Elastic, Check: "drift", State: StateOK, Detail: fmt.Sprintf("%s in sync, retention %s", st.Engine, st.RetentionMode)})
		}
	} else {
		add(StatusItem{Store: Elastic, Check: "configured", State: StateSkipped, Detail: "no --elastic-url"})
	}
	if s.configured(S3) {
		for _, it := range backupStatus(ctx, s, o) {
			add(it)
		}
	} else {
		add(StatusItem{Store: S3, Check: "backups", State: StateSkipped, Detail: "no --s3-bucket"})
	}
	return rep
}

func postgresStatus(ctx context.Context, s Stores, o StatusOptions) []StatusItem {
	var out []StatusItem
	st, err := s.Migrations.Status(ctx)
	if err != nil {
		return append(out, StatusItem{Store: Postgres, Check: "migrations", State: StateError, Detail: err.Error()})
	}
	val, err := s.Migrations.Validate(ctx)
	if err != nil {
		return append(out, StatusItem{Store: Postgres, Check: "migrations", State: StateError, Detail: err.Error()})
	}
	cur := "none"
	if st.CurrentVersion != nil {
		cur = fmt.Sprint(*st.CurrentVersion)
	}
	mig := StatusItem{Store: Postgres, Check: "migrations", State: StateOK, Detail: fmt.Sprintf("version %s, 0 pending", cur)}
	switch {
	case st.Dirty:
		mig.State, mig.Detail = StateAction, fmt.Sprintf("version %s is DIRTY: see 'quantx-db migrate status'", cur)
	case len(val.Findings) > 0:
		mig.State, mig.Detail = StateAction, fmt.Sprintf("version %s, drift: %s", cur, val.Findings[0].Message)
	case st.Pending > 0:
		mig.State, mig.Detail = StateAction, fmt.Sprintf("version %s, %d pending: run 'quantx-db migrate up'", cur, st.Pending)
	}
	out = append(out, mig)
	if st.CurrentVersion == nil {
		return out // no schema yet: nothing partitioned to inspect
	}
	h, err := s.Partitions.Health(ctx)
	if err != nil {
		return append(out, StatusItem{Store: Postgres, Check: "partitions", State: StateError, Detail: err.Error()})
	}
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
	return append(out, part)
}

func backupStatus(ctx context.Context, s Stores, o StatusOptions) []StatusItem {
	newest, err := s.Backups.Newest(ctx)
	if err != nil {
		return []StatusItem{{Store: S3, Check: "backups", State: StateError, Detail: err.Error()}}
	}
	seen := map[string]NewestBackup{}
	for _, b := range newest {
		seen[b.Kind] = b
	}
	var out []StatusItem
	for _, kind := range []string{"postgres", "influx"} {
		b, ok := seen[kind]
		if !ok {
			out = append(out, StatusItem{Store: S3, Check: "backup " + kind, State: StateWarn, Detail: "no backup yet"})
			continue
		}
		age := o.Now().Sub(b.FinishedAt)
		it := StatusItem{Store: S3, Check: "backup " + kind, State: StateOK,
			Detail: fmt.Sprintf("%s, %s old", b.ID, age.Round(time.Minute))}
		if age > o.BackupMaxAge {
			it.State = StateWarn
			it.Detail += fmt.Sprintf(" (older than %s)", o.BackupMaxAge)
		}
		out = append(out, it)
	}
	return out
}
