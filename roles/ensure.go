package roles

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"hash/fnv"
	"slices"
	"strings"

	"github.com/jackc/pgx/v5"

	"github.com/quantx/quantx-db/internal/pglock"
)

// Plan reports what Ensure would change, reading the catalogs only: no role is
// created and no lock is taken on a table.
func (m *Manager) Plan(ctx context.Context) (Report, error) {
	rep := m.newReport(true)
	conn, err := m.pool.Acquire(ctx)
	if err != nil {
		return rep, fmt.Errorf("roles: connect: %w", err)
	}
	defer conn.Release()
	f, err := readFacts(ctx, conn.Conn(), m.o)
	if err != nil {
		return rep, err
	}
	rep.Database = f.database
	steps, roles, err := m.plan(f)
	if err != nil {
		return rep, err
	}
	rep.Roles = roles
	for _, s := range steps {
		rep.Actions = append(rep.Actions, s.Action)
	}
	return rep, nil
}

// Ensure converges the database to the model in one transaction: the roles,
// their attributes and passwords, ownership of every object in the schema, the
// grants and the owner's default privileges. Either everything is applied or
// nothing is. A second run finds nothing to do and reports no action.
//
// It must run as a superuser (or as a role with CREATEROLE that owns the
// objects); Ensure refuses a model role that is a superuser or is the connected
// role itself, so that it can never demote the role running it.
func (m *Manager) Ensure(ctx context.Context) (Report, error) {
	rep := m.newReport(false)
	conn, err := m.pool.Acquire(ctx)
	if err != nil {
		return rep, fmt.Errorf("roles: connect: %w", err)
	}
	defer conn.Release()
	err = pgx.BeginFunc(ctx, conn.Conn(), func(tx pgx.Tx) error {
		if err := pglock.SetTimeout(ctx, tx, m.o.LockTimeout, true); err != nil {
			return fmt.Errorf("roles: %w", err)
		}
		// Two runs at once would both plan CREATE ROLE; the second waits here and
		// then finds the first one's work done.
		if _, err := tx.Exec(ctx, "SELECT pg_advisory_xact_lock($1)", lockKey()); err != nil {
			return fmt.Errorf("roles: take the roles lock: %w", err)
		}
		f, err := readFacts(ctx, tx, m.o)
		if err != nil {
			return err
		}
		rep.Database = f.database
		steps, roles, err := m.plan(f)
		if err != nil {
			return err
		}
		rep.Roles = roles
		for _, s := range steps {
			if _, err := tx.Exec(ctx, s.sql); err != nil {
				return fmt.Errorf("roles: %s: %w", s.Action.SQL, err)
			}
			m.o.Logger.DebugContext(ctx, "role change applied", "role", s.Action.Role, "kind", s.Action.Kind, "object", s.Action.Object)
			rep.Actions = append(rep.Actions, s.Action)
		}
		rep.Warnings, err = leftoverDDL(ctx, tx, m.o, f.database)
		return err
	})
	if err != nil {
		rep.Actions = []Action{}
		return rep, err
	}
	rep.Changed = len(rep.Actions) > 0
	m.o.Logger.InfoContext(ctx, "roles ensured", "database", rep.Database, "schema", rep.Schema, "changes", len(rep.Actions))
	return rep, nil
}

func (m *Manager) newReport(dry bool) Report {
	return Report{DryRun: dry, Schema: m.o.Schema, Roles: []Role{}, Actions: []Action{}, Warnings: []string{}}
}

func lockKey() int64 {
	h := fnv.New64a()
	h.Write([]byte("quantx-db/roles"))
	return int64(h.Sum64())
}

