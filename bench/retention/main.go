// Command retention benchmarks `quantx-db retention apply --no-archive`
// against the seed's retention, `DELETE FROM activity_logs WHERE created_at <
// cutoff` followed by `VACUUM activity_logs`, on identical copies of the same
// data, and prints wall time, WAL bytes and the p99 latency of a concurrent
// single-row insert loop as ratios. Run it through bench/retention.sh.
//
// Each figure is the median of -runs (at least 5), each run on fresh byte
// copies of the loaded database, the two sides alternating which goes first;
// pg_dump is the server's own binary (-pgbin), not Debian's Perl wrapper.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/quantx/quantx-db/migrations"
	"github.com/quantx/quantx-db/partitions"
)

// The data spans the 24 months before now; the policy keeps the last
// 24-expire months, so both methods remove exactly the oldest months.
var benchNow = time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC)

func main() {
	admin := flag.String("admin-url", os.Getenv("QUANTX_TEST_DATABASE_URL"), "superuser URL of the PostgreSQL server")
	sizes := flag.String("rows", "5000000,10000000", "comma-separated activity_logs row counts, one run each")
	expire := flag.Int("expire-months", 6, "how many of the 24 months are expired")
	bin := flag.String("bin", "", "quantx-db binary")
	idle := flag.Duration("idle", 3*time.Second, "how long the idle insert loop runs to measure the idle p99")
	archive := flag.String("archive-rows", "", "also compare archiving runs (S3 from QUANTX_TEST_S3_*) against pg_dump -t + DELETE, at this row count only")
	runs := flag.Int("runs", 5, "repetitions (at least 5); the median is reported")
	pgbin := flag.String("pgbin", "/usr/lib/postgresql/15/bin", "folder of the server's pg_dump")
	flag.Parse()
	if *admin == "" || *bin == "" || *runs < 5 {
		fmt.Fprintln(os.Stderr, "usage: retention -admin-url URL -bin quantx-db [-rows N,M] [-expire-months K] [-runs N>=5] [-pgbin DIR]")
		os.Exit(2)
	}
	arcArg := *archive
	if arcArg == "" {
		arcArg = "''"
	}
	fmt.Printf("command: bench/retention.sh %s %d %s %d   (pg_dump: %s)\n", *sizes, *expire, arcArg, *runs, filepath.Join(*pgbin, "pg_dump"))
	ctx := context.Background()
	for _, s := range strings.Split(*sizes, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(s))
		if err != nil {
			fail(err)
		}
		if err := runSize(ctx, *admin, *bin, *pgbin, n, *expire, *runs, *idle, strings.TrimSpace(s) == *archive); err != nil {
			fail(err)
		}
	}
}

func fail(err error) {
	fmt.Fprintln(os.Stderr, "bench:", err)
	os.Exit(1)
}

type result struct {
	wall         time.Duration
	wallLoaded   time.Duration // wall time of the run under the insert loop
	walBytes     int64
	p99, idleP99 time.Duration
	max          time.Duration // slowest insert during the run
	over2x       int           // inserts during the run slower than twice the idle p99
	inserts      int
}

// sample is one run's measurements of both sides.
type sample struct {
	quantx, del, ctl    result
	arcQ, arcD          result
	arcBytes, dumpBytes int64
}

