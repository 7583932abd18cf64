package testenv

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/quantx/quantx-db/internal/pglock"
	"github.com/quantx/quantx-db/migrations"
)

// MigratedPostgres is Postgres with the QuantX schema already in it, at version (0: the newest
// migration): for tests that need a migrated database, not for tests of migrating. The database is a
// CREATE DATABASE ... TEMPLATE copy (a file copy on the server, a fraction of a migration run) of a
// template database that is migrated once per schema and reused by every test and test binary that
// asks for the same schema.
//
// A template is named after a hash of everything that decides its content: the version, the embedded
// migration files, and the Go source of the packages that run them (migrations, partitions,
// internal/pglock), so a changed file, another branch or another package's concurrent test binary never
// gets a template built from other code. A template never has a connection: it is built under a
// temporary name, with every connection closed before it is renamed, and it refuses connections
// afterwards (ALLOW_CONNECTIONS false), so CREATE DATABASE ... TEMPLATE cannot meet "source database is
// being accessed by other users" from a test; an autovacuum worker can still be there for a moment,
// and that error is retried. Builders of one template serialise on an advisory lock. A build drops the
// templates built more than a day before (old branches and files); a test binary that still used one
// builds it again.
func MigratedPostgres(t testing.TB, version uint64) *PGDatabase {
	t.Helper()
	admin := PostgresAdminURL(t)
	tpl, err := templates.get(admin, version)
	if err != nil {
		t.Fatalf("testenv: migrated template database: %v", err)
	}
	return newDatabase(t, admin, func(ctx context.Context, conn *pgx.Conn, name string) error {
		err := cloneTemplate(ctx, conn, name, tpl)
		if pgErr, ok := errors.AsType[*pgconn.PgError](err); ok && pgErr.Code == "3D000" {
			// Dropped as stale by another process after this one found it: build it again.
			if tpl, err = templates.rebuild(admin, version); err == nil {
				err = cloneTemplate(ctx, conn, name, tpl)
			}
		}
		return err
	})
}

// templateSet builds each template once per process; the name it returns is valid for the process.
type templateSet struct {
	mu   sync.Mutex
	byV  map[uint64]*templateOnce
	hash func() (string, error) // of the files and source, computed once
}

type templateOnce struct {
	once sync.Once
	name string
	err  error
}

var templates = &templateSet{byV: map[uint64]*templateOnce{}, hash: sync.OnceValues(schemaHash)}

func (s *templateSet) get(admin string, version uint64) (string, error) {
	s.mu.Lock()
	o := s.byV[version]
	if o == nil {
		o = &templateOnce{}
		s.byV[version] = o
	}
	s.mu.Unlock()
	o.once.Do(func() { o.name, o.err = s.build(admin, version) })
	return o.name, o.err
}

func (s *templateSet) rebuild(admin string, version uint64) (string, error) {
	s.mu.Lock()
	delete(s.byV, version)
	s.mu.Unlock()
	return s.get(admin, version)
}

const (
	templatePrefix = "qxtpl_"
	buildingPrefix = "qxtmp_"
	// templateFormat changes when the way a template is built changes.
	templateFormat = "quantx-db test template 1"
	// staleAfter is how long a template may go without a build before a build of another one drops it.
	staleAfter = 24 * time.Hour
)

