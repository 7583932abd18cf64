package roles

import (
	"context"
	"fmt"
	"slices"
	"sort"
	"strings"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/quantx/quantx-db/partitions"
)

// Profile is which part of the model a connected role can play.
type Profile string

// Profiles, from most to least capable.
const (
	ProfileSuperuser Profile = "superuser" // can do everything, including what no application should
	ProfileOwner     Profile = "owner"     // can migrate (owns every object, CREATE on the schema)
	ProfileApp       Profile = "app"       // DML on every application table
	ProfileReadOnly  Profile = "read-only" // SELECT on every application table
	ProfileNone      Profile = "none"      // none of the above
)

// Capability is one thing the role can or cannot do, with what is missing.
type Capability struct {
	OK      bool     `json:"ok"`
	Missing []string `json:"missing"` // each names the privilege or ownership and its objects
}

// Capabilities is what the connected role can do with the schema.
type Capabilities struct {
	Role       string     `json:"role"`
	Superuser  bool       `json:"superuser"`
	Schema     string     `json:"schema"`
	Profile    Profile    `json:"profile"`
	Migrate    Capability `json:"migrate"`    // migrate up/down: CREATE on the schema, ownership of every object, writes to the bookkeeping
	Partitions Capability `json:"partitions"` // partitions ensure, retention apply: CREATE, ownership of the partitioned table and its partitions
	AppDML     Capability `json:"app_dml"`    // SELECT, INSERT, UPDATE, DELETE on every application table
	ReadOnly   Capability `json:"read_only"`  // SELECT on every application table
	// DDL lists the DDL rights the role holds (CREATE on the schema or the database,
	// ownership), which only the owner should have.
	DDL []string `json:"ddl"`
	// BookkeepingWrites lists write privileges on the migration bookkeeping.
	BookkeepingWrites []string `json:"bookkeeping_writes"`
	// TableWrites lists write privileges on application tables (for a read-only role).
	TableWrites []string `json:"table_writes"`
	// Owners are the roles owning the schema's objects: the ones to migrate as.
	Owners []string `json:"owners"`
	Tables int      `json:"tables"` // application tables found (partitions not counted)
}

// InspectOptions says where to look. The zero value is the QuantX schema.
type InspectOptions struct {
	Schema      string   // "" means "public"
	Bookkeeping []string // nil means DefaultBookkeeping
}

type inspected struct {
	ident, name, kind, owner string
	owned, partition         bool
	parent                   string
	sel, ins, upd, del, trn  bool
}