// leftoverDDL names the DDL the app and read-only roles still hold after the
// run through memberships Ensure does not manage.
func leftoverDDL(ctx context.Context, tx pgx.Tx, o Options, database string) ([]string, error) {
	out := []string{}
	for _, name := range []string{o.App, o.ReadOnly} {
		var schemaCreate, dbCreate bool
		err := tx.QueryRow(ctx, `SELECT has_schema_privilege(r.oid, $2, 'CREATE'), has_database_privilege(r.oid, $3, 'CREATE')
FROM pg_roles r WHERE r.rolname = $1`, name, o.Schema, database).Scan(&schemaCreate, &dbCreate)
		if err != nil {
			return nil, fmt.Errorf("roles: check %s: %w", name, err)
		}
		if schemaCreate {
			out = append(out, fmt.Sprintf("role %s can still create objects in schema %s through a role it is a member of: revoke that membership", name, o.Schema))
		}
		if dbCreate {
			out = append(out, fmt.Sprintf("role %s can still create schemas in database %s through a role it is a member of: revoke that membership", name, database))
		}
	}
	return out, nil
}

// facts is what the catalogs say, read once; the plan is computed from it.
type facts struct {
	user        string
	super       bool
	createRole  bool
	database    string
	dbOwner     string
	dbACL       []aclItem
	schemaOwner string
	schemaACL   []aclItem
	roles       map[string]roleFacts
	members     [][2]string // {role, member}, among the model's roles
	rels        []relation
	routines    []object
	types       []object
	defaults    map[string][]aclItem // pg_default_acl of the owner in the schema, by objtype ("r", "S")
}

type aclItem struct {
	Grantee string `json:"g"` // "" is PUBLIC
	Priv    string `json:"p"`
}

type roleFacts struct {
	super, inherit, createRole, createDB, login, replication, bypassRLS bool
	verifier                                                            string // pg_authid.rolpassword, when readable
	verifierKnown                                                       bool
}

type relation struct {
	ident   string // schema-qualified, quoted
	name    string
	kind    string // pg_class.relkind
	owner   string
	ownedBy string // for a sequence: the table it belongs to ("" when standalone)
	acl     []aclItem
}

type object struct {
	ident string
	kind  string // FUNCTION, PROCEDURE, TYPE, DOMAIN
	owner string
}

type querier interface {
	Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error)
	QueryRow(ctx context.Context, sql string, args ...any) pgx.Row
}

// aclJSON renders an ACL (or the built-in default for objtype, an SQL
// expression, when it is NULL) as
// [{"g": grantee, "p": privilege}], PUBLIC as "".
func aclJSON(acl, objtype, owner string) string {
	return `COALESCE((SELECT json_agg(json_build_object('g', CASE WHEN a.grantee = 0 THEN '' ELSE pg_get_userbyid(a.grantee) END, 'p', a.privilege_type))
	FROM aclexplode(COALESCE(` + acl + `, acldefault(` + objtype + `, ` + owner + `))) a), '[]')`
}

// notExtension keeps out the members of an extension: they belong to it.
func notExtension(catalog, oid string) string {
	return `NOT EXISTS (SELECT 1 FROM pg_depend e WHERE e.classid = '` + catalog + `'::regclass AND e.objid = ` + oid + ` AND e.deptype = 'e')`
}

