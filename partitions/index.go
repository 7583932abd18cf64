package partitions

import (
	"context"
	"errors"
	"fmt"
	"hash/fnv"
	"log/slog"
	"regexp"
	"strings"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/quantx/quantx-db/internal/pglock"
	"github.com/quantx/quantx-db/internal/progress"
)

// IndexOptions configures CreateIndex. The zero value of every field is usable.
// The lock settings follow the rule of Options: 0 means off.
type IndexOptions struct {
	LockTimeout  time.Duration // lock_timeout of the statements that queue in front of traffic; 0: none
	Retries      int           // attempts repeated after lock_timeout or a deadlock; 0: none
	RetryBackoff time.Duration // pause before the first retry, doubled each time, with jitter; 0 means 250ms
	Logger       *slog.Logger  // nil discards
	// Progress receives each concurrent build as PostgreSQL reports it (pg_stat_progress_create_index,
	// read from a second connection); nil reports nothing and opens no second connection.
	Progress progress.Func
}

// Errors of the concurrent index builder.
var (
	// ErrInvalidIndex means an index is INVALID after its build: a failed or
	// interrupted CREATE INDEX CONCURRENTLY leaves one behind.
	ErrInvalidIndex = errors.New("index is INVALID")
	// ErrIndexBuilding means another session is building the index right now.
	ErrIndexBuilding = errors.New("index is being built by another session")
)

const identPattern = `(?:"(?:[^"]|"")+"|[A-Za-z_][A-Za-z0-9_$]*)`

// createIndexRE matches CREATE [UNIQUE] INDEX [CONCURRENTLY] [IF NOT EXISTS]
// name ON [ONLY] [schema.]table rest. An unnamed index cannot be found again
// by name, so it does not match.
var createIndexRE = sync.OnceValue(func() *regexp.Regexp {
	return regexp.MustCompile(`(?is)^CREATE\s+(UNIQUE\s+)?INDEX\s+(CONCURRENTLY\s+)?(IF\s+NOT\s+EXISTS\s+)?(` +
		identPattern + `)\s+ON\s+(ONLY\s+)?(` + identPattern + `(?:\s*\.\s*` + identPattern + `)?)\s*(.*?)\s*;?\s*$`)
})

var leadingCommentRE = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`^(?:\s+|--[^\n]*(?:\n|$)|/\*(?s:.*?)\*/)*`) })

// IndexStatement is a CREATE INDEX statement that names its index.
type IndexStatement struct {
	Name         string // the index name, unquoted (an index lives in its table's schema)
	Table        string // the table as written: [schema.]table, quoted or not
	TableSchema  string // the schema part of Table, unquoted; "" when not qualified
	TableName    string // the table part of Table, unquoted
	Unique       bool
	Concurrently bool
	IfNotExists  bool
	Only         bool   // ON ONLY: the parent of a partitioned table alone
	Rest         string // everything after the table: [USING m] (cols) [INCLUDE] [WITH] [WHERE]
}

// ParseCreateIndex recognises a CREATE INDEX statement with an explicit name
// (leading comments are ignored). ok is false for anything else, including
// an unnamed CREATE INDEX.
func ParseCreateIndex(stmt string) (s IndexStatement, ok bool) {
	m := createIndexRE().FindStringSubmatch(leadingCommentRE().ReplaceAllString(stmt, ""))
	if m == nil {
		return s, false
	}
	s = IndexStatement{Unique: m[1] != "", Concurrently: m[2] != "", IfNotExists: m[3] != "", Name: unquoteIdent(m[4]),
		Only: m[5] != "", Table: m[6], Rest: m[7]}
	parts := qualifiedRE().FindStringSubmatch(s.Table)
	if parts[1] != "" {
		s.TableSchema = unquoteIdent(parts[1])
	}
	s.TableName = unquoteIdent(parts[2])
	if !s.Concurrently && !s.IfNotExists && strings.EqualFold(m[4], "concurrently") {
		return IndexStatement{}, false // "CREATE INDEX CONCURRENTLY ON t": unnamed, not an index called concurrently
	}
	return s, true
}

var qualifiedRE = sync.OnceValue(func() *regexp.Regexp {
	return regexp.MustCompile(`^(?:(` + identPattern + `)\s*\.\s*)?(` + identPattern + `)$`)
})

// Builds reports whether the statement creates index schema.index on table
// (unquoted names; the index of a partition that CreateIndex makes for a
// partitioned table counts).
func (s IndexStatement) Builds(schema, index, table string) bool {
	if s.TableSchema != "" && s.TableSchema != schema {
		return false
	}
	return index == s.Name && table == s.TableName || index == childIndexName(s.Name, table)
}

