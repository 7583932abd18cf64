package stack

import (
	"context"
	"errors"
	"fmt"
	"os/exec"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/quantx/quantx-db/backup"
	"github.com/quantx/quantx-db/influx"
	"github.com/quantx/quantx-db/internal/report"
	"github.com/quantx/quantx-db/migrations"
	"github.com/quantx/quantx-db/roles"
)

// maxSkew is the clock difference past which timestamps written by the tool
// (history, manifests, partition choice) stop agreeing with the server's.
const maxSkew = 2 * time.Second

// CheckPostgres reports the server version, what the connected role can do
// (migrate, maintain partitions, the application's DML, read; see
// privilegeChecks), whether advisory locks work, and the clock skew between
// here and the server.
func CheckPostgres(ctx context.Context, pool *pgxpool.Pool, now func() time.Time) []Item {
	var out []Item
	var version, user, db string
	var serverNow time.Time
	before := now()
	err := pool.QueryRow(ctx, `SELECT current_setting('server_version'), current_user, current_database(), clock_timestamp()`).
		Scan(&version, &user, &db, &serverNow)
	after := now()
	if err != nil {
		return append(out, errorItem(Postgres, "connect", err))
	}
	out = append(out, Item{Store: Postgres, Name: "connect", State: report.StateOK, Detail: fmt.Sprintf("PostgreSQL %s, user %s, database %s", version, user, db)})
	if major(version) < 15 {
		out = append(out, Item{Store: Postgres, Name: "version", State: report.StateWarn, Detail: "server " + version + " is older than 15",
			Finding: OldServer{Version: version}})
	}
	mid := before.Add(after.Sub(before) / 2)
	skew := serverNow.Sub(mid)
	if skew < 0 {
		skew = -skew
	}
	it := Item{Store: Postgres, Name: "clock skew", State: report.StateOK, Detail: skew.Round(time.Millisecond).String(), SkewSeconds: seconds(skew)}
	if skew > maxSkew+after.Sub(before) {
		it.State, it.Finding = report.StateWarn, ClockSkew{Skew: skew}
		it.Detail = fmt.Sprintf("server clock differs by %s", skew.Round(time.Millisecond))
	}
	out = append(out, it)
	if caps, err := roles.Inspect(ctx, pool, roles.InspectOptions{}); err != nil {
		out = append(out, errorItem(Postgres, "privileges", err))
	} else {
		out = append(out, privilegeChecks(caps)...)
	}
	var locked bool
	const probeKey = 0x5158_4442_4443 // "QXDBDC": a key no runner uses
	if err := pool.QueryRow(ctx, `SELECT pg_try_advisory_lock($1)`, int64(probeKey)).Scan(&locked); err != nil {
		out = append(out, Item{Store: Postgres, Name: "advisory locks", State: report.StateAction, Detail: err.Error(),
			Err: storeErr(Postgres, err), Finding: AdvisoryLocks{User: user}})
	} else {
		_, _ = pool.Exec(ctx, `SELECT pg_advisory_unlock($1)`, int64(probeKey))
		out = append(out, Item{Store: Postgres, Name: "advisory locks", State: report.StateOK, Detail: "usable"})
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
func CheckTool(ctx context.Context, name string, serverMajor int) Item {
	path, _ := exec.LookPath(name)
	return CheckToolAt(ctx, name, path, Tool{Name: name, ServerMajor: serverMajor})
}

// CheckToolAt is CheckTool for a program the caller has already looked up
// (path "" when it found none), for tools that are also searched outside PATH.
// want says what the tool is for (its finding when missing or mismatched).
func CheckToolAt(ctx context.Context, name, path string, want Tool) Item {
	want.Name = name
	if path == "" {
		want.Missing = true
		return Item{Store: "tools", Name: name, State: report.StateWarn, Detail: name + " not found", Finding: want}
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
		return Item{Store: "tools", Name: name, State: report.StateWarn, Detail: fmt.Sprintf("%s %s: %v", path, arg, errors.Unwrap(err)), Err: err, Finding: want}
	}
	it := Item{Store: "tools", Name: name, State: report.StateOK, Detail: v + " (" + path + ")"}
	if want.ServerMajor > 0 && major(strings.TrimPrefix(v, name)) != want.ServerMajor {
		it.State, it.Finding = report.StateWarn, want
		it.Detail += fmt.Sprintf("; the server is %d", want.ServerMajor)
	}
	return it
}

// checkInfluxRPC reports whether the 1.x backup/restore address accepts a connection.
func checkInfluxRPC(ctx context.Context, addr string, timeout time.Duration) Item {
	it := Item{Store: Influx, Name: "backup rpc", Finding: InfluxRPC{Addr: addr}}
	if addr == "" {
		it.State, it.Detail = report.StateAction, "no backup/restore address"
		return it
	}
	if err := backup.DialInfluxRPC(ctx, addr, timeout); err != nil {
		it.State, it.Detail, it.Err = report.StateAction, err.Error(), storeErr(Influx, err)
		return it
	}
	it.State, it.Detail, it.Finding = report.StateOK, addr+" accepts connections", nil
	return it
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
}

// Doctor runs every check that applies to the configured stores. A store
// that is configured but could not be opened (Stores.Unavailable) is a
// failed connect check.
func Doctor(ctx context.Context, s Stores, o DoctorOptions) Report {
	if o.Now == nil {
		o.Now = time.Now
	}
	rep := Report{CheckedAt: o.Now().UTC(), Items: []Item{}}
	for _, store := range []string{Postgres, Influx, Elastic, S3} {
		if err := s.unavailable(store); err != nil {
			rep.add(Item{Store: store, Name: "connect", State: report.StateError, Detail: s.Unavailable[store].Error(), Err: err})
		}
	}
	serverMajor := 0
	switch {
	case s.Postgres != nil:
		rep.add(CheckPostgres(ctx, s.Postgres, o.Now)...)
		serverMajor = ServerMajor(ctx, s.Postgres)
		if s.Migrations != nil {
			rep.add(checkIndexes(ctx, s.Migrations))
		}
	case !o.PostgresConfigured:
		rep.add(notConfigured(Postgres, "configured"))
	}
	if o.PostgresConfigured {
		for _, tool := range []string{"pg_dump", "pg_restore", "pg_dumpall"} {
			rep.add(CheckTool(ctx, tool, serverMajor))
		}
	}
	switch {
	case s.Influx != nil:
		srv, err := s.Influx.Server(ctx)
		if err != nil {
			rep.add(errorItem(Influx, "connect", err))
		} else {
			rep.add(Item{Store: Influx, Name: "connect", State: report.StateOK, Detail: fmt.Sprintf("InfluxDB %s (%s)", srv.Version, srv.Dialect)})
			if srv.Dialect == influx.DialectV1 {
				rep.add(CheckToolAt(ctx, "influxd", o.Influxd, Tool{ServerVersion: srv.Version}))
				rep.add(checkInfluxRPC(ctx, o.InfluxRPC, o.InfluxRPCTimeout))
			}
		}
	case !o.InfluxConfigured:
		rep.add(notConfigured(Influx, "configured"))
	}
	switch {
	case s.Elastic != nil:
		st, err := s.Elastic.Status(ctx)
		if err != nil {
			rep.add(errorItem(Elastic, "connect", err))
		} else {
			rep.add(Item{Store: Elastic, Name: "connect", State: report.StateOK, Detail: fmt.Sprintf("%s, retention by %s", st.Engine, st.RetentionMode)})
		}
	case !o.ElasticConfigured:
		rep.add(notConfigured(Elastic, "configured"))
	}
	switch {
	case s.Backups != nil:
		if _, err := s.Backups.Newest(ctx); err != nil {
			rep.add(errorItem(S3, "bucket", err))
		} else {
			rep.add(Item{Store: S3, Name: "bucket", State: report.StateOK, Detail: "readable"})
		}
	case !o.S3Configured:
		rep.add(notConfigured(S3, "configured"))
	}
	if s.WAL != nil {
		rep.add(walDoctor(ctx, s)...)
	}
	return rep
}

// privilegeChecks turns what the connected role can do into report lines: one
// verdict on the part it can play in the roles model, then one line per
// capability naming what is missing. A capability the role lacks by design (an
// app role cannot migrate) is a warning; the verdict fails only for a role
// that can do nothing, or that mixes application access with DDL. No fix ever
// grants DDL: that is the owner's, and the fix is to connect as the owner.
func privilegeChecks(c roles.Capabilities) []Item {
	verdict := Item{Store: Postgres, Name: "role", Finding: Privileges{Part: "role", Caps: c}}
	switch c.Profile {
	case roles.ProfileSuperuser:
		verdict.State, verdict.Detail = report.StateWarn, c.Role+" is a superuser: it can migrate and maintain partitions, and could do anything else"
	case roles.ProfileOwner:
		verdict.State, verdict.Detail, verdict.Finding = report.StateOK, c.Role+" owns the schema objects: it can migrate and maintain partitions", nil
	case roles.ProfileApp:
		if bad := append(append([]string{}, c.DDL...), c.BookkeepingWrites...); len(bad) > 0 {
			verdict.State = report.StateAction
			verdict.Detail = fmt.Sprintf("%s runs the application (DML on %d table(s)) but also holds what only the owner should: %s", c.Role, c.Tables, strings.Join(bad, "; "))
		} else {
			verdict.State, verdict.Finding = report.StateOK, nil
			verdict.Detail = fmt.Sprintf("%s is an application role: SELECT, INSERT, UPDATE, DELETE on %d table(s), no DDL", c.Role, c.Tables)
		}
	case roles.ProfileReadOnly:
		if bad := append(append(append([]string{}, c.DDL...), c.BookkeepingWrites...), c.TableWrites...); len(bad) > 0 {
			verdict.State = report.StateWarn
			verdict.Detail = fmt.Sprintf("%s reads every application table but can also write: %s", c.Role, strings.Join(bad, "; "))
		} else {
			verdict.State, verdict.Finding = report.StateOK, nil
			verdict.Detail = fmt.Sprintf("%s is a read-only role: SELECT on %d table(s)", c.Role, c.Tables)
		}
	default:
		verdict.State = report.StateAction
		verdict.Detail = c.Role + " can neither migrate (missing " + strings.Join(c.Migrate.Missing, "; ") + ") nor read the application tables"
	}
	line := func(name string, cp roles.Capability) Item {
		if cp.OK {
			return Item{Store: Postgres, Name: name, State: report.StateOK, Detail: "yes"}
		}
		return Item{Store: Postgres, Name: name, State: report.StateWarn, Detail: "no: missing " + strings.Join(cp.Missing, "; "),
			Finding: Privileges{Part: name, Caps: c}}
	}
	return []Item{verdict,
		line("migrate", c.Migrate),
		line("maintain partitions", c.Partitions),
		line("app DML", c.AppDML),
		line("read only", c.ReadOnly),
	}
}

// checkIndexes finds any INVALID index: the index a migration meant to
// build is not there for reads, and every write still pays for it.
func checkIndexes(ctx context.Context, r *migrations.Runner) Item {
	st, err := r.Status(ctx)
	if err != nil {
		return errorItem(Postgres, "invalid indexes", err)
	}
	if p := st.IndexProblem(); p != nil {
		return Item{Store: Postgres, Name: "invalid indexes", State: report.StateAction, Detail: p.Summary, Count: count(p.Count), Finding: p}
	}
	return Item{Store: Postgres, Name: "invalid indexes", State: report.StateOK, Detail: "none", Count: count(0)}
}
