package stack

import (
	"context"
	"errors"
	"fmt"
	"os/exec"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/quantx/quantx-db/backup"
	"github.com/quantx/quantx-db/influx"
	"github.com/quantx/quantx-db/migrations"
	"github.com/quantx/quantx-db/roles"
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

// CheckPostgres reports the server version, what the connected role can do
// (migrate, maintain partitions, the application's DML, read; see
// privilegeChecks), whether advisory locks work, and the clock skew between
// here and the server.
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
	if caps, err := roles.Inspect(ctx, pool, roles.InspectOptions{}); err != nil {
		out = append(out, Check{Store: "postgres", Name: "privileges", Status: Fail, Detail: err.Error()})
	} else {
		out = append(out, privilegeChecks(caps)...)
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

var versionNumber = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`(\d+)(?:\.(\d+))?`) })

// major returns the major version of "15.18 (Debian ...)" or "pg_dump (PostgreSQL) 15.18".
func major(s string) int {
	m := versionNumber().FindStringSubmatch(s)
	if m == nil {
		return 0
	}
	n, _ := strconv.Atoi(m[1])
	return n
}

// CheckTool reports whether an external program is on PATH and its version,
// and whether its major version matches the server's (serverMajor 0: unknown).
func CheckTool(ctx context.Context, name string, serverMajor int, fix string) Check {
	path, _ := exec.LookPath(name)
	return CheckToolAt(ctx, name, path, serverMajor, fix)
}