func readFacts(ctx context.Context, q querier, o Options) (*facts, error) {
	f := &facts{roles: map[string]roleFacts{}, defaults: map[string][]aclItem{}}
	var dbACL string
	err := q.QueryRow(ctx, `SELECT current_user, r.rolsuper, r.rolcreaterole, current_database(), pg_get_userbyid(d.datdba), `+
		aclJSON("d.datacl", "'d'", "d.datdba")+`
FROM pg_roles r, pg_database d WHERE r.rolname = current_user AND d.datname = current_database()`).
		Scan(&f.user, &f.super, &f.createRole, &f.database, &f.dbOwner, &dbACL)
	if err != nil {
		return nil, fmt.Errorf("roles: read the connected role: %w", err)
	}
	if !f.super && !f.createRole {
		return nil, fmt.Errorf("role %s is neither a superuser nor has CREATEROLE: %w", f.user, ErrNotAdmin)
	}
	var nsACL string
	err = q.QueryRow(ctx, `SELECT pg_get_userbyid(n.nspowner), `+aclJSON("n.nspacl", "'n'", "n.nspowner")+` FROM pg_namespace n WHERE n.nspname = $1`, o.Schema).
		Scan(&f.schemaOwner, &nsACL)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, fmt.Errorf("schema %q in database %s: %w", o.Schema, f.database, ErrSchemaMissing)
	}
	if err != nil {
		return nil, fmt.Errorf("roles: read schema %s: %w", o.Schema, err)
	}
	if err := decodeACL(dbACL, &f.dbACL); err != nil {
		return nil, err
	}
	if err := decodeACL(nsACL, &f.schemaACL); err != nil {
		return nil, err
	}

	names := []string{o.Owner, o.App, o.ReadOnly}
	rows, err := q.Query(ctx, `SELECT rolname, rolsuper, rolinherit, rolcreaterole, rolcreatedb, rolcanlogin, rolreplication, rolbypassrls
FROM pg_roles WHERE rolname = ANY($1)`, names)
	if err != nil {
		return nil, fmt.Errorf("roles: read roles: %w", err)
	}
	for rows.Next() {
		var name string
		var r roleFacts
		if err := rows.Scan(&name, &r.super, &r.inherit, &r.createRole, &r.createDB, &r.login, &r.replication, &r.bypassRLS); err != nil {
			rows.Close()
			return nil, fmt.Errorf("roles: read roles: %w", err)
		}
		f.roles[name] = r
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("roles: read roles: %w", err)
	}
	if f.super { // only superusers may read pg_authid; others set passwords blindly
		rows, err := q.Query(ctx, `SELECT rolname, COALESCE(rolpassword, '') FROM pg_authid WHERE rolname = ANY($1)`, names)
		if err != nil {
			return nil, fmt.Errorf("roles: read password verifiers: %w", err)
		}
		for rows.Next() {
			var name, v string
			if err := rows.Scan(&name, &v); err != nil {
				rows.Close()
				return nil, fmt.Errorf("roles: read password verifiers: %w", err)
			}
			r := f.roles[name]
			r.verifier, r.verifierKnown = v, true
			f.roles[name] = r
		}
		if err := rows.Err(); err != nil {
			return nil, fmt.Errorf("roles: read password verifiers: %w", err)
		}
	}
	rows, err = q.Query(ctx, `SELECT r.rolname, m.rolname FROM pg_auth_members am
JOIN pg_roles r ON r.oid = am.roleid JOIN pg_roles m ON m.oid = am.member
WHERE r.rolname = ANY($1) AND m.rolname = ANY($1)`, names)
	if err != nil {
		return nil, fmt.Errorf("roles: read memberships: %w", err)
	}
	for rows.Next() {
		var p [2]string
		if err := rows.Scan(&p[0], &p[1]); err != nil {
			rows.Close()
			return nil, fmt.Errorf("roles: read memberships: %w", err)
		}
		f.members = append(f.members, p)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("roles: read memberships: %w", err)
	}

	rows, err = q.Query(ctx, `SELECT format('%I.%I', n.nspname, c.relname), c.relname, c.relkind::text, pg_get_userbyid(c.relowner),
	COALESCE((SELECT t.relname FROM pg_depend d JOIN pg_class t ON t.oid = d.refobjid
	          WHERE d.classid = 'pg_class'::regclass AND d.objid = c.oid AND d.refclassid = 'pg_class'::regclass
	            AND d.deptype IN ('a', 'i') LIMIT 1), ''),
	`+aclJSON("c.relacl", "(CASE WHEN c.relkind = 'S' THEN 's' ELSE 'r' END)::\"char\"", "c.relowner")+`
FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE n.nspname = $1 AND c.relkind IN ('r', 'p', 'v', 'm', 'f', 'S') AND `+notExtension("pg_class", "c.oid")+`
ORDER BY c.relname`, o.Schema)
	if err != nil {
		return nil, fmt.Errorf("roles: read relations: %w", err)
	}
	for rows.Next() {
		var r relation
		var acl string
		if err := rows.Scan(&r.ident, &r.name, &r.kind, &r.owner, &r.ownedBy, &acl); err != nil {
			rows.Close()
			return nil, fmt.Errorf("roles: read relations: %w", err)
		}
		if err := decodeACL(acl, &r.acl); err != nil {
			rows.Close()
			return nil, err
		}
		f.rels = append(f.rels, r)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("roles: read relations: %w", err)
	}
	if f.routines, err = readObjects(ctx, q, `SELECT format('%I.%I(%s)', n.nspname, p.proname, pg_get_function_identity_arguments(p.oid)),
	CASE p.prokind WHEN 'p' THEN 'PROCEDURE' ELSE 'FUNCTION' END, pg_get_userbyid(p.proowner)
FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
WHERE n.nspname = $1 AND p.prokind IN ('f', 'p') AND `+notExtension("pg_proc", "p.oid")+` ORDER BY 1`, o.Schema); err != nil {
		return nil, err
	}
	if f.types, err = readObjects(ctx, q, `SELECT format('%I.%I', n.nspname, t.typname), CASE t.typtype WHEN 'd' THEN 'DOMAIN' ELSE 'TYPE' END, pg_get_userbyid(t.typowner)
FROM pg_type t JOIN pg_namespace n ON n.oid = t.typnamespace
WHERE n.nspname = $1 AND t.typtype IN ('e', 'd', 'r', 'c')
  AND (t.typrelid = 0 OR (SELECT relkind FROM pg_class WHERE oid = t.typrelid) = 'c')
  AND `+notExtension("pg_type", "t.oid")+` ORDER BY 1`, o.Schema); err != nil {
		return nil, err
	}
	rows, err = q.Query(ctx, `SELECT d.defaclobjtype::text, `+aclJSON("d.defaclacl", "'r'", "d.defaclrole")+`
FROM pg_default_acl d JOIN pg_namespace n ON n.oid = d.defaclnamespace
WHERE n.nspname = $1 AND d.defaclrole = (SELECT oid FROM pg_roles WHERE rolname = $2)`, o.Schema, o.Owner)
	if err != nil {
		return nil, fmt.Errorf("roles: read default privileges: %w", err)
	}
	for rows.Next() {
		var objtype, acl string
		if err := rows.Scan(&objtype, &acl); err != nil {
			rows.Close()
			return nil, fmt.Errorf("roles: read default privileges: %w", err)
		}
		var items []aclItem
		if err := decodeACL(acl, &items); err != nil {
			rows.Close()
			return nil, err
		}
		f.defaults[objtype] = items
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("roles: read default privileges: %w", err)
	}
	return f, nil
}

