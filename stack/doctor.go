package stack

import (
	"context"
	"errors"
	"fmt"
	"os/exec"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
)

// Check is one line of the doctor's report.
type Check struct {
	Store  string `json:"store"`  // postgres, influx, elastic, s3, tools
	Name   string `json:"name"`   // what was checked
	Status string `json:"status"` // ok | warn | fail | skip
	Detail string `json:"detail"` // what was found
	Fix    string `json:"fix,omitempty"`
}

// Check states.
const (
	OK   = "ok"
	Warn = "warn"
	Fail = "fail"
	Skip = "skip"
)

// maxSkew is the clock difference past which timestamps written by the tool
// (history, manifests, partition choice) stop agreeing with the server's.
const maxSkew = 2 * time.Second

// CheckPostgres reports the server version, the privileges migrations need
// (CREATE on the schema, advisory locks, CREATE on the database for
// partitions' helper objects) and the clock skew between here and the server.
func CheckPostgres(ctx context.Context, pool *pgxpool.Pool, now func() time.Time) []Check {
	var out []Check
	var version, user, db string
	var serverNow time.Time
	before := now()
	err := pool.QueryRow(ctx, `SELECT current_setting('server_version'), current_user, current_database(), clock_timestamp()`).
		Scan(&version, &user, &db, &serverNow)
	after := now()
	if err != nil {
		return append(out, Check{Store: "postgres", Name: "connect", Status: Fail, Detail: err.Error(),
			Fix: "check --database-url, that the server runs and that pg_hba.conf admits this host"})
	}
	out = append(out, Check{Store: "postgres", Name: "connect", Status: OK, Detail: fmt.Sprintf("PostgreSQL %s, user %s, database %s", version, user, db)})
	if major(version) < 15 {
		out = append(out, Check{Store: "postgres", Name: "version", Status: Warn, Detail: "server " + version + " is older than 15",
			Fix: "the schema is tested on PostgreSQL 15; upgrade the server"})
	}
	mid := before.Add(after.Sub(before) / 2)
	skew := serverNow.Sub(mid)
	if skew < 0 {
		skew = -skew
	}
	if skew > maxSkew+after.Sub(before) {
		out = append(out, Check{Store: "postgres", Name: "clock skew", Status: Warn, Detail: fmt.Sprintf("server clock differs by %s", skew.Round(time.Millisecond)),
			Fix: "run chrony/ntpd on both hosts: partition months and backup ages use this machine's clock"})
	} else {
		out = append(out, Check{Store: "postgres", Name: "clock skew", Status: OK, Detail: skew.Round(time.Millisecond).String()})
	}
	var canCreate, canTemp bool
	if err := pool.QueryRow(ctx, `SELECT has_schema_privilege(current_user, 'public', 'CREATE'), has_database_privilege(current_user, current_database(), 'TEMP')`).Scan(&canCreate, &canTemp); err != nil {
		out = append(out, Check{Store: "postgres", Name: "privileges", Status: Fail, Detail: err.Error()})
	} else if !canCreate {
		out = append(out, Check{Store: "postgres", Name: "CREATE on schema public", Status: Fail,
			Detail: "role " + user + " cannot create objects in schema public: migrations will fail",
			Fix:    fmt.Sprintf("GRANT CREATE ON SCHEMA public TO %s; or connect as the schema owner", user)})
	} else {
		out = append(out, Check{Store: "postgres", Name: "CREATE on schema public", Status: OK, Detail: "granted"})
	}
	var locked bool
	const probeKey = 0x5158_4442_4443 // "QXDBDC": a key no runner uses
	if err := pool.QueryRow(ctx, `SELECT pg_try_advisory_lock($1)`, int64(probeKey)).Scan(&locked); err != nil {
		out = append(out, Check{Store: "postgres", Name: "advisory locks", Status: Fail, Detail: err.Error(),
			Fix: fmt.Sprintf("GRANT EXECUTE ON FUNCTION pg_try_advisory_lock(bigint), pg_advisory_unlock(bigint) TO %s", user)})
	} else {
		_, _ = pool.Exec(ctx, `SELECT pg_advisory_unlock($1)`, int64(probeKey))
		out = append(out, Check{Store: "postgres", Name: "advisory locks", Status: OK, Detail: "usable"})
	}
	return out
}

var versionNumber = regexp.MustCompile(`(\d+)(?:\.(\d+))?`)

// major returns the major version of "15.18 (Debian ...)" or "pg_dump (PostgreSQL) 15.18".
func major(s string) int {
	m := versionNumber.FindStringSubmatch(s)
	if m == nil {
		return 0
	}
	n, _ := strconv.Atoi(m[1])
	return n
}