func runSize(ctx context.Context, admin, bin, pgbin string, rows, expire, runs int, idle time.Duration, archive bool) error {
	base := fmt.Sprintf("bench_ret_%d", rows)
	quietQ, quietD := base+"_quiet_q", base+"_quiet_delete"
	loadQ, loadD := base+"_load_q", base+"_load_delete"
	arcQ, arcD := base+"_arc_q", base+"_arc_dump"
	copies := []string{quietQ, quietD, loadQ, loadD}
	if archive {
		copies = append(copies, arcQ, arcD)
	}
	adminConn, err := pgx.Connect(ctx, admin)
	if err != nil {
		return err
	}
	defer adminConn.Close(ctx)
	drop := func(dbs ...string) error {
		for _, db := range dbs {
			if _, err := adminConn.Exec(ctx, "DROP DATABASE IF EXISTS "+db+" WITH (FORCE)"); err != nil {
				return err
			}
		}
		return nil
	}
	if err := drop(append([]string{base}, copies...)...); err != nil {
		return err
	}
	if _, err := adminConn.Exec(ctx, "CREATE DATABASE "+base); err != nil {
		return err
	}
	t0 := time.Now()
	if err := load(ctx, dbURL(admin, base), rows); err != nil {
		return fmt.Errorf("load: %w", err)
	}
	fmt.Printf("\n== %d rows over 24 months, %d expired (loaded in %s); median of %d runs, order alternated\n", rows, expire, time.Since(t0).Round(time.Second), runs)
	cutoff := benchNow.AddDate(0, -(24 - expire), 0)

	policy, err := os.CreateTemp("", "policy-*.yaml")
	if err != nil {
		return err
	}
	defer os.Remove(policy.Name())
	fmt.Fprintf(policy, "postgres:\n  activity_logs:\n    keep: %d months\n    archive: false\n", 24-expire)
	policy.Close()

	quantxOp := func(ctx context.Context, url string) error {
		cmd := exec.CommandContext(ctx, bin, "retention", "apply", "--no-archive", "--yes", "--policy", policy.Name(), "-o", "json")
		cmd.Env = append(os.Environ(), "QUANTX_DATABASE_URL="+url, "QUANTX_NOW="+benchNow.Format(time.RFC3339))
		out, err := cmd.CombinedOutput()
		if err != nil {
			return fmt.Errorf("%s: %w\n%s", bin, err, out)
		}
		return nil
	}
	deleteOp := func(ctx context.Context, url string) error {
		conn, err := pgx.Connect(ctx, url)
		if err != nil {
			return err
		}
		defer conn.Close(ctx)
		if _, err := conn.Exec(ctx, "DELETE FROM activity_logs WHERE created_at < $1", cutoff); err != nil {
			return err
		}
		_, err = conn.Exec(ctx, "VACUUM activity_logs")
		return err
	}
	// Control: a run that takes no lock in front of the inserts and changes
	// nothing (exact row counts of every partition: ACCESS SHARE locks and
	// sequential scans). On a machine with few cores, any concurrent work
	// moves the insert loop's p99; this separates that from lock waits.
	controlOp := func(ctx context.Context, url string) error {
		cmd := exec.CommandContext(ctx, bin, "partitions", "list", "--exact", "-o", "json")
		cmd.Env = append(os.Environ(), "QUANTX_DATABASE_URL="+url)
		if out, err := cmd.CombinedOutput(); err != nil {
			return fmt.Errorf("%s: %w\n%s", bin, err, out)
		}
		return nil
	}
	left := func(db string) (int64, error) {
		c, err := pgx.Connect(ctx, dbURL(admin, db))
		if err != nil {
			return 0, err
		}
		defer c.Close(ctx)
		var n int64
		err = c.QueryRow(ctx, "SELECT count(*) FROM activity_logs WHERE action <> 'bench-loop'").Scan(&n)
		return n, err
	}

	var samples []sample
	for run := range runs {
		// FILE_COPY: a byte copy of the files, without writing the data to WAL.
		for _, c := range copies {
			if _, err := adminConn.Exec(ctx, "CREATE DATABASE "+c+" TEMPLATE "+base+" STRATEGY FILE_COPY"); err != nil {
				return err
			}
		}
		var sm sample
		// Even runs measure quantx-db first, odd runs the baseline first.
		sides := []func() error{
			func() (err error) {
				sm.quantx, err = measure(ctx, dbURL(admin, quietQ), dbURL(admin, loadQ), idle, quantxOp)
				if err != nil {
					return fmt.Errorf("quantx-db: %w", err)
				}
				return nil
			},
			func() (err error) {
				sm.del, err = measure(ctx, dbURL(admin, quietD), dbURL(admin, loadD), idle, deleteOp)
				if err != nil {
					return fmt.Errorf("delete: %w", err)
				}
				return nil
			},
		}
		if run%2 == 1 {
			sides[0], sides[1] = sides[1], sides[0]
		}
		for _, side := range sides {
			if err := side(); err != nil {
				return err
			}
		}
		if sm.ctl, err = measure(ctx, dbURL(admin, loadQ), dbURL(admin, loadQ), idle, controlOp); err != nil {
			return fmt.Errorf("control: %w", err)
		}
		// Same outcome: the same rows are left.
		lq, err := left(loadQ)
		if err != nil {
			return err
		}
		ld, err := left(loadD)
		if err != nil {
			return err
		}
		if lq != ld {
			return fmt.Errorf("different outcomes: %d rows left by quantx-db, %d by DELETE", lq, ld)
		}
		if run == 0 {
			fmt.Printf("rows left after both: %d (removed %d)\n", lq, int64(rows)-lq)
		}
		if archive {
			if err := compareArchiving(ctx, admin, bin, pgbin, arcQ, arcD, expire, cutoff, idle, run%2 == 1, &sm); err != nil {
				return fmt.Errorf("archiving: %w", err)
			}
		}
		samples = append(samples, sm)
		if err := drop(copies...); err != nil {
			return err
		}
	}
	q := medianResult(samples, func(s sample) result { return s.quantx })
	del := medianResult(samples, func(s sample) result { return s.del })
	ctl := medianResult(samples, func(s sample) result { return s.ctl })
	fmt.Printf("%-34s %14s %14s %10s\n", "", "quantx-db", "DELETE+VACUUM", "ratio")
	fmt.Printf("%-34s %14s %14s %9.4fx\n", "wall time (alone)", q.wall.Round(time.Millisecond), del.wall.Round(time.Millisecond), float64(q.wall)/float64(del.wall))
	fmt.Printf("%-34s %14d %14d %9.6fx\n", "WAL bytes (alone)", q.walBytes, del.walBytes, float64(q.walBytes)/float64(del.walBytes))
	fmt.Printf("%-34s %14s %14s %9.4fx\n", "wall time (under the insert loop)", q.wallLoaded.Round(time.Millisecond), del.wallLoaded.Round(time.Millisecond), float64(q.wallLoaded)/float64(del.wallLoaded))
	fmt.Printf("%-34s %14s %14s\n", "insert p99 idle", q.idleP99.Round(time.Microsecond), del.idleP99.Round(time.Microsecond))
	fmt.Printf("%-34s %14s %14s\n", "insert p99 during", q.p99.Round(time.Microsecond), del.p99.Round(time.Microsecond))
	fmt.Printf("%-34s %13.2fx %13.2fx\n", "insert p99 during / idle (median)", medianRatio(samples, func(s sample) result { return s.quantx }), medianRatio(samples, func(s sample) result { return s.del }))
	fmt.Printf("%-34s %14s %14s\n", "slowest insert during", q.max.Round(time.Microsecond), del.max.Round(time.Microsecond))
	fmt.Printf("%-34s %14d %14d\n", "inserts slower than 2x idle p99", q.over2x, del.over2x)
	fmt.Printf("%-34s %14d %14d\n", "inserts during the run", q.inserts, del.inserts)
	fmt.Printf("control, read-only 'partitions list --exact' (%s) under the same loop: p99 %s / idle %s = %.2fx; %d of %d inserts slower than 2x idle p99\n",
		ctl.wallLoaded.Round(time.Millisecond), ctl.p99.Round(time.Microsecond), ctl.idleP99.Round(time.Microsecond),
		medianRatio(samples, func(s sample) result { return s.ctl }), ctl.over2x, ctl.inserts)
	if archive {
		aq := medianResult(samples, func(s sample) result { return s.arcQ })
		ad := medianResult(samples, func(s sample) result { return s.arcD })
		arcBytes := medianOf(samples, func(s sample) int64 { return s.arcBytes })
		dumpBytes := medianOf(samples, func(s sample) int64 { return s.dumpBytes })
		fmt.Printf("\n-- with archiving: quantx-db (COPY csv.gz -> S3, read back + sha256, then detach/drop) vs pg_dump -Fc -Z1 -t -> S3, then DELETE + VACUUM\n")
		fmt.Printf("%-34s %14s %14s %10s\n", "", "quantx-db", "pg_dump+DEL", "ratio")
		fmt.Printf("%-34s %14s %14s %9.4fx\n", "wall time", aq.wall.Round(time.Millisecond), ad.wall.Round(time.Millisecond), float64(aq.wall)/float64(ad.wall))
		fmt.Printf("%-34s %14d %14d %9.6fx\n", "WAL bytes", aq.walBytes, ad.walBytes, float64(aq.walBytes)/float64(ad.walBytes))
		fmt.Printf("%-34s %14d %14d %9.4fx\n", "bytes stored in S3", arcBytes, dumpBytes, float64(arcBytes)/float64(dumpBytes))
	}
	return drop(base)
}