func readObjects(ctx context.Context, q querier, sql, schema string) ([]object, error) {
	rows, err := q.Query(ctx, sql, schema)
	if err != nil {
		return nil, fmt.Errorf("roles: read objects: %w", err)
	}
	return pgx.CollectRows(rows, func(r pgx.CollectableRow) (object, error) {
		var o object
		err := r.Scan(&o.ident, &o.kind, &o.owner)
		return o, err
	})
}

func decodeACL(s string, dst *[]aclItem) error {
	if err := json.Unmarshal([]byte(s), dst); err != nil {
		return fmt.Errorf("roles: decode ACL %q: %w", s, err)
	}
	return nil
}

// step is one planned statement: Action is what the report shows, sql what runs.
type step struct {
	Action
	sql string
}

func ident(name string) string { return pgx.Identifier{name}.Sanitize() }

// Privilege sets.
var (
	tableDML  = []string{"SELECT", "INSERT", "UPDATE", "DELETE"}
	readOnly  = []string{"SELECT"}
	seqApp    = []string{"USAGE", "SELECT"}
	tableAll  = []string{"SELECT", "INSERT", "UPDATE", "DELETE", "TRUNCATE", "REFERENCES", "TRIGGER", "MAINTAIN"}
	seqAll    = []string{"USAGE", "SELECT", "UPDATE"}
	schemaAll = []string{"USAGE", "CREATE"}
)

