package backup

import (
	"context"
	"fmt"
	"strings"
	"time"
)

// Policy says which backups prune keeps, per kind and database. A backup kept by any rule is kept; the
// newest backup of each kind and database is always kept.
type Policy struct {
	KeepLast   int `json:"keep_last"`   // the N newest
	KeepDaily  int `json:"keep_daily"`  // the newest of each of the N newest days (UTC) that have one
	KeepWeekly int `json:"keep_weekly"` // the newest of each of the N newest ISO weeks that have one
}

// Decision is prune's verdict on one backup.
type Decision struct {
	ID        string    `json:"id"`
	Kind      Kind      `json:"kind"`
	Database  string    `json:"database"`
	StartedAt time.Time `json:"started_at"`
	Keep      bool      `json:"keep"`
	Reasons   []string  `json:"reasons"` // why it is kept; empty when deleted
}

// PlanPrune decides, without touching anything, which backups a policy keeps. backups may be in any
// order; decisions come back newest first. Days and weeks are UTC calendar days and ISO weeks of
// StartedAt.
func PlanPrune(backups []Manifest, p Policy) []Decision {
	sorted := append([]Manifest(nil), backups...)
	sortNewestFirst(sorted)
	type group struct {
		n     int
		days  map[string]bool
		weeks map[string]bool
	}
	groups := map[string]*group{}
	out := make([]Decision, 0, len(sorted))
	for _, m := range sorted {
		g := groups[string(m.Kind)+"\x00"+m.Database]
		if g == nil {
			g = &group{days: map[string]bool{}, weeks: map[string]bool{}}
			groups[string(m.Kind)+"\x00"+m.Database] = g
		}
		d := Decision{ID: m.ID, Kind: m.Kind, Database: m.Database, StartedAt: m.StartedAt, Reasons: []string{}}
		t := m.StartedAt.UTC()
		if g.n == 0 {
			d.Reasons = append(d.Reasons, "newest")
		}
		if g.n < p.KeepLast {
			d.Reasons = append(d.Reasons, fmt.Sprintf("last %d", p.KeepLast))
		}
		day := t.Format("2006-01-02")
		if !g.days[day] && len(g.days) < p.KeepDaily {
			g.days[day] = true
			d.Reasons = append(d.Reasons, "daily "+day)
		}
		y, w := t.ISOWeek()
		week := fmt.Sprintf("%d-W%02d", y, w)
		if !g.weeks[week] && len(g.weeks) < p.KeepWeekly {
			g.weeks[week] = true
			d.Reasons = append(d.Reasons, "weekly "+week)
		}
		g.n++
		d.Keep = len(d.Reasons) > 0
		out = append(out, d)
	}
	return out
}

// PruneResult is what prune did (or, with DryRun, would do).
type PruneResult struct {
	DryRun    bool       `json:"dry_run"`
	Policy    Policy     `json:"policy"`
	Decisions []Decision `json:"decisions"`
	Deleted   []string   `json:"deleted"`         // backup IDs removed
	Orphans   []string   `json:"orphans"`         // folders without a manifest, idle past StaleAfter, removed
	Aborted   []string   `json:"aborted_uploads"` // keys of incomplete multipart uploads aborted (backups/ and Options.StalePrefixes)
	// Physical is the same policy applied to the pgBackRest backup sets (when they are set up).
	Physical *PhysicalPrune `json:"physical,omitempty"`
}

// Prune applies the policy: deletes the backups it does not keep, the folders that never got a manifest
// and the multipart uploads of killed runs (both only when idle for Options.StaleAfter). A backup's
// manifest is deleted first, so an interrupted prune never leaves a listed backup with missing objects.
func (c *Catalogue) Prune(ctx context.Context, p Policy, dryRun bool) (PruneResult, error) {
	if p.KeepLast <= 0 && p.KeepDaily <= 0 && p.KeepWeekly <= 0 {
		return PruneResult{}, ErrEmptyPolicy
	}
	res := PruneResult{DryRun: dryRun, Policy: p, Deleted: []string{}, Orphans: []string{}, Aborted: []string{}}
	objs, err := c.store.List(ctx, backupsPrefix)
	if err != nil {
		return res, fmt.Errorf("prune: %w", err)
	}
	all, err := c.List(ctx)
	if err != nil {
		return res, fmt.Errorf("prune: %w", err)
	}
	res.Decisions = PlanPrune(all, p)

	// Folders: every key by backup ID, and the newest modification per folder.
	keys := map[string][]string{}
	lastMod := map[string]time.Time{}
	for _, o := range objs {
		id, _, ok := strings.Cut(strings.TrimPrefix(o.Key, backupsPrefix), "/")
		if !ok {
			continue
		}
		keys[id] = append(keys[id], o.Key)
		if o.LastModified.After(lastMod[id]) {
			lastMod[id] = o.LastModified
		}
	}
	listed := map[string]bool{}
	for _, m := range all {
		listed[m.ID] = true
	}
	// The wall clock, not Options.Now: LastModified is the server's time, and a pinned clock (QUANTX_NOW)
	// in the future would take a running backup's folder for an orphan.
	cut := time.Now().Add(-c.o.StaleAfter)
	if c.o.StaleAfter < 0 {
		cut = time.Now().Add(24 * time.Hour)
	}
	for id := range keys {
		if !listed[id] && lastMod[id].Before(cut) {
			res.Orphans = append(res.Orphans, id)
		}
	}
	for _, d := range res.Decisions {
		if !d.Keep {
			res.Deleted = append(res.Deleted, d.ID)
		}
	}
	if dryRun {
		for _, p := range c.stalePrefixes() {
			ups, err := c.store.ListIncompleteUploads(ctx, p)
			if err != nil {
				return res, fmt.Errorf("prune: %w", err)
			}
			for _, u := range ups {
				res.Aborted = append(res.Aborted, u.Key) // what a real run would consider; idle ones only are aborted
			}
		}
		return res, nil
	}
	for _, id := range res.Deleted {
		if err := c.store.Remove(ctx, folder(id)+manifestName); err != nil {
			return res, fmt.Errorf("prune %s: %w", id, err)
		}
		if err := c.store.Remove(ctx, keys[id]...); err != nil {
			return res, fmt.Errorf("prune %s: %w", id, err)
		}
		c.log.InfoContext(ctx, "backup pruned", "backup", id)
	}
	for _, id := range res.Orphans {
		if err := c.store.Remove(ctx, keys[id]...); err != nil {
			return res, fmt.Errorf("prune orphan %s: %w", id, err)
		}
		c.log.InfoContext(ctx, "orphan backup folder removed", "backup", id)
	}
	res.Aborted = c.abortStale(ctx)
	return res, nil
}