// Inspect reports what the role connected through pool can do: migrate, maintain
// partitions, run the application's DML, read. Ownership counts when the role is
// the owner or inherits the owner's rights, as PostgreSQL decides "must be owner".
func Inspect(ctx context.Context, pool *pgxpool.Pool, o InspectOptions) (Capabilities, error) {
	if o.Schema == "" {
		o.Schema = "public"
	}
	if o.Bookkeeping == nil {
		o.Bookkeeping = DefaultBookkeeping
	}
	c := Capabilities{Schema: o.Schema, DDL: []string{}, BookkeepingWrites: []string{}, TableWrites: []string{}, Owners: []string{}}
	var schemaExists, usage, create, dbCreate bool
	var database string
	err := pool.QueryRow(ctx, `SELECT current_user, r.rolsuper, current_database(),
	n.oid IS NOT NULL,
	COALESCE(has_schema_privilege(n.oid, 'USAGE'), false),
	COALESCE(has_schema_privilege(n.oid, 'CREATE'), false),
	has_database_privilege(current_database(), 'CREATE')
FROM pg_roles r LEFT JOIN pg_namespace n ON n.nspname = $1
WHERE r.rolname = current_user`, o.Schema).Scan(&c.Role, &c.Superuser, &database, &schemaExists, &usage, &create, &dbCreate)
	if err != nil {
		return c, fmt.Errorf("inspect role: %w", err)
	}
	if !schemaExists {
		return c, fmt.Errorf("schema %q in database %s: %w", o.Schema, database, ErrSchemaMissing)
	}
	rows, err := pool.Query(ctx, `SELECT format('%I.%I', n.nspname, c.relname), c.relname, c.relkind::text, pg_get_userbyid(c.relowner),
	pg_has_role(c.relowner, 'USAGE'), c.relispartition,
	COALESCE((SELECT p.relname FROM pg_inherits i JOIN pg_class p ON p.oid = i.inhparent WHERE i.inhrelid = c.oid LIMIT 1), ''),
	has_table_privilege(c.oid, 'SELECT'), has_table_privilege(c.oid, 'INSERT'), has_table_privilege(c.oid, 'UPDATE'),
	has_table_privilege(c.oid, 'DELETE'), has_table_privilege(c.oid, 'TRUNCATE')
FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE n.nspname = $1 AND c.relkind IN ('r', 'p', 'v', 'm', 'f')
  AND `+notExtension("pg_class", "c.oid")+`
UNION ALL
SELECT format('%I.%I(%s)', n.nspname, p.proname, pg_get_function_identity_arguments(p.oid)), p.proname, 'function', pg_get_userbyid(p.proowner),
	pg_has_role(p.proowner, 'USAGE'), false, '', false, false, false, false, false
FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
WHERE n.nspname = $1 AND p.prokind IN ('f', 'p') AND `+notExtension("pg_proc", "p.oid")+`
UNION ALL
SELECT format('%I.%I', n.nspname, t.typname), t.typname, 'type', pg_get_userbyid(t.typowner),
	pg_has_role(t.typowner, 'USAGE'), false, '', false, false, false, false, false
FROM pg_type t JOIN pg_namespace n ON n.oid = t.typnamespace
WHERE n.nspname = $1 AND t.typtype IN ('e', 'd', 'r', 'c')
  AND (t.typrelid = 0 OR (SELECT relkind FROM pg_class WHERE oid = t.typrelid) = 'c') AND `+notExtension("pg_type", "t.oid")+`
ORDER BY 1`, o.Schema)
	if err != nil {
		return c, fmt.Errorf("inspect role: %w", err)
	}
	var objs []inspected
	for rows.Next() {
		var x inspected
		if err := rows.Scan(&x.ident, &x.name, &x.kind, &x.owner, &x.owned, &x.partition, &x.parent, &x.sel, &x.ins, &x.upd, &x.del, &x.trn); err != nil {
			rows.Close()
			return c, fmt.Errorf("inspect role: %w", err)
		}
		objs = append(objs, x)
	}
	if err := rows.Err(); err != nil {
		return c, fmt.Errorf("inspect role: %w", err)
	}
	c.assess(objs, o, usage, create, dbCreate, database)
	return c, nil
}