// CreateIndex runs CREATE [UNIQUE] INDEX CONCURRENTLY [IF NOT EXISTS] name ON
// [ONLY] [schema.]table ... so that it never leaves an INVALID index behind
// and can be run again after any interruption.
//
// On a regular table (or materialized view) it drops an INVALID index of
// that name on that table first (the leftover of a failed or interrupted
// build; DROP INDEX CONCURRENTLY), builds without lock_timeout (see
// buildConcurrently) and checks pg_index.indisvalid afterwards.
//
// On a partitioned table, where PostgreSQL refuses CONCURRENTLY, it runs
//
//  1. CREATE INDEX IF NOT EXISTS name ON ONLY parent ... (catalog only, an
//     invalid index; its brief SHARE lock is requested under lock_timeout),
//  2. for each partition, the regular-table build above (recursing into
//     sub-partitioned ones),
//  3. ALTER INDEX name ATTACH PARTITION for each; the parent index becomes
//     valid when the last one is attached.
//
// Each step checks the catalog first, so running it again after an
// interruption continues where it stopped. It returns handled == true then.
// For any other statement (not CONCURRENTLY, unnamed, no such table) it
// returns handled == false and does nothing: the caller runs the statement
// itself. conn must not be in a transaction.
func CreateIndex(ctx context.Context, conn *pgx.Conn, stmt string, opts IndexOptions) (handled bool, err error) {
	o := Options{LockTimeout: opts.LockTimeout, Retries: opts.Retries, RetryBackoff: opts.RetryBackoff, Logger: opts.Logger}.withDefaults()
	s, ok := ParseCreateIndex(stmt)
	if !ok || !s.Concurrently {
		return false, nil
	}
	var kind, schema, relname string
	err = conn.QueryRow(ctx, `
SELECT c.relkind::text, n.nspname, c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE c.oid = to_regclass($1)`, s.Table).Scan(&kind, &schema, &relname)
	if errors.Is(err, pgx.ErrNoRows) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("create index %s: look up %s: %w", s.Name, s.Table, err)
	}
	b := indexBuild{conn: conn, o: o, unique: s.Unique, rest: s.Rest, prog: opts.Progress}
	switch kind {
	case "p":
		if err := b.build(ctx, schema, relname, s.Name); err != nil {
			return true, fmt.Errorf("create index %s on %s: %w", s.Name, relname, err)
		}
	case "r", "m":
		if s.Only {
			return false, nil // PostgreSQL's own error for ONLY on a plain table is the right one
		}
		// Its errors already say "create index <name>".
		return true, b.buildConcurrently(ctx, schema, relname, s.Name, s.IfNotExists)
	default:
		return false, nil
	}
	return true, nil
}

type indexBuild struct {
	conn   *pgx.Conn
	o      Options
	unique bool
	rest   string // everything after the table name: [USING m] (cols) [INCLUDE] [WITH] [WHERE]
	prog   progress.Func
}

func (b indexBuild) create() string {
	if b.unique {
		return "CREATE UNIQUE INDEX "
	}
	return "CREATE INDEX "
}

// build makes index name on partitioned table schema.table, then recurses.
func (b indexBuild) build(ctx context.Context, schema, table, name string) error {
	parent := pgx.Identifier{schema, table}.Sanitize()
	idx := pgx.Identifier{schema, name}.Sanitize()
	// An index of this name on another table is not ours to touch.
	var onTable string
	err := b.conn.QueryRow(ctx, `SELECT COALESCE((SELECT indrelid::regclass::text FROM pg_index WHERE indexrelid = to_regclass($1)), '')`, idx).Scan(&onTable)
	if err != nil {
		return err
	}
	if onTable == "" {
		err := inTx(ctx, b.conn, b.o, "create parent index "+name, func(tx pgx.Tx) error {
			_, err := tx.Exec(ctx, b.create()+"IF NOT EXISTS "+pgx.Identifier{name}.Sanitize()+" ON ONLY "+parent+" "+b.rest)
			return err
		})
		if err != nil {
			return err
		}
	} else if !sameRelation(ctx, b.conn, onTable, parent) {
		return fmt.Errorf("index %s exists on %s: %w", name, onTable, ErrDrift)
	}

	children, err := b.children(ctx, idx, parent)
	if err != nil {
		return err
	}
	for _, c := range children {
		if c.attached {
			continue
		}
		cname := childIndexName(name, c.name)
		cidx := pgx.Identifier{c.schema, cname}.Sanitize()
		if c.kind == "p" {
			if err := b.build(ctx, c.schema, c.name, cname); err != nil {
				return err
			}
		} else if err := b.buildConcurrently(ctx, c.schema, c.name, cname, true); err != nil {
			return err
		}
		err := inTx(ctx, b.conn, b.o, "attach index "+cname, func(tx pgx.Tx) error {
			_, err := tx.Exec(ctx, "ALTER INDEX "+idx+" ATTACH PARTITION "+cidx)
			return err
		})
		if err != nil {
			return err
		}
		b.o.Logger.InfoContext(ctx, "index attached", "index", name, "partition", c.name)
	}
	var valid bool
	if err := b.conn.QueryRow(ctx, "SELECT indisvalid FROM pg_index WHERE indexrelid = to_regclass($1)", idx).Scan(&valid); err != nil {
		return err
	}
	if !valid {
		return fmt.Errorf("index %s is still invalid after attaching every partition: %w", name, ErrDrift)
	}
	return nil
}

