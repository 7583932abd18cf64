package backup

import (
	"cmp"
	"context"
	"slices"
	"time"
)

// Info is the catalogue summarised per kind and database, the way `pgbackrest info` summarises a
// stanza. Ages are in seconds at CheckedAt.
type Info struct {
	CheckedAt time.Time `json:"checked_at"`
	Groups    []Group   `json:"groups"`
}

// Group summarises the backups of one kind and database (for physical sets: the stanza).
type Group struct {
	Kind     Kind   `json:"kind"`
	Database string `json:"database"`
	Count    int    `json:"count"`
	// TotalBytes is what the group's backups store: the objects their manifests list (for physical
	// sets, pgBackRest's repository size of each set, without the archived WAL).
	TotalBytes int64     `json:"total_bytes"`
	Newest     BackupRef `json:"newest"`
	Oldest     BackupRef `json:"oldest"`
	// LastVerification is the most recent recorded check of any of the group's backups; null when
	// none was ever verified (physical sets are not: pgBackRest checks them itself).
	LastVerification *VerificationRef `json:"last_verification"`

	newest, oldest Manifest
}

// BackupRef names one backup of a group.
type BackupRef struct {
	ID         string    `json:"id"`
	FinishedAt time.Time `json:"finished_at"`
	AgeSeconds float64   `json:"age_seconds"`
	Bytes      int64     `json:"bytes"` // Manifest.StoredSize
}

// VerificationRef is a recorded verification with its age.
type VerificationRef struct {
	Verification
	AgeSeconds float64 `json:"age_seconds"`
}

// Summarize groups ms by kind and database: count, newest, oldest, total size, and the last of the
// verifications (by backup ID) of each group. Groups come in the order of Kinds, then by database.
func Summarize(ms []Manifest, verifications map[string]Verification, now time.Time) []Group {
	type key struct {
		kind Kind
		db   string
	}
	groups := map[key]*Group{}
	var order []key
	for _, m := range ms {
		k := key{m.Kind, m.Database}
		g, ok := groups[k]
		ref := BackupRef{ID: m.ID, FinishedAt: m.FinishedAt, AgeSeconds: now.Sub(m.FinishedAt).Seconds(), Bytes: m.StoredSize()}
		if !ok {
			g = &Group{Kind: m.Kind, Database: m.Database, Newest: ref, Oldest: ref, newest: m, oldest: m}
			groups[k] = g
			order = append(order, k)
		}
		g.Count++
		g.TotalBytes += ref.Bytes
		if newer(m, g.newest) {
			g.Newest, g.newest = ref, m
		}
		if newer(g.oldest, m) {
			g.Oldest, g.oldest = ref, m
		}
		if v, ok := verifications[m.ID]; ok && (g.LastVerification == nil || v.CheckedAt.After(g.LastVerification.CheckedAt)) {
			g.LastVerification = &VerificationRef{Verification: v, AgeSeconds: now.Sub(v.CheckedAt).Seconds()}
		}
	}
	rank := func(k Kind) int {
		if i := slices.Index(Kinds(), k); i >= 0 {
			return i
		}
		return len(Kinds())
	}
	slices.SortFunc(order, func(a, b key) int {
		return cmp.Or(cmp.Compare(rank(a.kind), rank(b.kind)), cmp.Compare(a.kind, b.kind), cmp.Compare(a.db, b.db))
	})
	out := make([]Group, 0, len(order))
	for _, k := range order {
		out = append(out, *groups[k])
	}
	return out
}

// newer reports whether a sorts before b in a newest-first listing (sortNewestFirst's order).
func newer(a, b Manifest) bool {
	if !a.StartedAt.Equal(b.StartedAt) {
		return a.StartedAt.After(b.StartedAt)
	}
	return a.ID > b.ID
}

// Info summarises the backups the selector picks, with their recorded verifications. more are
// backups listed elsewhere (pgBackRest's sets, Physical.List) to summarise with the catalogue's; the
// catalogue is not read when the selector asks for physical sets only.
func (c *Catalogue) Info(ctx context.Context, sel Selector, more ...Manifest) (Info, error) {
	info := Info{CheckedAt: c.o.Now().UTC(), Groups: []Group{}}
	var ms []Manifest
	sc := scanned{verified: map[string]bool{}}
	if sel.Kind != KindPhysical {
		var err error
		if sc, err = c.scan(ctx); err != nil {
			return info, err
		}
		ms = sc.manifests
	}
	sc.manifests = Select(append(ms, more...), sel)
	verifications, err := c.verifications(ctx, sc)
	if err != nil {
		return info, err
	}
	info.Groups = Summarize(sc.manifests, verifications, info.CheckedAt)
	return info, nil
}