// build makes the template for version unless it exists, and returns its name.
func (s *templateSet) build(admin string, version uint64) (string, error) {
	ms, err := migrations.Load(migrations.Files())
	if err != nil {
		return "", err
	}
	if version == 0 {
		version = ms[len(ms)-1].Version
	}
	if !slices.ContainsFunc(ms, func(m *migrations.Migration) bool { return m.Version == version }) {
		return "", fmt.Errorf("no migration has version %d", version)
	}
	h, err := s.hash()
	if err != nil {
		return "", err
	}
	name := fmt.Sprintf("%sv%d_%s", templatePrefix, version, h)

	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	conn, err := pgx.Connect(ctx, admin)
	if err != nil {
		return "", err
	}
	defer conn.Close(context.Background()) // also releases the lock
	// Polled, not waited for: a waiting builder holds no snapshot, so it cannot stall a build's
	// CREATE INDEX CONCURRENTLY (that one runs in another database, but the rule costs nothing).
	l := pglock.NewLock("quantx-db/testenv:"+name, "build lock of template "+name)
	if err := pglock.Acquire(ctx, conn, l, pglock.Options{Wait: 4 * time.Minute}); err != nil {
		return "", err
	}
	var exists bool
	if err := conn.QueryRow(ctx, "SELECT EXISTS (SELECT 1 FROM pg_database WHERE datname = $1)", name).Scan(&exists); err != nil {
		return "", err
	}
	if exists {
		return name, nil
	}
	dropStale(ctx, conn, name)

	tmp := buildingPrefix + strings.ToLower(rand.Text()[:12])
	q := func(n string) string { return pgx.Identifier{n}.Sanitize() }
	if _, err := conn.Exec(ctx, "CREATE DATABASE "+q(tmp)); err != nil {
		return "", fmt.Errorf("create %s: %w", tmp, err)
	}
	ok := false
	defer func() {
		if !ok {
			_, _ = conn.Exec(context.Background(), "DROP DATABASE IF EXISTS "+q(tmp)+" WITH (FORCE)")
		}
	}()
	comment := fmt.Sprintf("%s; built %s", templateFormat, time.Now().UTC().Format(time.RFC3339))
	if _, err := conn.Exec(ctx, "COMMENT ON DATABASE "+q(tmp)+" IS "+quoteLiteral(comment)); err != nil {
		return "", err
	}
	u, err := url.Parse(admin)
	if err != nil {
		return "", err
	}
	u.Path = "/" + tmp
	if err := migrate(ctx, u.String(), int64(version)); err != nil {
		return "", fmt.Errorf("migrate %s to version %d: %w", tmp, version, err)
	}
	// Every connection to tmp is closed now (the server may still be ending a backend: RENAME waits
	// up to 5 s for it). From here on nobody can connect, so no test ever finds one in the template.
	if _, err := conn.Exec(ctx, "ALTER DATABASE "+q(tmp)+" ALLOW_CONNECTIONS false"); err != nil {
		return "", err
	}
	if _, err := conn.Exec(ctx, "ALTER DATABASE "+q(tmp)+" RENAME TO "+q(name)); err != nil {
		return "", fmt.Errorf("rename %s to %s: %w", tmp, name, err)
	}
	ok = true
	return name, nil
}

// migrate runs the migrations on the database at dbURL and closes every connection it opened.
func migrate(ctx context.Context, dbURL string, version int64) error {
	pool, err := pgxpool.New(ctx, dbURL)
	if err != nil {
		return err
	}
	defer pool.Close()
	r, err := migrations.New(pool, migrations.Files(), migrations.Options{})
	if err != nil {
		return err
	}
	_, err = r.Goto(ctx, version)
	return err
}

// cloneTemplate creates database name as a copy of tpl. "being accessed by other users" (55006) can
// only come from an autovacuum worker, which the server asks to leave; the clone is tried again for a
// while. This is the helper's own concurrency control, not a test retry.
func cloneTemplate(ctx context.Context, conn *pgx.Conn, name, tpl string) error {
	stmt := "CREATE DATABASE " + pgx.Identifier{name}.Sanitize() + " TEMPLATE " + pgx.Identifier{tpl}.Sanitize()
	deadline := time.Now().Add(time.Minute)
	for pause := 100 * time.Millisecond; ; pause = min(2*pause, 2*time.Second) {
		_, err := conn.Exec(ctx, stmt)
		pgErr, ok := errors.AsType[*pgconn.PgError](err)
		if err == nil || !ok || pgErr.Code != "55006" || time.Now().After(deadline) {
			return err
		}
		time.Sleep(pause)
	}
}