// plan computes every statement Ensure runs, in order, from the facts alone.
func (m *Manager) plan(f *facts) ([]step, []Role, error) {
	o := m.o
	kinds := []struct {
		kind Kind
		name string
	}{{KindOwner, o.Owner}, {KindApp, o.App}, {KindReadOnly, o.ReadOnly}}
	var steps []step
	add := func(role, kind, object, sql, shown string) {
		if shown == "" {
			shown = sql
		}
		steps = append(steps, step{Action{Role: role, Kind: kind, Object: object, SQL: shown}, sql})
	}
	roles := []Role{}

	// 1. The roles and their attributes: LOGIN, and nothing that bypasses the model.
	for _, k := range kinds {
		if k.name == f.user {
			return nil, nil, fmt.Errorf("the %s role %q is the connected role: roles are managed from another, admin role, so that it never changes its own attributes: %w", k.kind, k.name, ErrInvalidName)
		}
		r, exists := f.roles[k.name]
		role := Role{Kind: k.kind, Name: k.name, Created: !exists}
		switch {
		case !exists:
			add(k.name, ActionCreateRole, "role "+k.name,
				"CREATE ROLE "+ident(k.name)+" LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE INHERIT NOREPLICATION NOBYPASSRLS", "")
		case r.super:
			return nil, nil, fmt.Errorf("the %s role %q: %w; choose another name, this tool never demotes a superuser", k.kind, k.name, ErrSuperuser)
		default:
			var attrs []string
			for _, a := range []struct {
				have, want bool
				yes, no    string
			}{
				{r.login, true, "LOGIN", "NOLOGIN"},
				{r.createDB, false, "CREATEDB", "NOCREATEDB"},
				{r.createRole, false, "CREATEROLE", "NOCREATEROLE"},
				{r.inherit, true, "INHERIT", "NOINHERIT"},
				{r.replication, false, "REPLICATION", "NOREPLICATION"},
				{r.bypassRLS, false, "BYPASSRLS", "NOBYPASSRLS"},
			} {
				if a.have != a.want {
					if a.want {
						attrs = append(attrs, a.yes)
					} else {
						attrs = append(attrs, a.no)
					}
				}
			}
			if len(attrs) > 0 {
				add(k.name, ActionAlterRole, "role "+k.name, "ALTER ROLE "+ident(k.name)+" "+strings.Join(attrs, " "), "")
			}
		}
		if pw := o.Passwords[k.kind]; pw != "" && !(exists && r.verifierKnown && passwordMatches(r.verifier, k.name, pw)) {
			v, err := newScramVerifier(pw)
			if err != nil {
				return nil, nil, fmt.Errorf("roles: password of %s: %w", k.name, err)
			}
			add(k.name, ActionPassword, "role "+k.name, "ALTER ROLE "+ident(k.name)+" PASSWORD "+literal(v), "ALTER ROLE "+ident(k.name)+" PASSWORD '***'")
			role.PasswordSet = true
		}
		roles = append(roles, role)
	}

	// 2. No membership that would hand the owner's rights to the app or read-only role.
	for _, p := range f.members {
		if (p[0] == o.Owner && (p[1] == o.App || p[1] == o.ReadOnly)) || (p[0] == o.App && p[1] == o.ReadOnly) {
			add(p[1], ActionRevokeMembership, "role "+p[0], "REVOKE "+ident(p[0])+" FROM "+ident(p[1]), "")
		}
	}

	// 3. The database: CONNECT for all, CREATE (new schemas) for none but the owner.
	db := ident(f.database)
	dbACL := f.dbACL
	if f.dbOwner == o.App || f.dbOwner == o.ReadOnly {
		add(o.Owner, ActionOwner, "database "+f.database, "ALTER DATABASE "+db+" OWNER TO "+ident(o.Owner), "")
		dbACL = aclNewOwner(dbACL, f.dbOwner, o.Owner)
	}
	for _, k := range kinds {
		if !hasPriv(dbACL, k.name, "CONNECT") && !hasPriv(dbACL, "", "CONNECT") {
			add(k.name, ActionGrant, "database "+f.database, "GRANT CONNECT ON DATABASE "+db+" TO "+ident(k.name), "")
		}
	}
	for _, name := range []string{o.App, o.ReadOnly, ""} {
		if hasPriv(dbACL, name, "CREATE") {
			add(shownRole(name), ActionRevoke, "database "+f.database, "REVOKE CREATE ON DATABASE "+db+" FROM "+grantee(name), "")
		}
	}

	// 4. The schema: USAGE for all, CREATE for the owner only (also not PUBLIC).
	schema := ident(o.Schema)
	nsACL := f.schemaACL
	schemaOwner := f.schemaOwner
	if schemaOwner == o.App || schemaOwner == o.ReadOnly {
		add(o.Owner, ActionOwner, "schema "+o.Schema, "ALTER SCHEMA "+schema+" OWNER TO "+ident(o.Owner), "")
		nsACL = aclNewOwner(nsACL, schemaOwner, o.Owner)
		schemaOwner = o.Owner
	}
	if schemaOwner != o.Owner {
		if missing := missingPrivs(nsACL, o.Owner, schemaAll); len(missing) > 0 {
			add(o.Owner, ActionGrant, "schema "+o.Schema, "GRANT "+strings.Join(missing, ", ")+" ON SCHEMA "+schema+" TO "+ident(o.Owner), "")
		}
	}
	for _, name := range []string{o.App, o.ReadOnly} {
		if !hasPriv(nsACL, name, "USAGE") && !hasPriv(nsACL, "", "USAGE") {
			add(name, ActionGrant, "schema "+o.Schema, "GRANT USAGE ON SCHEMA "+schema+" TO "+ident(name), "")
		}
	}
	for _, name := range []string{o.App, o.ReadOnly, ""} {
		if hasPriv(nsACL, name, "CREATE") {
			add(shownRole(name), ActionRevoke, "schema "+o.Schema, "REVOKE CREATE ON SCHEMA "+schema+" FROM "+grantee(name), "")
		}
	}

	// 5. Ownership of every object in the schema (an owned sequence follows its table).
	bookkeeping := map[string]bool{}
	for _, t := range o.Bookkeeping {
		bookkeeping[t] = true
	}
	rels := make([]relation, len(f.rels))
	copy(rels, f.rels)
	for i := range rels {
		r := &rels[i]
		if r.kind == "S" && r.ownedBy != "" {
			if owner := tableOwner(f.rels, r.ownedBy); owner != "" && owner != o.Owner {
				r.acl = aclNewOwner(r.acl, r.owner, o.Owner) // ALTER TABLE ... OWNER carries it along
				r.owner = o.Owner
			}
			continue
		}
		if r.owner != o.Owner {
			add(o.Owner, ActionOwner, relKindName(r.kind)+" "+r.ident, "ALTER "+relKindSQL(r.kind)+" "+r.ident+" OWNER TO "+ident(o.Owner), "")
			r.acl = aclNewOwner(r.acl, r.owner, o.Owner)
			r.owner = o.Owner
		}
	}
	for _, obj := range slices.Concat(f.routines, f.types) {
		if obj.owner != o.Owner {
			add(o.Owner, ActionOwner, strings.ToLower(obj.kind)+" "+obj.ident, "ALTER "+obj.kind+" "+obj.ident+" OWNER TO "+ident(o.Owner), "")
		}
	}

	// 6. Privileges on tables and sequences: exactly the model's for the app and
	// read-only roles, and no write privilege for PUBLIC.
	for _, r := range rels {
		book := bookkeeping[r.name] || (r.kind == "S" && bookkeeping[r.ownedBy])
		var app, ro, all []string
		switch {
		case r.kind == "S" && book:
			app, ro, all = nil, nil, seqAll
		case r.kind == "S":
			app, ro, all = seqApp, readOnly, seqAll
		case book, r.kind == "m":
			app, ro, all = readOnly, readOnly, tableAll
		default:
			app, ro, all = tableDML, readOnly, tableAll
		}
		on := "TABLE "
		if r.kind == "S" {
			on = "SEQUENCE "
		}
		object := relKindName(r.kind) + " " + r.ident
		for _, g := range []struct {
			name string
			want []string
		}{{o.App, app}, {o.ReadOnly, ro}, {"", readOnly}} {
			if g.name != "" {
				if missing := missingPrivs(r.acl, g.name, g.want); len(missing) > 0 {
					add(g.name, ActionGrant, object, "GRANT "+strings.Join(missing, ", ")+" ON "+on+r.ident+" TO "+ident(g.name), "")
				}
			}
			if extra := extraPrivs(r.acl, g.name, g.want, all); len(extra) > 0 {
				add(shownRole(g.name), ActionRevoke, object, "REVOKE "+strings.Join(extra, ", ")+" ON "+on+r.ident+" FROM "+grantee(g.name), "")
			}
		}
	}

	// 7. Default privileges: what the owner creates later (a migration's table, a
	// partition made by 'partitions ensure') carries the same grants.
	for _, d := range []struct {
		objtype, objects string
		app, all         []string
	}{{"r", "TABLES", tableDML, tableAll}, {"S", "SEQUENCES", seqApp, seqAll}} {
		acl := f.defaults[d.objtype]
		prefix := "ALTER DEFAULT PRIVILEGES FOR ROLE " + ident(o.Owner) + " IN SCHEMA " + schema + " "
		for _, g := range []struct {
			name string
			want []string
		}{{o.App, d.app}, {o.ReadOnly, readOnly}} {
			object := "future " + strings.ToLower(d.objects) + " in " + o.Schema
			if missing := missingPrivs(acl, g.name, g.want); len(missing) > 0 {
				add(g.name, ActionDefaultPrivileges, object, prefix+"GRANT "+strings.Join(missing, ", ")+" ON "+d.objects+" TO "+ident(g.name), "")
			}
			if extra := extraPrivs(acl, g.name, g.want, d.all); len(extra) > 0 {
				add(g.name, ActionDefaultPrivileges, object, prefix+"REVOKE "+strings.Join(extra, ", ")+" ON "+d.objects+" FROM "+ident(g.name), "")
			}
		}
	}
	return steps, roles, nil
}