// medianOf is the median of one number over the runs.
func medianOf[T int64 | int | time.Duration](samples []sample, f func(sample) T) T {
	v := make([]T, len(samples))
	for i, s := range samples {
		v[i] = f(s)
	}
	slices.Sort(v)
	return v[len(v)/2]
}

// medianResult is the median of each field of one side's results, field by field.
func medianResult(samples []sample, side func(sample) result) result {
	m := func(f func(result) time.Duration) time.Duration {
		return medianOf(samples, func(s sample) time.Duration { return f(side(s)) })
	}
	n := func(f func(result) int64) int64 { return medianOf(samples, func(s sample) int64 { return f(side(s)) }) }
	return result{
		wall: m(func(r result) time.Duration { return r.wall }), wallLoaded: m(func(r result) time.Duration { return r.wallLoaded }),
		walBytes: n(func(r result) int64 { return r.walBytes }),
		p99:      m(func(r result) time.Duration { return r.p99 }), idleP99: m(func(r result) time.Duration { return r.idleP99 }),
		max:    m(func(r result) time.Duration { return r.max }),
		over2x: int(n(func(r result) int64 { return int64(r.over2x) })), inserts: int(n(func(r result) int64 { return int64(r.inserts) })),
	}
}

// medianRatio is the median over the runs of one side's p99 during / idle.
func medianRatio(samples []sample, side func(sample) result) float64 {
	v := make([]float64, 0, len(samples))
	for _, s := range samples {
		if r := side(s); r.idleP99 > 0 {
			v = append(v, float64(r.p99)/float64(r.idleP99))
		}
	}
	if len(v) == 0 {
		return 0
	}
	slices.Sort(v)
	return v[len(v)/2]
}