// buildConcurrently builds index name on the regular table schema.table with
// CREATE INDEX CONCURRENTLY, replacing an invalid leftover of an earlier
// build first, and checks that the result is valid.
//
// The CONCURRENTLY statements run without lock_timeout. Their SHARE UPDATE
// EXCLUSIVE lock conflicts with no DML, so a waiting build makes no insert
// queue behind it, and most of their waiting is for older transactions and
// snapshots to end (a 6 s report is enough), which lock_timeout would turn
// into a failed build and an INVALID index on any busy system. A deadlock
// (the server cancels one side) is retried, dropping the leftover again.
func (b indexBuild) buildConcurrently(ctx context.Context, schema, table, name string, ifNotExists bool) error {
	o := b.o.lockOptions()
	o.Timeout = 0
	idx := pgx.Identifier{schema, name}.Sanitize()
	on := pgx.Identifier{schema, table}.Sanitize()
	stmt := b.create() + "CONCURRENTLY "
	if ifNotExists {
		stmt += "IF NOT EXISTS "
	}
	stmt += pgx.Identifier{name}.Sanitize() + " ON " + on + " " + b.rest
	if err := pglock.SetTimeout(ctx, b.conn, 0, false); err != nil {
		return fmt.Errorf("create index %s: %w", name, err)
	}
	defer b.conn.Exec(context.WithoutCancel(ctx), "RESET lock_timeout") //nolint:errcheck // best effort; the session is reset when released
	start := time.Now()
	_, err := pglock.Retry(ctx, o, "create index "+name, func(ctx context.Context) error {
		if _, err := dropInvalidIndex(ctx, b.conn, b.o, schema, name, on); err != nil {
			return err
		}
		stop := watchIndexBuild(ctx, b.conn, name, b.prog, b.o.Logger)
		_, err := b.conn.Exec(ctx, stmt)
		stop()
		return err
	})
	if err != nil {
		return err
	}
	var valid bool
	var onTable string
	err = b.conn.QueryRow(ctx, "SELECT indisvalid, indrelid::regclass::text FROM pg_index WHERE indexrelid = to_regclass($1)", idx).Scan(&valid, &onTable)
	if err != nil {
		return fmt.Errorf("create index %s: check it: %w", name, err)
	}
	if !sameRelation(ctx, b.conn, onTable, on) {
		return fmt.Errorf("create index %s: an index of that name exists on %s: %w", name, onTable, ErrDrift)
	}
	if !valid {
		return fmt.Errorf("create index %s: %w after the build", name, ErrInvalidIndex)
	}
	b.o.Logger.InfoContext(ctx, "index built", "index", name, "table", table, "duration", time.Since(start).Round(time.Millisecond))
	return nil
}

// dropInvalidIndex drops index schema.name if it is INVALID and belongs to
// table: the leftover of a failed or interrupted CREATE INDEX CONCURRENTLY,
// which IF NOT EXISTS would otherwise keep for good. It refuses to drop an
// index that another session is still building (it would wait for that
// build and then drop a good index). The caller sets lock_timeout.
func dropInvalidIndex(ctx context.Context, conn *pgx.Conn, o Options, schema, name, table string) (bool, error) {
	idx := pgx.Identifier{schema, name}.Sanitize()
	var invalid bool
	var builder int32
	err := conn.QueryRow(ctx, `
SELECT NOT x.indisvalid,
       COALESCE((SELECT p.pid FROM pg_stat_progress_create_index p WHERE p.index_relid = x.indexrelid AND p.pid <> pg_backend_pid() LIMIT 1), 0)
FROM pg_index x WHERE x.indexrelid = to_regclass($1) AND x.indrelid = to_regclass($2)`, idx, table).Scan(&invalid, &builder)
	if errors.Is(err, pgx.ErrNoRows) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("look up index %s: %w", name, err)
	}
	if !invalid {
		return false, nil
	}
	if builder != 0 {
		return false, fmt.Errorf("%s (pid %d): %w", name, builder, ErrIndexBuilding)
	}
	o.Logger.WarnContext(ctx, "dropping invalid index left by an interrupted build", "index", name)
	if _, err := conn.Exec(ctx, "DROP INDEX CONCURRENTLY IF EXISTS "+idx); err != nil {
		return false, fmt.Errorf("drop invalid index %s: %w", name, err)
	}
	return true, nil
}

