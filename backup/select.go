package backup

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
)

// Kinds returns the kinds of backup, in the order reports list them.
func Kinds() []Kind { return []Kind{KindPostgres, KindInflux, KindPhysical} }

// ErrUnknownKind is a kind name that is none of Kinds.
var ErrUnknownKind = errors.New("unknown backup kind")

// ParseKind returns the kind named s (one of Kinds).
func ParseKind(s string) (Kind, error) {
	if k := Kind(s); slices.Contains(Kinds(), k) {
		return k, nil
	}
	names := make([]string, 0, len(Kinds()))
	for _, k := range Kinds() {
		names = append(names, string(k))
	}
	return "", fmt.Errorf("%w %q: the kinds are %s", ErrUnknownKind, s, strings.Join(names, ", "))
}

// Selector picks backups by kind and database (for a physical set, the pgBackRest stanza). An empty
// field matches any.
type Selector struct {
	Kind     Kind
	Database string
}

// Match reports whether m is selected.
func (s Selector) Match(m Manifest) bool {
	return (s.Kind == "" || m.Kind == s.Kind) && (s.Database == "" || m.Database == s.Database)
}

// Select returns the backups of ms that s selects, in their order.
func Select(ms []Manifest, s Selector) []Manifest {
	out := []Manifest{}
	for _, m := range ms {
		if s.Match(m) {
			out = append(out, m)
		}
	}
	return out
}

// Databases returns the databases that have backups of kind ("" any kind) in ms, sorted.
func Databases(ms []Manifest, kind Kind) []string {
	var out []string
	for _, m := range ms {
		if (kind == "" || m.Kind == kind) && !slices.Contains(out, m.Database) {
			out = append(out, m.Database)
		}
	}
	slices.Sort(out)
	return out
}

// ErrNoBackup is the condition of a NoBackupError.
var ErrNoBackup = errors.New("no backup")

// NoBackupError says that no backup of a kind and database exists, and what exists instead.
type NoBackupError struct {
	Kind     Kind
	Database string
	// Others are the databases that do have backups of Kind.
	Others []string
	// Failed are the backups of Kind and Database passed over because their last recorded
	// verification failed (LatestOptions.SkipFailed), newest first.
	Failed []string
}

func (e *NoBackupError) Error() string {
	msg := fmt.Sprintf("no %s backup of database %s", e.Kind, e.Database)
	if len(e.Failed) > 0 {
		msg = fmt.Sprintf("no %s backup of database %s passed its last verification (failed: %s)", e.Kind, e.Database, strings.Join(e.Failed, ", "))
	}
	if len(e.Others) > 0 {
		msg += fmt.Sprintf("; %s backups exist for %s", e.Kind, strings.Join(e.Others, ", "))
	}
	return msg
}

// Unwrap returns ErrNoBackup.
func (e *NoBackupError) Unwrap() error { return ErrNoBackup }

// LatestOptions say which backup Latest returns.
type LatestOptions struct {
	Kind     Kind   // required
	Database string // required: the database name recorded in the manifests
	// SkipFailed passes over backups whose last recorded verification failed, with a warning in the
	// log. Restores skip them; a verification does not, so that a damaged newest backup keeps failing
	// its nightly check instead of an older one passing in its place.
	SkipFailed bool
}

// Latest returns the newest backup of o.Kind and o.Database that has a manifest (a complete backup),
// or a *NoBackupError.
func (c *Catalogue) Latest(ctx context.Context, o LatestOptions) (Manifest, error) {
	if o.Kind == "" || o.Database == "" {
		return Manifest{}, errors.New("latest backup: kind and database are required")
	}
	sc, err := c.scan(ctx)
	if err != nil {
		return Manifest{}, err
	}
	nb := &NoBackupError{Kind: o.Kind, Database: o.Database}
	for _, m := range Select(sc.manifests, Selector{Kind: o.Kind, Database: o.Database}) { // newest first
		if o.SkipFailed && sc.verified[m.ID] {
			v, found, err := c.LastVerification(ctx, m.ID)
			if err != nil {
				return Manifest{}, err
			}
			if found && !v.OK {
				c.log.WarnContext(ctx, "backup skipped: its last verification failed", "backup", m.ID,
					"method", v.Method, "checked_at", v.CheckedAt, "problem", strings.Join(v.Problems, "; "))
				nb.Failed = append(nb.Failed, m.ID)
				continue
			}
		}
		return m, nil
	}
	for _, db := range Databases(sc.manifests, o.Kind) {
		if db != o.Database {
			nb.Others = append(nb.Others, db)
		}
	}
	return Manifest{}, nb
}