// measure runs op twice, on two identical databases: once alone on quietURL
// for wall time and WAL (the WAL position is cluster-wide, so nothing else may
// run), and once on loadURL under a single-row insert loop for its latency,
// after measuring the loop's idle p99 there. loadURL "" skips the second run.
func measure(ctx context.Context, quietURL, loadURL string, idle time.Duration, op func(ctx context.Context, url string) error) (result, error) {
	var r result
	conn, err := pgx.Connect(ctx, quietURL)
	if err != nil {
		return r, err
	}
	defer conn.Close(ctx)
	var start string
	if _, err := conn.Exec(ctx, "CHECKPOINT"); err != nil {
		return r, err
	}
	if err := conn.QueryRow(ctx, "SELECT pg_current_wal_lsn()::text").Scan(&start); err != nil {
		return r, err
	}
	t0 := time.Now()
	if err := op(ctx, quietURL); err != nil {
		return r, err
	}
	r.wall = time.Since(t0)
	if err := conn.QueryRow(ctx, "SELECT pg_wal_lsn_diff(pg_current_wal_lsn(), $1::pg_lsn)::bigint", start).Scan(&r.walBytes); err != nil {
		return r, err
	}
	if loadURL == "" {
		return r, nil
	}

	idleLat, err := insertLoop(ctx, loadURL, func() error { time.Sleep(idle); return nil })
	if err != nil {
		return r, err
	}
	r.idleP99 = p99(idleLat)
	var opErr error
	lat, err := insertLoop(ctx, loadURL, func() error {
		t0 := time.Now()
		opErr = op(ctx, loadURL)
		r.wallLoaded = time.Since(t0)
		return nil
	})
	if err != nil {
		return r, err
	}
	if opErr != nil {
		return r, opErr
	}
	r.p99, r.inserts = p99(lat), len(lat)
	for _, l := range lat {
		r.max = max(r.max, l)
		if l > 2*r.idleP99 {
			r.over2x++
		}
	}
	return r, nil
}

