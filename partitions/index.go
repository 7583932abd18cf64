package partitions

import (
	"context"
	"errors"
	"fmt"
	"hash/fnv"
	"log/slog"
	"regexp"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
)

// IndexOptions configures CreateIndex. The zero value of every field is a usable default.
type IndexOptions struct {
	LockTimeout  time.Duration // lock_timeout of each statement; 0 means 5s
	Retries      int           // retries of a statement that hit lock_timeout; 0 means 4, <0 means none
	RetryBackoff time.Duration // first retry delay, doubled each time; 0 means 250ms
	Logger       *slog.Logger  // nil discards
}

const identPattern = `(?:"(?:[^"]|"")+"|[A-Za-z_][A-Za-z0-9_$]*)`

// createIndexRE matches CREATE [UNIQUE] INDEX CONCURRENTLY [IF NOT EXISTS]
// name ON [ONLY] [schema.]table rest. An unnamed index cannot be resumed by
// name, so it does not match.
var createIndexRE = regexp.MustCompile(`(?is)^CREATE\s+(UNIQUE\s+)?INDEX\s+CONCURRENTLY\s+(?:IF\s+NOT\s+EXISTS\s+)?(` +
	identPattern + `)\s+ON\s+(?:ONLY\s+)?(` + identPattern + `(?:\s*\.\s*` + identPattern + `)?)\s*(.*?)\s*;?\s*$`)

var leadingCommentRE = regexp.MustCompile(`^(?:\s+|--[^\n]*(?:\n|$)|/\*(?s:.*?)\*/)*`)

// CreateIndex builds an index on a partitioned table without blocking its
// writers, which PostgreSQL cannot do in one statement (CREATE INDEX
// CONCURRENTLY is refused on a partitioned parent). For
//
//	CREATE [UNIQUE] INDEX CONCURRENTLY [IF NOT EXISTS] name ON [ONLY] [schema.]table ...
//
// on a partitioned table it runs
//
//  1. CREATE INDEX IF NOT EXISTS name ON ONLY parent ... (catalog only, an
//     invalid index; its brief SHARE lock is requested under lock_timeout),
//  2. for each partition, CREATE INDEX CONCURRENTLY IF NOT EXISTS on the
//     partition (recursing into sub-partitioned ones); an INVALID leftover of
//     an interrupted build is dropped CONCURRENTLY and rebuilt,
//  3. ALTER INDEX name ATTACH PARTITION for each; the parent index becomes
//     valid when the last one is attached.
//
// Each step checks the catalog first, so running it again after an
// interruption continues where it stopped. It returns handled == true then.
// For any other statement, or a table that is not partitioned (or does not
// exist), it returns handled == false and does nothing: the caller runs the
// statement itself. conn must not be in a transaction.
func CreateIndex(ctx context.Context, conn *pgx.Conn, stmt string, opts IndexOptions) (handled bool, err error) {
	o := Options{LockTimeout: opts.LockTimeout, Retries: opts.Retries, RetryBackoff: opts.RetryBackoff, Logger: opts.Logger}.withDefaults()
	sql := leadingCommentRE.ReplaceAllString(stmt, "")
	m := createIndexRE.FindStringSubmatch(sql)
	if m == nil {
		return false, nil
	}
	unique, name, table, rest := m[1] != "", unquoteIdent(m[2]), m[3], m[4]
	var oid uint32
	var kind, schema, relname string
	err = conn.QueryRow(ctx, `
SELECT c.oid, c.relkind::text, n.nspname, c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE c.oid = to_regclass($1)`, table).Scan(&oid, &kind, &schema, &relname)
	if errors.Is(err, pgx.ErrNoRows) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("create index %s: look up %s: %w", name, table, err)
	}
	if kind != "p" {
		return false, nil
	}
	b := indexBuild{conn: conn, o: o, unique: unique, rest: rest}
	if err := b.build(ctx, schema, relname, name); err != nil {
		return true, fmt.Errorf("create index %s on %s: %w", name, relname, err)
	}
	return true, nil
}

type indexBuild struct {
	conn   *pgx.Conn
	o      Options
	unique bool
	rest   string // everything after the table name: [USING m] (cols) [INCLUDE] [WITH] [WHERE]
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
		} else if err := b.buildLeaf(ctx, c, cname, cidx); err != nil {
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

// buildLeaf builds the index of one leaf partition concurrently, replacing an
// invalid leftover of an interrupted build first.
//
// These two CONCURRENTLY statements run without lock_timeout: their SHARE
// UPDATE EXCLUSIVE lock conflicts with no DML, so a waiting build does not
// make inserts queue behind it, and most of their waiting is for older
// transactions to finish, which lock_timeout would turn into a failed build
// (and an INVALID index) on any system with a transaction longer than it.
func (b indexBuild) buildLeaf(ctx context.Context, c indexChild, cname, cidx string) error {
	o := b.o
	o.LockTimeout = -1
	var exists, valid bool
	err := b.conn.QueryRow(ctx, `
SELECT EXISTS (SELECT 1 FROM pg_index WHERE indexrelid = to_regclass($1)),
       COALESCE((SELECT indisvalid FROM pg_index WHERE indexrelid = to_regclass($1)), false)`, cidx).Scan(&exists, &valid)
	if err != nil {
		return err
	}
	if exists && !valid {
		b.o.Logger.WarnContext(ctx, "dropping invalid index left by an interrupted build", "index", cname)
		if err := execNoTx(ctx, b.conn, o, "drop invalid index "+cname, "DROP INDEX CONCURRENTLY IF EXISTS "+cidx); err != nil {
			return err
		}
		exists = false
	}
	if exists {
		return nil
	}
	start := time.Now()
	err = execNoTx(ctx, b.conn, o, "create index "+cname,
		b.create()+"CONCURRENTLY IF NOT EXISTS "+pgx.Identifier{cname}.Sanitize()+" ON "+pgx.Identifier{c.schema, c.name}.Sanitize()+" "+b.rest)
	if err != nil {
		return err
	}
	b.o.Logger.InfoContext(ctx, "partition index built", "index", cname, "partition", c.name, "duration", time.Since(start).Round(time.Millisecond))
	return nil
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
