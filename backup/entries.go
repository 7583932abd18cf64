package backup

import (
	"context"
	"errors"
	"slices"
	"strings"
	"sync"
	"time"
)

// Entry is a backup as the bucket's listing names it, read without its
// manifest: what the ID says.
type Entry struct {
	ID   string
	Kind Kind
	// DatabaseInID is the database part of the ID: the name lower-cased, with
	// characters other than a-z, 0-9, _, . and - replaced, cut at 40 (NewID).
	// Manifest.Database is the name itself.
	DatabaseInID string
	StartedAt    time.Time // to the second
}

// Entries lists the backups that have a manifest (a folder without one is not
// a backup: see List), newest first, with one listing of the bucket and no
// read but for backups started in the same second (see orderTies): for
// callers that must answer at once, such as shell completion.
func (c *Catalogue) Entries(ctx context.Context) ([]Entry, error) {
	objs, err := c.store.List(ctx, backupsPrefix)
	if err != nil {
		return nil, err
	}
	out := []Entry{}
	for _, o := range objs {
		id, name, ok := folderKey(o.Key)
		if !ok || name != manifestName {
			continue
		}
		m := idRE.FindStringSubmatch(id)
		t, err := time.Parse(idTimeLayout, m[1])
		if err != nil {
			continue
		}
		out = append(out, Entry{ID: id, Kind: Kind(m[2]), DatabaseInID: m[3], StartedAt: t})
	}
	c.orderTies(ctx, out)
	return out, nil
}

// orderTies sorts entries newest first. The ID and the listing give times to
// the second only, so two backups of the same second would be ordered by
// their random suffix, unlike List and "latest", which read the manifests'
// exact times: for those ties alone (rare: scripted runs), the manifests are
// read, all at once. An entry whose manifest cannot be read comes after the
// others of its second (by ID among such entries): completion is bounded, and
// a slow bucket must not leave it with nothing.
func (c *Catalogue) orderTies(ctx context.Context, out []Entry) {
	second := func(a, b Entry) int { return b.StartedAt.Compare(a.StartedAt) }
	slices.SortStableFunc(out, func(a, b Entry) int {
		if n := second(a, b); n != 0 {
			return n
		}
		return strings.Compare(b.ID, a.ID)
	})
	exact := map[string]time.Time{}
	var (
		mu sync.Mutex
		wg sync.WaitGroup
	)
	for i := range out {
		tied := (i > 0 && second(out[i-1], out[i]) == 0) || (i+1 < len(out) && second(out[i], out[i+1]) == 0)
		if !tied {
			continue
		}
		id := out[i].ID
		wg.Go(func() {
			if m, err := c.Manifest(ctx, id); err == nil {
				mu.Lock()
				exact[id] = m.StartedAt
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	if len(exact) == 0 {
		return
	}
	slices.SortStableFunc(out, func(a, b Entry) int {
		if n := second(a, b); n != 0 {
			return n
		}
		if n := exact[b.ID].Compare(exact[a.ID]); n != 0 {
			return n
		}
		return strings.Compare(b.ID, a.ID)
	})
}

// DatabaseNames returns, sorted, the names of the databases that entries hold
// backups of (of kind; "" for any), as their manifests record them: one
// manifest is read per database, that of its newest backup, all at once. The
// names of the manifests that could be read are returned with the errors of
// those that could not.
func (c *Catalogue) DatabaseNames(ctx context.Context, entries []Entry, kind Kind) ([]string, error) {
	type group struct {
		kind Kind
		db   string
	}
	newest := map[group]string{}
	for _, e := range entries { // newest first: the first of a group is its newest
		g := group{e.Kind, e.DatabaseInID}
		if _, seen := newest[g]; !seen && (kind == "" || e.Kind == kind) {
			newest[g] = e.ID
		}
	}
	var (
		mu    sync.Mutex
		names []string
		errs  []error
		wg    sync.WaitGroup
	)
	for _, id := range newest {
		wg.Go(func() {
			m, err := c.Manifest(ctx, id)
			mu.Lock()
			defer mu.Unlock()
			if err != nil {
				errs = append(errs, err)
			} else if !slices.Contains(names, m.Database) {
				names = append(names, m.Database)
			}
		})
	}
	wg.Wait()
	slices.Sort(names)
	return names, errors.Join(errs...)
}