func (c *Capabilities) assess(objs []inspected, o InspectOptions, usage, create, dbCreate bool, database string) {
	isTable := func(x inspected) bool { return slices.Contains([]string{"r", "p", "v", "m", "f"}, x.kind) }
	book := func(x inspected) bool { return isTable(x) && slices.Contains(o.Bookkeeping, x.name) }
	app := func(x inspected) bool { return isTable(x) && !x.partition && !book(x) }

	owners := map[string]bool{}
	notOwned := map[string][]string{} // owner -> objects
	var ownedHere []string
	var parentFound bool
	var partMissing []string
	var selMissing, dmlMissing = map[string][]string{}, map[string][]string{}
	for _, x := range objs {
		if app(x) {
			c.Tables++
			owners[x.owner] = true
			for _, p := range []struct {
				name string
				have bool
			}{{"SELECT", x.sel}, {"INSERT", x.ins}, {"UPDATE", x.upd}, {"DELETE", x.del}} {
				if !p.have && !(x.kind == "m" && p.name != "SELECT") {
					dmlMissing[p.name] = append(dmlMissing[p.name], x.name)
					if p.name == "SELECT" {
						selMissing[p.name] = append(selMissing[p.name], x.name)
					}
				}
				if p.have && p.name != "SELECT" {
					c.TableWrites = append(c.TableWrites, p.name+" on "+x.name)
				}
			}
		}
		if book(x) {
			for _, p := range []struct {
				name string
				have bool
			}{{"INSERT", x.ins}, {"UPDATE", x.upd}, {"DELETE", x.del}, {"TRUNCATE", x.trn}} {
				if p.have {
					c.BookkeepingWrites = append(c.BookkeepingWrites, p.name+" on "+x.name)
				}
			}
		}
		if x.owned {
			ownedHere = append(ownedHere, x.kind+" "+x.name)
		} else {
			notOwned[x.owner] = append(notOwned[x.owner], x.name)
		}
		if isTable(x) && (x.name == partitions.MonthlyTable || x.parent == partitions.MonthlyTable) {
			if x.name == partitions.MonthlyTable {
				parentFound = true
				owners[x.owner] = true
			}
			if !x.owned {
				partMissing = append(partMissing, fmt.Sprintf("%s (owned by %s)", x.name, x.owner))
			}
		}
	}
	for o := range owners {
		c.Owners = append(c.Owners, o)
	}
	sort.Strings(c.Owners)
	createSchema := "CREATE on schema " + o.Schema

	if c.Superuser {
		c.Profile = ProfileSuperuser
		c.Migrate.OK, c.Partitions.OK, c.AppDML.OK, c.ReadOnly.OK = true, true, true, true
		c.Migrate.Missing, c.Partitions.Missing, c.AppDML.Missing, c.ReadOnly.Missing = []string{}, []string{}, []string{}, []string{}
		return
	}

	// migrate
	var mig []string
	if !create {
		mig = append(mig, createSchema)
	}
	for _, owner := range sortedKeys(notOwned) {
		mig = append(mig, fmt.Sprintf("ownership of %d object(s) owned by %s: %s", len(notOwned[owner]), owner, sample(notOwned[owner])))
	}
	for _, x := range objs {
		if book(x) && !(x.ins && x.upd && x.del) {
			mig = append(mig, "INSERT, UPDATE and DELETE on "+x.name)
		}
	}
	c.Migrate = capability(mig)

	// partitions
	var part []string
	if !parentFound {
		part = append(part, "table "+partitions.MonthlyTable+" (not created yet: the schema is not migrated)")
	} else {
		if !create {
			part = append(part, createSchema)
		}
		if len(partMissing) > 0 {
			part = append(part, "ownership of "+sample(partMissing))
		}
	}
	c.Partitions = capability(part)

	// application DML and reading
	var dml, sel []string
	if !usage {
		dml = append(dml, "USAGE on schema "+o.Schema)
		sel = append(sel, "USAGE on schema "+o.Schema)
	}
	if c.Tables == 0 {
		dml = append(dml, "application tables (none yet: the schema is not migrated)")
		sel = append(sel, "application tables (none yet: the schema is not migrated)")
	}
	for _, p := range []string{"SELECT", "INSERT", "UPDATE", "DELETE"} {
		if t := dmlMissing[p]; len(t) > 0 {
			dml = append(dml, fmt.Sprintf("%s on %d table(s): %s", p, len(t), sample(t)))
		}
	}
	if t := selMissing["SELECT"]; len(t) > 0 {
		sel = append(sel, fmt.Sprintf("SELECT on %d table(s): %s", len(t), sample(t)))
	}
	c.AppDML, c.ReadOnly = capability(dml), capability(sel)

	if create {
		c.DDL = append(c.DDL, createSchema)
	}
	if dbCreate {
		c.DDL = append(c.DDL, "CREATE on database "+database+" (new schemas)")
	}
	if len(ownedHere) > 0 {
		c.DDL = append(c.DDL, fmt.Sprintf("ownership of %d object(s): %s", len(ownedHere), sample(ownedHere)))
	}
	switch {
	case c.Migrate.OK:
		c.Profile = ProfileOwner
	case c.AppDML.OK:
		c.Profile = ProfileApp
	case c.ReadOnly.OK:
		c.Profile = ProfileReadOnly
	default:
		c.Profile = ProfileNone
	}
}

func capability(missing []string) Capability {
	if missing == nil {
		missing = []string{}
	}
	return Capability{OK: len(missing) == 0, Missing: missing}
}

func sortedKeys(m map[string][]string) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// sample lists up to four names and how many more there are.
func sample(names []string) string {
	if len(names) <= 4 {
		return strings.Join(names, ", ")
	}
	return fmt.Sprintf("%s and %d more", strings.Join(names[:4], ", "), len(names)-4)
}
