// Command partitions benchmarks `quantx-db partitions ensure --months-ahead
// 36` against pg_partman 4.7's create_parent(p_premake => 36) followed by
// run_maintenance(), each on a fresh copy of the QuantX schema, and then the
// case pg_partman users report most (pg_partman #510): a row already sits in
// DEFAULT for a month that maintenance must now create. Run it through
// bench/partitions.sh.
//
// psql is the server's own binary (-pgbin, default /usr/lib/postgresql/15/bin),
// not Debian's Perl wrapper. Each figure is the median of -runs (at least 5),
// and the two sides alternate which goes first.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/quantx/quantx-db/migrations"
)

func main() {
	admin := flag.String("admin-url", os.Getenv("QUANTX_TEST_DATABASE_URL"), "superuser URL of the PostgreSQL server")
	bin := flag.String("bin", "", "quantx-db binary")
	runs := flag.Int("runs", 5, "repetitions (at least 5); the median is reported")
	pgbin := flag.String("pgbin", "/usr/lib/postgresql/15/bin", "folder of the server's psql")
	flag.Parse()
	if *admin == "" || *bin == "" || *runs < 5 {
		fmt.Fprintln(os.Stderr, "usage: partitions -admin-url URL -bin quantx-db [-runs N>=5] [-pgbin DIR]")
		os.Exit(2)
	}
	if err := run(context.Background(), *admin, *bin, *pgbin, *runs); err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(1)
	}
}

type timing struct{ first, second, rescue []time.Duration }

func run(ctx context.Context, admin, bin, pgbin string, runs int) error {
	var q, p timing
	var rescueQ, rescueP string
	for i := range runs {
		qd, pd := fmt.Sprintf("bench_parts_q_%d", i), fmt.Sprintf("bench_parts_p_%d", i)
		if err := fresh(ctx, admin, qd, false); err != nil {
			return err
		}
		if err := fresh(ctx, admin, pd, true); err != nil {
			return err
		}
		qURL, pURL := dbURL(admin, qd), dbURL(admin, pd)
		ensure := func(args ...string) (time.Duration, string, error) {
			cmd := exec.CommandContext(ctx, bin, append([]string{"partitions", "ensure"}, args...)...)
			cmd.Env = append(os.Environ(), "QUANTX_DATABASE_URL="+qURL)
			t0 := time.Now()
			out, err := cmd.CombinedOutput()
			return time.Since(t0), string(out), err
		}
		psql := func(sqls ...string) (time.Duration, string, error) {
			args := []string{"-X", "-q", "-v", "ON_ERROR_STOP=1", "-d", pURL}
			for _, s := range sqls {
				args = append(args, "-c", s)
			}
			t0 := time.Now()
			out, err := exec.CommandContext(ctx, filepath.Join(pgbin, "psql"), args...).CombinedOutput()
			return time.Since(t0), string(out), err
		}
		month := time.Now().UTC().Format("2006-01") + "-01"

		// inOrder runs the two sides of one phase, quantx-db first in even
		// runs and the baseline first in odd ones.
		inOrder := func(ours, theirs func() error) error {
			first, second := ours, theirs
			if i%2 == 1 {
				first, second = theirs, ours
			}
			if err := first(); err != nil {
				return err
			}
			return second()
		}
		err := inOrder(func() error {
			d, out, err := ensure("--months-ahead", "36")
			if err != nil {
				return fmt.Errorf("ensure: %w\n%s", err, out)
			}
			q.first = append(q.first, d)
			return nil
		}, func() error {
			d, out, err := psql(fmt.Sprintf(`SELECT partman.create_parent('public.activity_logs', 'created_at', 'native', '1 month',
			p_premake => 36, p_start_partition => '%s', p_jobmon => false)`, month), "SELECT partman.run_maintenance(p_jobmon => false)")
			if err != nil {
				return fmt.Errorf("pg_partman: %w\n%s", err, out)
			}
			p.first = append(p.first, d)
			return nil
		})
		if err != nil {
			return err
		}
		err = inOrder(func() error {
			d, out, err := ensure("--months-ahead", "36")
			if err != nil || !strings.Contains(out, "nothing to do") {
				return fmt.Errorf("second ensure: %v\n%s", err, out)
			}
			q.second = append(q.second, d)
			return nil
		}, func() error {
			d, out, err := psql("SELECT partman.run_maintenance(p_jobmon => false)")
			if err != nil {
				return fmt.Errorf("second run_maintenance: %w\n%s", err, out)
			}
			p.second = append(p.second, d)
			return nil
		})
		if err != nil {
			return err
		}

		nq, err := countPartitions(ctx, qURL)
		if err != nil {
			return err
		}
		np, err := countPartitions(ctx, pURL)
		if err != nil {
			return err
		}
		if i == 0 {
			fmt.Printf("partitions of activity_logs after the first run (incl. DEFAULT): quantx-db %d, pg_partman %d\n", nq, np)
		}

		// pg_partman #510: a row for month +38 arrives before its partition exists.
		future := time.Now().UTC().AddDate(0, 38, 0).Format("2006-01") + "-15 12:00:00+00"
		for _, u := range []string{qURL, pURL} {
			if err := execSQL(ctx, u, "INSERT INTO activity_logs (action, resource_type, created_at) VALUES ('early', 'r', $1::timestamptz)", future); err != nil {
				return err
			}
		}
		_ = inOrder(func() error {
			d, out, err := ensure("--months-ahead", "40")
			rescueQ = outcome(err, out)
			q.rescue = append(q.rescue, d)
			return nil
		}, func() error {
			d, out, err := psql("UPDATE partman.part_config SET premake = 40 WHERE parent_table = 'public.activity_logs'", "SELECT partman.run_maintenance(p_jobmon => false)")
			rescueP = outcome(err, out)
			p.rescue = append(p.rescue, d)
			return nil
		})
		for _, db := range []string{qd, pd} {
			if err := execSQL(ctx, admin, "DROP DATABASE IF EXISTS "+db+" WITH (FORCE)"); err != nil {
				return err
			}
		}
	}
	fmt.Printf("command: bench/partitions.sh %d   (psql: %s)\n", runs, filepath.Join(pgbin, "psql"))
	fmt.Printf("median of %d runs, each on fresh databases, the two sides alternating which goes first, both timed as client processes (process start + connect included)\n", runs)
	fmt.Printf("%-58s %12s %12s %8s\n", "", "quantx-db", "pg_partman", "ratio")
	row := func(name string, a, b []time.Duration) {
		ma, mb := median(a), median(b)
		fmt.Printf("%-58s %12s %12s %7.2fx\n", name, ma.Round(time.Millisecond), mb.Round(time.Millisecond), float64(ma)/float64(mb))
	}
	row("create 36 months ahead (ensure / create_parent+run_maint.)", q.first, p.first)
	row("second run, nothing to do (ensure / run_maintenance)", q.second, p.second)
	row("premake 40 with a row already in DEFAULT for month +38", q.rescue, p.rescue)
	fmt.Printf("  quantx-db:  %s\n  pg_partman: %s\n", rescueQ, rescueP)
	return nil
}