// dropStale drops templates that no build has touched for staleAfter, and databases left by a
// builder that died (older than an hour), except keep. Each is dropped under its build lock, and only
// if that lock is free; failures are left for the next build.
func dropStale(ctx context.Context, conn *pgx.Conn, keep string) {
	rows, err := conn.Query(ctx, `SELECT datname, COALESCE(shobj_description(oid, 'pg_database'), '') FROM pg_database
		WHERE datname LIKE 'qxtpl\_%' OR datname LIKE 'qxtmp\_%'`)
	if err != nil {
		return
	}
	type db struct{ name, comment string }
	dbs, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (db, error) {
		var d db
		return d, r.Scan(&d.name, &d.comment)
	})
	if err != nil {
		return
	}
	for _, d := range dbs {
		_, built, ok := strings.Cut(d.comment, "; built ")
		when, err := time.Parse(time.RFC3339, built)
		if d.name == keep || !ok || err != nil {
			continue
		}
		maxAge := staleAfter
		if strings.HasPrefix(d.name, buildingPrefix) {
			maxAge = time.Hour
		}
		if time.Since(when) < maxAge {
			continue
		}
		l := pglock.NewLock("quantx-db/testenv:"+d.name, "build lock of template "+d.name)
		if pglock.Acquire(ctx, conn, l, pglock.Options{}) != nil {
			continue
		}
		// A clone in progress holds the template for a moment; do not wait behind it for long.
		_, _ = conn.Exec(ctx, "SET lock_timeout = '5s'")
		_, _ = conn.Exec(ctx, "DROP DATABASE IF EXISTS "+pgx.Identifier{d.name}.Sanitize())
		_, _ = conn.Exec(ctx, "RESET lock_timeout")
		_, _ = conn.Exec(ctx, "SELECT pg_advisory_unlock($1)", l.Key)
	}
}

func quoteLiteral(s string) string { return "'" + strings.ReplaceAll(s, "'", "''") + "'" }

// schemaHash hashes what decides a template's content: the embedded migration files and the Go
// source (non-test files) of the packages that run them, found from the module root above the
// working directory (go test runs in the package's folder). Without the source (a test binary run
// elsewhere) the files alone are hashed, with a marker, so the names cannot collide.
func schemaHash() (string, error) {
	h := sha256.New()
	fmt.Fprintln(h, templateFormat)
	files := migrations.Files()
	err := fs.WalkDir(files, ".", func(p string, e fs.DirEntry, err error) error {
		if err != nil || e.IsDir() {
			return err
		}
		b, err := fs.ReadFile(files, p)
		if err != nil {
			return err
		}
		fmt.Fprintf(h, "file %s %d\n", p, len(b))
		h.Write(b)
		return nil
	})
	if err != nil {
		return "", err
	}
	root, err := moduleRoot()
	if err != nil {
		fmt.Fprintln(h, "no source")
	} else {
		for _, dir := range []string{"migrations", "partitions", "internal/pglock"} {
			paths, err := filepath.Glob(filepath.Join(root, dir, "*.go"))
			if err != nil {
				return "", err
			}
			slices.Sort(paths)
			for _, p := range paths {
				if strings.HasSuffix(p, "_test.go") {
					continue
				}
				b, err := os.ReadFile(p)
				if err != nil {
					return "", err
				}
				fmt.Fprintf(h, "source %s/%s %d\n", dir, filepath.Base(p), len(b))
				h.Write(b)
			}
		}
	}
	return hex.EncodeToString(h.Sum(nil))[:16], nil
}

// moduleRoot finds the folder of this module's go.mod above the working directory.
func moduleRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		b, err := os.ReadFile(filepath.Join(dir, "go.mod"))
		if err == nil && strings.Contains(string(b), "module github.com/quantx/quantx-db\n") {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("go.mod of github.com/quantx/quantx-db not found")
		}
		dir = parent
	}
}
