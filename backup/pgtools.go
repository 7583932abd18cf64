package backup

import (
	"context"
	"fmt"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"

	"github.com/jackc/pgx/v5"

	"github.com/quantx/quantx-db/internal/progress"
)

// PGTools says where the PostgreSQL client tools are.
type PGTools struct {
	// BinDir holds pg_dump, pg_dumpall and pg_restore. Empty: PATH, then, when PATH's tools are of
	// another major version than the server, Debian's /usr/lib/postgresql/<server major>/bin.
	BinDir string
	// Env is the environment of the tools (nil: this process's). PGPASSWORD is added to it.
	Env []string
}

// toolVersionRE matches "pg_dump (PostgreSQL) 15.18 (Debian 15.18-0+deb12u1)" and "... 17beta1".
var toolVersionRE = regexp.MustCompile(`\(PostgreSQL\)\s+(\d+)(?:\.(\d+))?`)

// ParseToolMajor returns the major version in a PostgreSQL tool's --version output.
func ParseToolMajor(out string) (int, string, error) {
	m := toolVersionRE.FindStringSubmatch(out)
	if m == nil {
		return 0, "", fmt.Errorf("unrecognised version output %q", strings.TrimSpace(out))
	}
	major, _ := strconv.Atoi(m[1])
	v := m[1]
	if m[2] != "" {
		v += "." + m[2]
	}
	return major, v, nil
}

// ServerMajor returns the major version of server_version_num (150018 → 15; 90624 → 9).
func ServerMajor(num int) int {
	if num >= 100000 {
		return num / 10000
	}
	return num / 100 // 9.6 → 96: never equal to a 10+ tool, and old enough to refuse
}

// resolveTool finds tool for a server of major version serverMajor and checks the versions match:
// pg_dump cannot dump a newer server, and a dump from a newer pg_dump cannot be read by the server's
// own pg_restore, which is what an operator has at hand.
func (t PGTools) resolveTool(ctx context.Context, tool string, serverMajor int) (path, version string, err error) {
	var candidates []string
	if t.BinDir != "" {
		candidates = []string{filepath.Join(t.BinDir, tool)}
	} else {
		// The server's own major first: on Debian, PATH has a Perl wrapper (pg_wrapper) that costs
		// ~30 ms per start and may pick another cluster's version.
		candidates = append(candidates, fmt.Sprintf("/usr/lib/postgresql/%d/bin/%s", serverMajor, tool))
		if p, err := exec.LookPath(tool); err == nil {
			candidates = append(candidates, p)
		}
	}
	var found []string
	for _, c := range candidates {
		if _, err := os.Stat(c); err != nil {
			continue
		}
		out, err := runTool(ctx, c, []string{"--version"}, t.Env, nil)
		if err != nil {
			return "", "", fmt.Errorf("%s --version: %w", c, err)
		}
		major, v, err := ParseToolMajor(string(out))
		if err != nil {
			return "", "", fmt.Errorf("%s: %w", c, err)
		}
		if major == serverMajor {
			return c, v, nil
		}
		found = append(found, fmt.Sprintf("%s is version %s", c, v))
	}
	if len(found) == 0 {
		return "", "", fmt.Errorf("%s for PostgreSQL %d: %w (install postgresql-client-%d)", tool, serverMajor, ErrToolMissing, serverMajor)
	}
	return "", "", fmt.Errorf("%s: server is PostgreSQL %d but %s: %w", tool, serverMajor, strings.Join(found, ", "), ErrVersionMismatch)
}

// toolConn splits a connection URL into what the tools get on their command line (no password, which
// other local users could read in the process list) and the environment carrying the password.
func (t PGTools) toolConn(connURL string) (dbname string, env []string) {
	env = t.Env
	if env == nil {
		env = os.Environ()
	}
	env = append([]string(nil), env...)
	u, err := url.Parse(connURL)
	if err != nil || (u.Scheme != "postgres" && u.Scheme != "postgresql") || u.User == nil {
		return connURL, env
	}
	if pw, ok := u.User.Password(); ok {
		env = append(env, "PGPASSWORD="+pw)
		u.User = url.User(u.User.Username())
	}
	return u.String(), env
}

// serverInfo is what a backup records about the server.
type serverInfo struct {
	Database   string
	Version    string // server_version, e.g. "15.18 (Debian 15.18-0+deb12u1)"
	VersionNum int
}