// CheckToolAt is CheckTool for a program the caller has already looked up
// (path "" when it found none), for tools that are also searched outside PATH.
func CheckToolAt(ctx context.Context, name, path string, serverMajor int, fix string) Check {
	if path == "" {
		return Check{Store: "tools", Name: name, Status: Warn, Detail: name + " not found", Fix: fix}
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

// checkInfluxRPC reports whether the 1.x backup/restore address accepts a connection.
func checkInfluxRPC(ctx context.Context, addr string, timeout time.Duration) Check {
	c := Check{Store: Influx, Name: "backup rpc"}
	if addr == "" {
		c.Status, c.Detail = Fail, "no backup/restore address"
		c.Fix = "set --influx-rpc or QUANTX_INFLUX_RPC to influxd's bind-address (port 8088)"
		return c
	}
	if err := backup.DialInfluxRPC(ctx, addr, timeout); err != nil {
		c.Status, c.Detail = Fail, err.Error()
		c.Fix = "set --influx-rpc or QUANTX_INFLUX_RPC to influxd's bind-address (port 8088); 'backup influx' on 1.x needs it"
		return c
	}
	c.Status, c.Detail = OK, addr+" accepts connections"
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
	// Influxd is the influxd binary 'backup influx' would run ("" when none was
	// found), InfluxRPC the 1.x backup/restore address it would use; both are
	// checked when the InfluxDB server is 1.x.
	Influxd          string
	InfluxRPC        string
	InfluxRPCTimeout time.Duration // 0: the backup's default
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
		if s.Migrations != nil {
			out = append(out, checkIndexes(ctx, s.Migrations))
		}
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
			if srv.Dialect == influx.DialectV1 {
				out = append(out, CheckToolAt(ctx, "influxd", o.Influxd, 0, "install influxd "+srv.Version+" on PATH (or in $QUANTX_CACHE/bin): 'backup influx' runs influxd backup -portable"))
				out = append(out, checkInfluxRPC(ctx, o.InfluxRPC, o.InfluxRPCTimeout))
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

// privilegeChecks turns what the connected role can do into report lines: one
// verdict on the part it can play in the roles model, then one line per
// capability naming what is missing. A capability the role lacks by design (an
// app role cannot migrate) is a warning; the verdict fails only for a role
// that can do nothing, or that mixes application access with DDL. No fix ever
// grants DDL: that is the owner's, and the fix is to connect as the owner.
func privilegeChecks(c roles.Capabilities) []Check {
	owner := "the owner of the schema objects"
	if len(c.Owners) > 0 {
		owner = strings.Join(c.Owners, " or ")
	}
	useOwner := "connect as " + owner + " (--database-url); as a superuser, 'quantx-db roles ensure' creates an owner role (" + roles.DefaultOwner + ") that owns every object"
	ensure := "run 'quantx-db roles ensure' as a superuser: it leaves the app role DML only and the read-only role SELECT only"
	// Objects made by another role (a superuser's cron run) are what 'roles ensure' hands back to the owner.
	reown := "; if another role created some of them, 'quantx-db roles ensure' (as a superuser) makes the owner own them"
	verdict := Check{Store: Postgres, Name: "role"}
	switch c.Profile {
	case roles.ProfileSuperuser:
		verdict.Status, verdict.Detail = Warn, c.Role+" is a superuser: it can migrate and maintain partitions, and could do anything else"
		verdict.Fix = "let the application connect as an app role without DDL: 'quantx-db roles ensure' creates " + roles.DefaultApp
	case roles.ProfileOwner:
		verdict.Status, verdict.Detail = OK, c.Role+" owns the schema objects: it can migrate and maintain partitions"
	case roles.ProfileApp:
		if bad := append(append([]string{}, c.DDL...), c.BookkeepingWrites...); len(bad) > 0 {
			verdict.Status = Fail
			verdict.Detail = fmt.Sprintf("%s runs the application (DML on %d table(s)) but also holds what only the owner should: %s", c.Role, c.Tables, strings.Join(bad, "; "))
			verdict.Fix = ensure
			if slices.Contains(c.DDL, "CREATE on schema "+c.Schema) {
				verdict.Fix = fmt.Sprintf("REVOKE CREATE ON SCHEMA %s FROM %s (and PUBLIC); or %s", c.Schema, c.Role, ensure)
			}
		} else {
			verdict.Status = OK
			verdict.Detail = fmt.Sprintf("%s is an application role: SELECT, INSERT, UPDATE, DELETE on %d table(s), no DDL", c.Role, c.Tables)
		}
	case roles.ProfileReadOnly:
		if bad := append(append(append([]string{}, c.DDL...), c.BookkeepingWrites...), c.TableWrites...); len(bad) > 0 {
			verdict.Status = Warn
			verdict.Detail = fmt.Sprintf("%s reads every application table but can also write: %s", c.Role, strings.Join(bad, "; "))
			verdict.Fix = ensure
		} else {
			verdict.Status = OK
			verdict.Detail = fmt.Sprintf("%s is a read-only role: SELECT on %d table(s)", c.Role, c.Tables)
		}
	default:
		verdict.Status = Fail
		verdict.Detail = c.Role + " can neither migrate (missing " + strings.Join(c.Migrate.Missing, "; ") + ") nor read the application tables"
		verdict.Fix = useOwner
	}
	line := func(name string, cp roles.Capability, fix string) Check {
		if cp.OK {
			return Check{Store: Postgres, Name: name, Status: OK, Detail: "yes"}
		}
		return Check{Store: Postgres, Name: name, Status: Warn, Detail: "no: missing " + strings.Join(cp.Missing, "; "), Fix: fix}
	}
	return []Check{verdict,
		line("migrate", c.Migrate, "run migrations as "+owner+reown),
		line("maintain partitions", c.Partitions, "run 'partitions ensure' and 'retention apply' as "+owner+reown),
		line("app DML", c.AppDML, ensure),
		line("read only", c.ReadOnly, ensure),
	}
}

// checkIndexes fails on any INVALID index: the index a migration meant to
// build is not there for reads, and every write still pays for it.
func checkIndexes(ctx context.Context, r *migrations.Runner) Check {
	st, err := r.Status(ctx)
	if err != nil {
		return Check{Store: Postgres, Name: "invalid indexes", Status: Fail, Detail: err.Error()}
	}
	if problem, fix := IndexProblem(st); problem != "" {
		return Check{Store: Postgres, Name: "invalid indexes", Status: Fail, Detail: problem, Fix: fix}
	}
	return Check{Store: Postgres, Name: "invalid indexes", Status: OK, Detail: "none"}
}