// CheckTool reports whether an external program is on PATH and its version,
// and whether its major version matches the server's (serverMajor 0: unknown).
func CheckTool(ctx context.Context, name string, serverMajor int, fix string) Check {
	path, err := exec.LookPath(name)
	if err != nil {
		return Check{Store: "tools", Name: name, Status: Warn, Detail: name + " is not on PATH", Fix: fix}
	}
	cctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	arg := "--version"
	if name == "influxd" {
		arg = "version"
	}
	out, err := exec.CommandContext(cctx, path, arg).CombinedOutput()
	v := strings.TrimSpace(firstLine(string(out)))
	if err != nil && v == "" {
		return Check{Store: "tools", Name: name, Status: Warn, Detail: fmt.Sprintf("%s %s: %v", path, arg, errors.Unwrap(err)), Fix: fix}
	}
	c := Check{Store: "tools", Name: name, Status: OK, Detail: v + " (" + path + ")"}
	if serverMajor > 0 && major(strings.TrimPrefix(v, name)) != serverMajor {
		c.Status = Warn
		c.Detail += fmt.Sprintf("; the server is %d", serverMajor)
		c.Fix = fmt.Sprintf("install the %s of PostgreSQL %d (e.g. apt-get install postgresql-client-%d) and put it first on PATH", name, serverMajor, serverMajor)
	}
	return c
}

func firstLine(s string) string {
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		return s[:i]
	}
	return s
}

// ServerMajor extracts the major version from the connect check's detail,
// or queries it.
func ServerMajor(ctx context.Context, pool *pgxpool.Pool) int {
	var v string
	if err := pool.QueryRow(ctx, `SHOW server_version`).Scan(&v); err != nil {
		return 0
	}
	return major(v)
}

// DoctorOptions says which stores are configured (a configured store whose
// client is nil could not be opened) and which clock to compare.
type DoctorOptions struct {
	Now                                                                   func() time.Time
	PostgresConfigured, InfluxConfigured, ElasticConfigured, S3Configured bool
	// WALCheck checks WAL archiving and pgBackRest (nil: not checked).
	WALCheck func(ctx context.Context) []Check
}

// Doctor runs every check that applies to the configured stores.
func Doctor(ctx context.Context, s Stores, o DoctorOptions) []Check {
	if o.Now == nil {
		o.Now = time.Now
	}
	var out []Check
	serverMajor := 0
	switch {
	case s.Postgres != nil:
		out = append(out, CheckPostgres(ctx, s.Postgres, o.Now)...)
		serverMajor = ServerMajor(ctx, s.Postgres)
	case !o.PostgresConfigured:
		out = append(out, Check{Store: Postgres, Name: "configured", Status: Skip, Detail: "no --database-url"})
	}
	if o.PostgresConfigured {
		for _, tool := range []string{"pg_dump", "pg_restore", "pg_dumpall"} {
			out = append(out, CheckTool(ctx, tool, serverMajor, fmt.Sprintf("apt-get install postgresql-client-%d (backups need it)", max(serverMajor, 15))))
		}
	}
	switch {
	case s.Influx != nil:
		srv, err := s.Influx.Server(ctx)
		if err != nil {
			out = append(out, Check{Store: Influx, Name: "connect", Status: Fail, Detail: err.Error(), Fix: "check --influx-url and --influx-token"})
		} else {
			out = append(out, Check{Store: Influx, Name: "connect", Status: OK, Detail: fmt.Sprintf("InfluxDB %s (%s)", srv.Version, srv.Dialect)})
			if srv.Dialect == "1.x" || strings.HasPrefix(srv.Version, "1.") || strings.HasPrefix(srv.Version, "v1.") {
				out = append(out, CheckTool(ctx, "influxd", 0, "install influxd "+srv.Version+" on PATH: 'backup influx' runs influxd backup -portable"))
			}
		}
	case !o.InfluxConfigured:
		out = append(out, Check{Store: Influx, Name: "configured", Status: Skip, Detail: "no --influx-url"})
	}
	switch {
	case s.Elastic != nil:
		st, err := s.Elastic.Status(ctx)
		if err != nil {
			out = append(out, Check{Store: Elastic, Name: "connect", Status: Fail, Detail: err.Error(), Fix: "check --elastic-url and --elastic-engine"})
		} else {
			out = append(out, Check{Store: Elastic, Name: "connect", Status: OK, Detail: fmt.Sprintf("%s, retention by %s", st.Engine, st.RetentionMode)})
		}
	case !o.ElasticConfigured:
		out = append(out, Check{Store: Elastic, Name: "configured", Status: Skip, Detail: "no --elastic-url"})
	}
	switch {
	case s.Backups != nil:
		if _, err := s.Backups.Newest(ctx); err != nil {
			out = append(out, Check{Store: S3, Name: "bucket", Status: Fail, Detail: err.Error(), Fix: "check --s3-endpoint, the keys and that --s3-bucket exists"})
		} else {
			out = append(out, Check{Store: S3, Name: "bucket", Status: OK, Detail: "readable"})
		}
	case !o.S3Configured:
		out = append(out, Check{Store: S3, Name: "configured", Status: Skip, Detail: "no --s3-bucket"})
	}
	if o.WALCheck != nil {
		out = append(out, o.WALCheck(ctx)...)
	}
	return out
}
