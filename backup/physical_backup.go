package backup

import (
	"context"
	"fmt"
	"slices"
	"strconv"
	"time"
)

// PhysicalTypes are pgBackRest's backup types: a full copy, the changes since the last full (diff),
// or the changes since the last backup of any type (incr).
var PhysicalTypes = []string{"full", "diff", "incr"}

// PhysicalBackupOptions say what kind of physical backup to take.
type PhysicalBackupOptions struct {
	Type string // full, diff or incr
	// StartFast asks for an immediate checkpoint at the start (pgBackRest --start-fast) instead of
	// waiting for the next spread one, which can take checkpoint_timeout x completion_target.
	StartFast bool
}

// Backup runs `pgbackrest backup --type=...` and returns the new set as a catalogue manifest. A
// diff or incr without an earlier full becomes a full (pgBackRest's rule); the manifest says which
// type was taken.
func (p *Physical) Backup(ctx context.Context, o PhysicalBackupOptions) (Manifest, error) {
	typ := o.Type
	if !slices.Contains(PhysicalTypes, typ) {
		return Manifest{}, fmt.Errorf("backup type %q: use full, diff or incr", typ)
	}
	args := []string{"backup", "--type=" + typ}
	if o.StartFast {
		args = append(args, "--start-fast")
	}
	// pgBackRest holds the stanza's backup lock while it runs: the newest set that started after
	// this call is ours (labels and start times have whole seconds).
	started := time.Now().Add(-time.Second).Unix()
	if _, err := p.run(ctx, args...); err != nil {
		return Manifest{}, fmt.Errorf("backup physical: %w", err)
	}
	after, err := p.info(ctx)
	if err != nil {
		return Manifest{}, fmt.Errorf("backup physical: read the new backup: %w", err)
	}
	sets := after.sets()
	if n := len(sets); n > 0 && sets[n-1].Timestamp.Start >= started {
		m := after.manifest(sets[n-1], p.repoPath())
		p.log.InfoContext(ctx, "physical backup", "backup", m.ID, "type", m.Physical.Type, "bytes", m.Size)
		return m, nil
	}
	return Manifest{}, fmt.Errorf("backup physical: pgbackrest succeeded but info lists no new backup")
}

// PlanPhysicalPrune applies the keep rules to backup sets (PlanPrune), then also keeps every set a
// kept set depends on: a diff or incr is useless without its full and the sets between.
func PlanPhysicalPrune(sets []Manifest, p Policy) []Decision {
	ds := PlanPrune(sets, p)
	refs := map[string][]string{}
	for _, m := range sets {
		if m.Physical != nil {
			refs[m.ID] = m.Physical.Reference
		}
	}
	idx := map[string]int{}
	for i, d := range ds {
		idx[d.ID] = i
	}
	for i := range ds { // newest first: a set's dependents were decided before it
		if !ds[i].Keep {
			continue
		}
		for _, r := range refs[ds[i].ID] {
			j, ok := idx[r]
			if !ok {
				continue
			}
			if !ds[j].Keep {
				ds[j].Keep = true
				ds[j].Reasons = append(ds[j].Reasons, "needed by "+ds[i].ID)
			}
		}
	}
	return ds
}

// PhysicalPrune is what pruning physical backups did (or, with DryRun, would do).
type PhysicalPrune struct {
	DryRun    bool       `json:"dry_run"`
	Decisions []Decision `json:"decisions"`
	Deleted   []string   `json:"deleted"`
	// ArchiveExpired: WAL older than the oldest kept backup was removed from the repository (only
	// after deleting sets; the recovery window then starts at the oldest kept backup).
	ArchiveExpired bool `json:"archive_expired"`
}

// Prune expires the backup sets the policy does not keep (`pgbackrest expire --set`, newest first so
// that dependents go before what they depend on), then the WAL older than the oldest kept full backup
// (`expire --repo1-retention-full=N`, N being the number of full backups left).
func (p *Physical) Prune(ctx context.Context, pol Policy, dryRun bool) (PhysicalPrune, error) {
	if pol.KeepLast <= 0 && pol.KeepDaily <= 0 && pol.KeepWeekly <= 0 {
		return PhysicalPrune{}, ErrEmptyPolicy
	}
	sets, err := p.List(ctx)
	if err != nil {
		return PhysicalPrune{}, fmt.Errorf("prune physical: %w", err)
	}
	res := PhysicalPrune{DryRun: dryRun, Decisions: PlanPhysicalPrune(sets, pol), Deleted: []string{}}
	fulls := 0
	for _, d := range res.Decisions {
		if !d.Keep {
			res.Deleted = append(res.Deleted, d.ID)
		}
	}
	for _, m := range sets {
		if m.Physical.Type == "full" && !slices.Contains(res.Deleted, m.ID) {
			fulls++
		}
	}
	if dryRun || len(res.Deleted) == 0 {
		return res, nil
	}
	for _, id := range res.Deleted {
		if _, err := p.run(ctx, "expire", "--set="+id); err != nil {
			return res, fmt.Errorf("prune physical %s: %w", id, err)
		}
		p.log.InfoContext(ctx, "physical backup expired", "backup", id)
	}
	if fulls > 0 {
		if _, err := p.run(ctx, "expire", "--repo1-retention-full="+strconv.Itoa(fulls)); err != nil {
			return res, fmt.Errorf("prune physical: expire WAL: %w", err)
		}
		res.ArchiveExpired = true
	}
	return res, nil
}