func outcome(err error, out string) string {
	out = strings.TrimSpace(out)
	if err != nil {
		for _, l := range strings.Split(out, "\n") {
			if strings.Contains(l, "ERROR") {
				return "FAILED: " + strings.TrimSpace(l)
			}
		}
		return "FAILED: " + err.Error()
	}
	for _, l := range strings.Split(out, "\n") {
		if strings.HasPrefix(l, "created ") {
			return "ok: " + l
		}
	}
	return "ok"
}

// fresh makes a database with the QuantX schema (migrations 1-8) and no
// monthly partitions. For pg_partman the DEFAULT goes too (create_parent
// makes its own) and the extension is installed.
func fresh(ctx context.Context, admin, db string, partman bool) error {
	if err := execSQL(ctx, admin, "DROP DATABASE IF EXISTS "+db+" WITH (FORCE)"); err != nil {
		return err
	}
	if err := execSQL(ctx, admin, "CREATE DATABASE "+db); err != nil {
		return err
	}
	url := dbURL(admin, db)
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
	keep := "activity_logs_default"
	if partman {
		keep = ""
	}
	rows, err := pool.Query(ctx, "SELECT inhrelid::regclass::text FROM pg_inherits WHERE inhparent = 'activity_logs'::regclass AND inhrelid::regclass::text <> $1", keep)
	if err != nil {
		return err
	}
	names, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		return err
	}
	for _, n := range names {
		if _, err := pool.Exec(ctx, "DROP TABLE "+n); err != nil {
			return err
		}
	}
	if partman {
		for _, s := range []string{"CREATE SCHEMA partman", "CREATE EXTENSION pg_partman SCHEMA partman"} {
			if _, err := pool.Exec(ctx, s); err != nil {
				return fmt.Errorf("%s: %w", s, err)
			}
		}
	}
	_, err = pool.Exec(ctx, "CHECKPOINT")
	return err
}

func countPartitions(ctx context.Context, url string) (int, error) {
	conn, err := pgx.Connect(ctx, url)
	if err != nil {
		return 0, err
	}
	defer conn.Close(ctx)
	var n int
	err = conn.QueryRow(ctx, "SELECT count(*) FROM pg_inherits WHERE inhparent = 'activity_logs'::regclass").Scan(&n)
	return n, err
}

func execSQL(ctx context.Context, url, sql string, args ...any) error {
	conn, err := pgx.Connect(ctx, url)
	if err != nil {
		return err
	}
	defer conn.Close(ctx)
	_, err = conn.Exec(ctx, sql, args...)
	return err
}

func median(d []time.Duration) time.Duration {
	s := slices.Clone(d)
	slices.Sort(s)
	return s[len(s)/2]
}

func dbURL(admin, db string) string {
	i := strings.LastIndex(admin, "/")
	q := ""
	if j := strings.IndexByte(admin[i:], '?'); j >= 0 {
		q = admin[i+j:]
	}
	return admin[:i+1] + db + q
}