func tableOwner(rels []relation, name string) string {
	for _, r := range rels {
		if r.name == name && r.kind != "S" {
			return r.owner
		}
	}
	return ""
}

func relKindSQL(kind string) string {
	switch kind {
	case "v":
		return "VIEW"
	case "m":
		return "MATERIALIZED VIEW"
	case "f":
		return "FOREIGN TABLE"
	case "S":
		return "SEQUENCE"
	}
	return "TABLE"
}

func relKindName(kind string) string { return strings.ToLower(relKindSQL(kind)) }

// grantee renders a role for GRANT/REVOKE; "" is PUBLIC.
func grantee(name string) string {
	if name == "" {
		return "PUBLIC"
	}
	return ident(name)
}

func shownRole(name string) string {
	if name == "" {
		return "PUBLIC"
	}
	return name
}

func hasPriv(acl []aclItem, who, priv string) bool {
	for _, a := range acl {
		if a.Grantee == who && a.Priv == priv {
			return true
		}
	}
	return false
}

// missingPrivs lists the privileges of want that who does not hold directly.
func missingPrivs(acl []aclItem, who string, want []string) []string {
	var out []string
	for _, p := range want {
		if !hasPriv(acl, who, p) {
			out = append(out, p)
		}
	}
	return out
}

// extraPrivs lists the privileges who holds directly beyond want, in all's order.
func extraPrivs(acl []aclItem, who string, want, all []string) []string {
	var out []string
	for _, p := range all {
		if !slices.Contains(want, p) && hasPriv(acl, who, p) {
			out = append(out, p)
		}
	}
	return out
}

// aclNewOwner is what ALTER ... OWNER does to an ACL: the old owner's entries
// become the new owner's.
func aclNewOwner(acl []aclItem, old, owner string) []aclItem {
	out := make([]aclItem, 0, len(acl))
	for _, a := range acl {
		if a.Grantee == old {
			a.Grantee = owner
		}
		if !slices.Contains(out, a) {
			out = append(out, a)
		}
	}
	return out
}

// literal quotes s as an SQL string literal (standard_conforming_strings on).
func literal(s string) string { return "'" + strings.ReplaceAll(s, "'", "''") + "'" }