// InvalidIndex is an index with pg_index.indisvalid false: the leftover of a
// failed CREATE INDEX CONCURRENTLY or REINDEX CONCURRENTLY, a partitioned
// index with a partition not yet attached, or a build still running.
type InvalidIndex struct {
	Schema   string `json:"schema"`
	Name     string `json:"name"`
	Table    string `json:"table"`
	Building bool   `json:"building"` // a CREATE INDEX is running on it now (pg_stat_progress_create_index)
}

// String is schema.name on table.
func (i InvalidIndex) String() string {
	return fmt.Sprintf("%s.%s on %s", i.Schema, i.Name, i.Table)
}

// Querier is what InvalidIndexes needs: a pool, a pooled connection or a connection.
type Querier interface {
	Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error)
}

// InvalidIndexes lists the invalid indexes of schema ("" means every schema
// but the system ones), ordered by schema and name. PostgreSQL keeps
// maintaining such an index on every write but never uses it for reads.
func InvalidIndexes(ctx context.Context, q Querier, schema string) ([]InvalidIndex, error) {
	rows, err := q.Query(ctx, `
SELECT n.nspname, ic.relname, tc.relname,
       EXISTS (SELECT 1 FROM pg_stat_progress_create_index p WHERE p.index_relid = x.indexrelid)
FROM pg_index x
JOIN pg_class ic ON ic.oid = x.indexrelid
JOIN pg_class tc ON tc.oid = x.indrelid
JOIN pg_namespace n ON n.oid = ic.relnamespace
WHERE NOT x.indisvalid AND ($1 = '' OR n.nspname = $1)
  AND n.nspname NOT IN ('pg_catalog', 'information_schema') AND n.nspname NOT LIKE 'pg\_toast%'
ORDER BY 1, 2`, schema)
	if err != nil {
		return nil, fmt.Errorf("list invalid indexes: %w", err)
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (InvalidIndex, error) {
		var i InvalidIndex
		err := r.Scan(&i.Schema, &i.Name, &i.Table, &i.Building)
		return i, err
	})
	if err != nil {
		return nil, fmt.Errorf("list invalid indexes: %w", err)
	}
	if out == nil {
		out = []InvalidIndex{}
	}
	return out, nil
}

type indexChild struct {
	schema, name, kind string
	attached           bool // a partition of the parent index already covers it
}

func (b indexBuild) children(ctx context.Context, idx, parent string) ([]indexChild, error) {
	rows, err := b.conn.Query(ctx, `
SELECT n.nspname, c.relname, c.relkind::text,
       EXISTS (SELECT 1 FROM pg_inherits ii JOIN pg_index x ON x.indexrelid = ii.inhrelid
               WHERE ii.inhparent = to_regclass($1) AND x.indrelid = c.oid)
FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE i.inhparent = to_regclass($2) AND c.relkind IN ('r', 'p')
ORDER BY c.relname`, idx, parent)
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, func(r pgx.CollectableRow) (indexChild, error) {
		var c indexChild
		err := r.Scan(&c.schema, &c.name, &c.kind, &c.attached)
		return c, err
	})
}

func sameRelation(ctx context.Context, conn *pgx.Conn, a, b string) bool {
	var same bool
	err := conn.QueryRow(ctx, "SELECT to_regclass($1) = to_regclass($2)", a, b).Scan(&same)
	return err == nil && same
}

// childIndexName is deterministic, so a re-run finds the index an interrupted
// run left, and at most 63 bytes (NAMEDATALEN): a long name is cut and made
// unique again with a hash of the full one.
func childIndexName(index, partition string) string {
	n := partition + "_" + index
	if len(n) <= 63 {
		return n
	}
	h := fnv.New32a()
	h.Write([]byte(n))
	return fmt.Sprintf("%s_%08x", n[:54], h.Sum32())
}

func unquoteIdent(s string) string {
	if strings.HasPrefix(s, `"`) {
		return strings.ReplaceAll(s[1:len(s)-1], `""`, `"`)
	}
	return strings.ToLower(s)
}