func readServerInfo(ctx context.Context, conn *pgx.Conn) (serverInfo, error) {
	var si serverInfo
	var num string
	err := conn.QueryRow(ctx, `SELECT current_database(), current_setting('server_version'), current_setting('server_version_num')`).
		Scan(&si.Database, &si.Version, &num)
	if err != nil {
		return si, fmt.Errorf("read server version: %w", err)
	}
	si.VersionNum, _ = strconv.Atoi(num)
	return si, nil
}

// userTablesSQL lists ordinary tables and leaf partitions outside the system schemas, skipping tables
// that belong to extensions (pg_dump does not dump their rows, except configuration tables, whose
// rows CREATE EXTENSION recreates in another order).
const userTablesSQL = `
SELECT format('%I.%I', n.nspname, c.relname)
FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE c.relkind = 'r'
  AND n.nspname NOT IN ('pg_catalog', 'information_schema') AND n.nspname NOT LIKE 'pg\_toast%' AND n.nspname NOT LIKE 'pg\_temp%'
  AND NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.classid = 'pg_class'::regclass AND d.objid = c.oid AND d.deptype = 'e')
  AND NOT EXISTS (SELECT 1 FROM pg_depend d JOIN pg_extension e ON d.refobjid = e.oid
                  WHERE d.classid = 'pg_namespace'::regclass AND d.objid = n.oid AND d.deptype = 'e')
ORDER BY 1`

func userTables(ctx context.Context, q interface {
	Query(context.Context, string, ...any) (pgx.Rows, error)
}) ([]string, error) {
	rows, err := q.Query(ctx, userTablesSQL)
	if err != nil {
		return nil, fmt.Errorf("list tables: %w", err)
	}
	names, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		return nil, fmt.Errorf("list tables: %w", err)
	}
	return names, nil
}

// stableTextSettings make row text independent of session settings, so checksums taken at backup
// and after restore compare.
const stableTextSettings = `SET LOCAL timezone = 'UTC'; SET LOCAL datestyle = 'ISO, YMD'; SET LOCAL intervalstyle = 'postgres';
SET LOCAL extra_float_digits = 3; SET LOCAL bytea_output = 'hex'`

// tableStats counts the rows of each table (and checksums them when sums is set): md5 over the sorted
// md5s of the rows' text, so row order on disk does not matter.
func tableStats(ctx context.Context, tx pgx.Tx, tables []string, sums bool, ev progress.Event, prog progress.Func) (map[string]int64, map[string]string, error) {
	ev.Unit, ev.Total = progress.Tables, int64(len(tables))
	cnt := progress.NewCounter(prog, ev)
	defer cnt.Finish()
	counts := map[string]int64{}
	var checks map[string]string
	// The counts run beside pg_dump, which is busy compressing: parallel workers and JIT compilation
	// would only take CPU from it. One plain backend reading each table is enough to finish first.
	if _, err := tx.Exec(ctx, "SET LOCAL max_parallel_workers_per_gather = 0; SET LOCAL jit = off"); err != nil {
		return nil, nil, fmt.Errorf("set count settings: %w", err)
	}
	if sums {
		checks = map[string]string{}
		if _, err := tx.Exec(ctx, stableTextSettings); err != nil {
			return nil, nil, fmt.Errorf("set checksum settings: %w", err)
		}
	}
	for _, t := range tables {
		cnt.SetItem(t)
		if !sums {
			var n int64
			if err := tx.QueryRow(ctx, "SELECT count(*) FROM ONLY "+t).Scan(&n); err != nil {
				return nil, nil, fmt.Errorf("count rows of %s: %w", t, err)
			}
			counts[t] = n
			cnt.Add(1)
			continue
		}
		var n int64
		var sum *string
		q := "SELECT count(*), md5(string_agg(h, '' ORDER BY h)) FROM (SELECT md5(r::text) AS h FROM ONLY " + t + " r) s"
		if err := tx.QueryRow(ctx, q).Scan(&n, &sum); err != nil {
			return nil, nil, fmt.Errorf("checksum rows of %s: %w", t, err)
		}
		counts[t] = n
		if sum != nil {
			checks[t] = *sum
		} else {
			checks[t] = ""
		}
		cnt.Add(1)
	}
	return counts, checks, nil
}
