package partitions

import (
	"context"
	"fmt"
	"regexp"
	"strconv"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
)

// querier is what the catalog reads need: a *pgx.Conn, a pool or a transaction.
type querier interface {
	Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error)
	QueryRow(ctx context.Context, sql string, args ...any) pgx.Row
}

var (
	rangeBoundRE = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`^FOR VALUES FROM \((.+)\) TO \((.+)\)$`) })
	hashBoundRE  = sync.OnceValue(func() *regexp.Regexp {
		return regexp.MustCompile(`^FOR VALUES WITH \(modulus (\d+), remainder (\d+)\)$`)
	})
)

// partitionsOf reads the direct children of every partitioned table in schema
// (or of table only, when table is not ""), in table and partition order.
// Row counts are pg_class.reltuples estimates. Range bounds are parsed only
// when the session TimeZone is UTC (WithTableLock sets it); otherwise the
// timestamps are still parsed with the offset the server printed.
func partitionsOf(ctx context.Context, q querier, schema, table string) ([]Partition, error) {
	rows, err := q.Query(ctx, `
SELECT p.relname, c.relname,
       CASE pt.partstrat WHEN 'r' THEN 'range' WHEN 'l' THEN 'list' WHEN 'h' THEN 'hash' ELSE pt.partstrat::text END,
       COALESCE(pg_get_expr(c.relpartbound, c.oid), ''),
       GREATEST(c.reltuples, 0)::bigint,
       pg_total_relation_size(c.oid)
FROM pg_inherits i
JOIN pg_class c ON c.oid = i.inhrelid
JOIN pg_class p ON p.oid = i.inhparent
JOIN pg_namespace n ON n.oid = p.relnamespace
JOIN pg_partitioned_table pt ON pt.partrelid = p.oid
WHERE n.nspname = $1 AND ($2 = '' OR p.relname = $2)
ORDER BY p.relname, c.relname`, schema, table)
	if err != nil {
		return nil, fmt.Errorf("read partitions of %s: %w", orAll(schema, table), err)
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (Partition, error) {
		var p Partition
		err := r.Scan(&p.Table, &p.Name, &p.Strategy, &p.Bounds, &p.Rows, &p.SizeBytes)
		return p, err
	})
	if err != nil {
		return nil, fmt.Errorf("read partitions of %s: %w", orAll(schema, table), err)
	}
	for i := range out {
		parseBounds(&out[i])
	}
	return out, nil
}

func orAll(schema, table string) string {
	if table == "" {
		return "schema " + schema
	}
	return schema + "." + table
}

// parseBounds fills the typed bounds from the text form of relpartbound.
func parseBounds(p *Partition) {
	if p.Bounds == "DEFAULT" {
		p.Default = true
		return
	}
	if m := rangeBoundRE().FindStringSubmatch(p.Bounds); m != nil {
		p.From, _ = parseTimestampLiteral(m[1])
		p.To, _ = parseTimestampLiteral(m[2])
		return
	}
	if m := hashBoundRE().FindStringSubmatch(p.Bounds); m != nil {
		p.Modulus, _ = strconv.Atoi(m[1])
		p.Remainder, _ = strconv.Atoi(m[2])
	}
}

// parseTimestampLiteral reads one single-column range bound such as
// '2026-11-01 00:00:00+00'. MINVALUE, MAXVALUE and multi-column bounds give
// ok == false.
func parseTimestampLiteral(s string) (time.Time, bool) {
	if len(s) < 2 || s[0] != '\'' || s[len(s)-1] != '\'' {
		return time.Time{}, false
	}
	s = s[1 : len(s)-1]
	for _, layout := range []string{"2006-01-02 15:04:05.999999-07", "2006-01-02 15:04:05.999999-07:00", "2006-01-02 15:04:05.999999-07:00:00"} {
		if t, err := time.Parse(layout, s); err == nil {
			return t.UTC(), true
		}
	}
	return time.Time{}, false
}

// exactRows counts the rows of one partition (ONLY: a sub-partitioned child
// counts its own rows, none).
func exactRows(ctx context.Context, q querier, schema, name string) (int64, error) {
	var n int64
	err := q.QueryRow(ctx, "SELECT count(*) FROM ONLY "+pgx.Identifier{schema, name}.Sanitize()).Scan(&n)
	if err != nil {
		return 0, fmt.Errorf("count rows of %s: %w", name, err)
	}
	return n, nil
}

// relkind returns the pg_class.relkind of schema.name, or "" when it does not exist.
func relkind(ctx context.Context, q querier, schema, name string) (string, error) {
	var kind string
	err := q.QueryRow(ctx, `
SELECT COALESCE((SELECT c.relkind::text FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
                 WHERE n.nspname = $1 AND c.relname = $2), '')`, schema, name).Scan(&kind)
	if err != nil {
		return "", fmt.Errorf("look up %s.%s: %w", schema, name, err)
	}
	return kind, nil
}