// insertLoop inserts one row at a time into the current month on its own
// connection while during runs, and returns each insert's latency.
func insertLoop(ctx context.Context, url string, during func() error) ([]time.Duration, error) {
	conn, err := pgx.Connect(ctx, url)
	if err != nil {
		return nil, err
	}
	defer conn.Close(ctx)
	stop := make(chan struct{})
	var lat []time.Duration
	var loopErr error
	var wg sync.WaitGroup
	ts := benchNow.AddDate(0, 0, -10) // inside the newest month, which both methods keep
	wg.Go(func() {
		for {
			select {
			case <-stop:
				return
			default:
			}
			t0 := time.Now()
			if _, err := conn.Exec(ctx, "INSERT INTO activity_logs (action, resource_type, created_at) VALUES ('bench-loop', 'r', $1)", ts); err != nil {
				loopErr = err
				return
			}
			lat = append(lat, time.Since(t0))
		}
	})
	err = during()
	close(stop)
	wg.Wait()
	if loopErr != nil {
		return nil, fmt.Errorf("insert loop: %w", loopErr)
	}
	return lat, err
}

func p99(d []time.Duration) time.Duration {
	if len(d) == 0 {
		return 0
	}
	s := slices.Clone(d)
	slices.Sort(s)
	return s[min(len(s)-1, len(s)*99/100)]
}

func dbURL(admin, db string) string {
	i := strings.LastIndex(admin, "/")
	q := ""
	if j := strings.IndexByte(admin[i:], '?'); j >= 0 {
		q = admin[i+j:]
	}
	return admin[:i+1] + db + q
}

// load migrates the schema, makes the 24 monthly partitions and fills them
// with rows spread evenly over the 24 months, then VACUUM ANALYZEs so that
// both methods start from a settled table.
func load(ctx context.Context, url string, rows int) error {
	pool, err := pgxpool.New(ctx, url)
	if err != nil {
		return err
	}
	defer pool.Close()
	r, err := migrations.New(pool, migrations.Files(), migrations.Options{})
	if err != nil {
		return err
	}
	if _, err := r.Goto(ctx, 8); err != nil {
		return err
	}
	m := partitions.New(pool, partitions.Options{Now: func() time.Time { return benchNow }})
	if _, err := m.Ensure(ctx, partitions.EnsureOptions{MonthsBack: 24, MonthsAhead: -1}); err != nil {
		return err
	}
	start := benchNow.AddDate(0, -24, 0)
	stmts := []string{
		`INSERT INTO users (id, email, password_hash)
		 SELECT ('00000000-0000-0000-0000-' || lpad(to_hex(i), 12, '0'))::uuid, 'u' || i || '@example.com', 'x'
		 FROM generate_series(0, 999) i`,
		fmt.Sprintf(`INSERT INTO activity_logs (user_id, action, resource_type, resource_id, ip_address, user_agent, request_id, details, created_at)
		 SELECT ('00000000-0000-0000-0000-' || lpad(to_hex(i %% 1000), 12, '0'))::uuid,
		        (ARRAY['login','logout','order.create','order.cancel','portfolio.view'])[1 + i %% 5],
		        'order', (i %% 100000)::text, '10.0.0.1'::inet, 'Mozilla/5.0 (X11; Linux x86_64)', md5(i::text),
		        jsonb_build_object('i', i),
		        to_timestamp(%d + (i::float8 / %d) * %d)
		 FROM generate_series(0, %d) i`, start.Unix(), rows, benchNow.Unix()-start.Unix(), rows-1),
		"VACUUM ANALYZE activity_logs",
	}
	for _, s := range stmts {
		if _, err := pool.Exec(ctx, s); err != nil {
			return err
		}
	}
	// Autovacuum would race the DELETE method's explicit VACUUM on one copy and not the other.
	parts, err := m.Partitions(ctx, partitions.MonthlyTable)
	if err != nil {
		return err
	}
	for _, p := range parts {
		if _, err := pool.Exec(ctx, "ALTER TABLE "+pgx.Identifier{p.Name}.Sanitize()+" SET (autovacuum_enabled = false)"); err != nil {
			return err
		}
	}
	return nil
}
