package lint

import (
	"fmt"
	"slices"
	"strings"

	pg "github.com/quantx/quantx-db/migrations/lint/internal/pgtree"
)

// checker collects the findings of one statement.
type checker struct {
	l   *linter
	st  *fileState
	out []Finding
}

func (c *checker) add(rule, object, detail string) { c.addAt(-1, rule, object, detail) }

// addAt reports a finding at byte offset loc of the file (a column or a
// constraint inside a long statement); loc < 0 means the statement's line.
func (c *checker) addAt(loc int32, rule, object, detail string) {
	line := c.st.line
	if loc >= 0 {
		line = c.st.src.lineAt(c.st.base + int(loc))
	}
	r, _ := Lookup(rule)
	msg := r.Reason
	if detail != "" {
		msg = detail + ": " + r.Reason
	}
	for _, f := range c.out { // one finding per rule and statement
		if f.Rule == rule && f.Object == object {
			return
		}
	}
	c.out = append(c.out, Finding{Rule: rule, Severity: r.Severity, File: c.st.f.Name, Line: line,
		Object: object, Message: msg, Fix: r.Fix})
}

// check runs every rule on one statement, against the model as it was before it.
func (l *linter) check(st *fileState, s stmt) []Finding {
	c := &checker{l: l, st: st}
	n := s.node
	switch {
	case n.GetCreateStmt() != nil:
		c.createTable(n.GetCreateStmt())
	case n.GetAlterTableStmt() != nil:
		c.alterTable(n.GetAlterTableStmt())
	case n.GetIndexStmt() != nil:
		c.createIndex(n.GetIndexStmt())
	case n.GetDropStmt() != nil:
		c.drop(n.GetDropStmt())
	case n.GetReindexStmt() != nil:
		c.reindex(n.GetReindexStmt())
	case n.GetVacuumStmt() != nil:
		c.vacuum(n.GetVacuumStmt())
	case n.GetClusterStmt() != nil:
		cl := n.GetClusterStmt()
		if cl.Relation == nil || !l.cat.isNew(relKey(cl.Relation), st.no) {
			c.add(RuleCluster, display(relKey(cl.Relation)), "CLUSTER")
		}
	case n.GetRenameStmt() != nil:
		c.rename(n.GetRenameStmt())
	case n.GetTruncateStmt() != nil:
		for _, r := range n.GetTruncateStmt().Relations {
			key := relKey(r.GetRangeVar())
			c.versionTable(key)
			if !st.f.Down && !l.cat.isNew(key, st.no) {
				c.add(RuleTruncate, display(key), "TRUNCATE "+display(key))
			}
		}
	case n.GetAlterDomainStmt() != nil:
		c.alterDomain(n.GetAlterDomainStmt())
	case n.GetAlterEnumStmt() != nil:
		// ADD VALUE alone is fine inside a transaction since PostgreSQL 12; only a
		// later use in the same transaction fails (checked below, per statement).
	case n.GetTransactionStmt() != nil:
		switch n.GetTransactionStmt().Kind {
		case pg.TransactionStmtKind_TRANS_STMT_BEGIN, pg.TransactionStmtKind_TRANS_STMT_START,
			pg.TransactionStmtKind_TRANS_STMT_COMMIT, pg.TransactionStmtKind_TRANS_STMT_ROLLBACK,
			pg.TransactionStmtKind_TRANS_STMT_PREPARE, pg.TransactionStmtKind_TRANS_STMT_COMMIT_PREPARED,
			pg.TransactionStmtKind_TRANS_STMT_ROLLBACK_PREPARED:
			c.add(RuleTransactionControl, "", "")
		}
	case n.GetInsertStmt() != nil:
		c.versionTable(relKey(n.GetInsertStmt().Relation))
	case n.GetUpdateStmt() != nil:
		c.versionTable(relKey(n.GetUpdateStmt().Relation))
	case n.GetDeleteStmt() != nil:
		c.versionTable(relKey(n.GetDeleteStmt().Relation))
	}
	if st.inTx() && len(st.enumValues) > 0 {
		c.enumUse(n)
	}
	return c.out
}

// versionTable flags writes to the tables quantx-db keeps its state in.
func (c *checker) versionTable(key string) {
	switch strings.TrimPrefix(key, "public.") {
	case "schema_migrations", "quantx_migration_history":
		c.add(RuleVersionTable, display(key), "")
	}
}

// style checks a column's declared type; it applies to new tables too.
func (c *checker) style(tbl string, cd *pg.ColumnDef) {
	t := typeOf(cd.TypeName)
	obj := display(tbl) + "." + cd.Colname
	add := func(rule, detail string) { c.addAt(cd.Location, rule, obj, detail) }
	switch {
	case !t.builtin && slices.Contains([]string{"serial", "serial4", "bigserial", "serial8", "smallserial", "serial2"}, t.name):
		add(RulePreferIdentity, obj+" "+t.name)
	case t.builtin && (t.name == "int4" || t.name == "int2"):
		add(RulePreferBigint, obj+" "+map[string]string{"int4": "integer", "int2": "smallint"}[t.name])
	case t.builtin && t.name == "varchar" && len(t.mods) > 0:
		add(RulePreferText, obj+" "+t.String())
	case t.builtin && t.name == "timestamp":
		add(RulePreferTimestamptz, obj+" timestamp")
	case t.builtin && t.name == "bpchar":
		add(RuleCharField, obj+" "+strings.Replace(t.String(), "bpchar", "char", 1))
	}
}

func (c *checker) createTable(cs *pg.CreateStmt) {
	key := relKey(cs.Relation)
	c.versionTable(key)
	for _, e := range cs.TableElts {
		if cd := e.GetColumnDef(); cd != nil {
			c.style(key, cd)
		}
	}
}

func (c *checker) alterTable(at *pg.AlterTableStmt) {
	key := relKey(at.Relation)
	if at.Objtype != pg.ObjectType_OBJECT_TABLE {
		return // ALTER INDEX, ALTER VIEW, ...: catalog changes only
	}
	c.versionTable(key)
	cat, st := c.l.cat, c.st
	isNew := cat.isNew(key, st.no)
	tbl := display(key)
	for _, cn := range at.Cmds {
		cmd := cn.GetAlterTableCmd()
		if cmd == nil {
			continue
		}
		switch cmd.Subtype {
		case pg.AlterTableType_AT_AddColumn:
			cd := cmd.Def.GetColumnDef()
			if cd == nil {
				continue
			}
			c.style(key, cd)
			if !isNew {
				c.addColumn(key, cd)
			}
		case pg.AlterTableType_AT_SetNotNull:
			if !isNew && !cat.notNullProven(key, cmd.Name) && !c.validatedHereFor(key, cmd.Name) {
				c.add(RuleSetNotNull, tbl+"."+cmd.Name, "SET NOT NULL on "+tbl+"."+cmd.Name)
			}
		case pg.AlterTableType_AT_AlterColumnType:
			if !isNew {
				c.alterType(key, cmd)
			}
		case pg.AlterTableType_AT_AddConstraint:
			if k := cmd.Def.GetConstraint(); k != nil && !isNew {
				c.addConstraint(key, k)
			}
		case pg.AlterTableType_AT_ValidateConstraint:
			if t, ok := st.notValidHere[cmd.Name]; ok && t == key && st.inTx() && !isNew {
				c.add(RuleValidateSameTx, tbl+"."+cmd.Name, "VALIDATE CONSTRAINT "+cmd.Name)
			}
		case pg.AlterTableType_AT_DropColumn:
			if !isNew && !st.f.Down {
				c.add(RuleDropColumn, tbl+"."+cmd.Name, "DROP COLUMN "+tbl+"."+cmd.Name)
			}
		case pg.AlterTableType_AT_SetLogged, pg.AlterTableType_AT_SetUnLogged:
			if !isNew {
				c.add(RuleSetLogged, tbl, "")
			}
		case pg.AlterTableType_AT_DetachPartition:
			pc := cmd.Def.GetPartitionCmd()
			switch {
			case pc != nil && pc.Concurrent && st.inTx():
				c.add(RuleNoTransaction, tbl, "DETACH PARTITION ... CONCURRENTLY")
			case pc != nil && !pc.Concurrent && !isNew:
				c.add(RuleDetachConcurrently, tbl, "DETACH PARTITION "+display(relKey(pc.Name))+" from "+tbl)
			}
		}
	}
}

// validatedHereFor is the fallback when the model does not know a constraint:
// a VALIDATE earlier in this file of a constraint on the same table whose name
// mentions the column (users_email_not_null) is taken as the NOT NULL helper,
// as squawk does for migrations whose ADD CONSTRAINT it cannot see.
func (c *checker) validatedHereFor(tbl, col string) bool {
	for k := range c.st.validatedHere {
		t, name, _ := strings.Cut(k, "|")
		if t != tbl {
			continue
		}
		if _, known := c.l.cat.constraints[tbl+"|"+name]; known {
			continue // known constraints are judged by their expression
		}
		if strings.Contains(name, col) && strings.Contains(name, "not_null") {
			return true
		}
	}
	return false
}

func (c *checker) addColumn(key string, cd *pg.ColumnDef) {
	t := typeOf(cd.TypeName)
	obj := display(key) + "." + cd.Colname
	var hasDefault, notNull, generatedOrIdentity bool
	var fk *pg.Constraint
	if !t.builtin && slices.Contains([]string{"serial", "serial4", "bigserial", "serial8", "smallserial", "serial2"}, t.name) {
		c.addAt(cd.Location, RuleSerialColumn, obj, "ADD COLUMN "+obj+" "+t.name)
		hasDefault = true
	}
	notNull = cd.IsNotNull
	for _, kn := range cd.Constraints {
		k := kn.GetConstraint()
		if k == nil {
			continue
		}
		switch k.Contype {
		case pg.ConstrType_CONSTR_DEFAULT:
			hasDefault = k.RawExpr.GetAConst() == nil || !k.RawExpr.GetAConst().Isnull
			if v, fn := c.l.volatility(k.RawExpr); v == 'v' || v == 'u' {
				what := fn + "() is volatile"
				if v == 'u' {
					what = "cannot tell whether " + fn + "() is volatile (not a built-in function nor one created by these migrations)"
				}
				c.addAt(cd.Location, RuleVolatileDefault, obj, "ADD COLUMN "+obj+" DEFAULT "+fn+"(): "+what)
			}
		case pg.ConstrType_CONSTR_GENERATED:
			generatedOrIdentity = true
			c.addAt(cd.Location, RuleStoredGenerated, obj, "ADD COLUMN "+obj+" GENERATED ... STORED")
		case pg.ConstrType_CONSTR_IDENTITY:
			generatedOrIdentity = true
			c.addAt(cd.Location, RuleSerialColumn, obj, "ADD COLUMN "+obj+" GENERATED AS IDENTITY")
		case pg.ConstrType_CONSTR_NOTNULL:
			notNull = true
		case pg.ConstrType_CONSTR_PRIMARY:
			c.addAt(cd.Location, RulePrimaryKey, obj, "ADD COLUMN "+obj+" PRIMARY KEY")
		case pg.ConstrType_CONSTR_UNIQUE:
			c.addAt(cd.Location, RuleUnique, obj, "ADD COLUMN "+obj+" UNIQUE")
		case pg.ConstrType_CONSTR_FOREIGN:
			fk = k
		case pg.ConstrType_CONSTR_CHECK:
			c.addAt(cd.Location, RuleCheckNotValid, obj, "ADD COLUMN "+obj+" CHECK (...)")
		}
	}
	// A new column without a default is NULL in every row, and PostgreSQL 15
	// skips validating an inline REFERENCES then (measured: no scan, the same
	// locks as NOT VALID). With a default every row has a value to check.
	if fk != nil && !fk.SkipValidation && (hasDefault || generatedOrIdentity) {
		c.addAt(cd.Location, RuleForeignKey, obj, "ADD COLUMN "+obj+" with a default REFERENCES "+display(relKey(fk.Pktable)))
	}
	if notNull && !hasDefault && !generatedOrIdentity {
		c.addAt(cd.Location, RuleRequiredField, obj, "ADD COLUMN "+obj+" NOT NULL without DEFAULT")
	}
}

func (c *checker) alterType(key string, cmd *pg.AlterTableCmd) {
	cd := cmd.Def.GetColumnDef()
	if cd == nil {
		return
	}
	obj := display(key) + "." + cmd.Name
	to := typeOf(cd.TypeName)
	var from colType
	if t, ok := c.l.cat.tables[key]; ok {
		if col, ok := t.columns[cmd.Name]; ok {
			from = col.typ
		}
	}
	switch {
	case cd.RawDefault != nil: // USING expr
		c.add(RuleColumnType, obj, "ALTER COLUMN "+obj+" TYPE "+to.String()+" USING ...")
	case cd.CollClause != nil:
		c.add(RuleColumnType, obj, "ALTER COLUMN "+obj+" TYPE "+to.String()+" COLLATE ...")
	case !from.known:
		c.add(RuleColumnType, obj, "ALTER COLUMN "+obj+" TYPE "+to.String()+" (its current type is not in the migrations read, so the change cannot be proven binary-compatible)")
	case !binaryCompatible(from, to):
		c.add(RuleColumnType, obj, "ALTER COLUMN "+obj+" TYPE "+from.String()+" -> "+to.String())
	}
}

// binaryCompatible reports whether PostgreSQL 15 changes the type without
// rewriting the table: the new type reads the old bytes as they are and no
// check of the existing values is needed (ATColumnChangeRequiresRewrite).
func binaryCompatible(from, to colType) bool {
	if from.array != to.array {
		return false
	}
	if from.name == to.name && slices.Equal(from.mods, to.mods) {
		return true
	}
	widens := func() bool { // no limit, or a limit at least as large
		return len(to.mods) == 0 || (len(from.mods) > 0 && to.mods[0] >= from.mods[0])
	}
	switch {
	case from.name == "varchar" && to.name == "text":
		return true
	case from.name == "varchar" && to.name == "varchar":
		return widens()
	case from.name == "text" && to.name == "varchar":
		return len(to.mods) == 0
	case from.name == "varbit" && to.name == "varbit":
		return widens()
	case from.name == "numeric" && to.name == "numeric":
		if len(to.mods) == 0 {
			return true
		}
		scale := func(m []int64) int64 {
			if len(m) > 1 {
				return m[1]
			}
			return 0
		}
		return len(from.mods) > 0 && to.mods[0] >= from.mods[0] && scale(to.mods) == scale(from.mods)
	case from.name == to.name && slices.Contains([]string{"timestamp", "timestamptz", "time", "timetz"}, from.name):
		return widens() && (len(from.mods) > 0 || len(to.mods) == 0)
	case from.name == "cidr" && to.name == "inet":
		return true
	}
	return false
}

func (c *checker) addConstraint(key string, k *pg.Constraint) {
	tbl := display(key)
	name := k.Conname
	obj := tbl
	if name != "" {
		obj = tbl + "." + name
	}
	switch k.Contype {
	case pg.ConstrType_CONSTR_CHECK:
		if !k.SkipValidation {
			c.add(RuleCheckNotValid, obj, "ADD CONSTRAINT "+nameOr(name, "CHECK")+" without NOT VALID")
		}
	case pg.ConstrType_CONSTR_FOREIGN:
		if !k.SkipValidation {
			c.add(RuleForeignKey, obj, "ADD CONSTRAINT "+nameOr(name, "FOREIGN KEY")+" REFERENCES "+display(relKey(k.Pktable))+" without NOT VALID")
		}
	case pg.ConstrType_CONSTR_PRIMARY:
		if k.Indexname == "" {
			c.add(RulePrimaryKey, obj, "ADD PRIMARY KEY on "+tbl)
		}
	case pg.ConstrType_CONSTR_UNIQUE:
		if k.Indexname == "" {
			c.add(RuleUnique, obj, "ADD UNIQUE on "+tbl)
		}
	case pg.ConstrType_CONSTR_EXCLUSION:
		c.add(RuleUnique, obj, "ADD EXCLUDE on "+tbl)
	}
}

func nameOr(name, alt string) string {
	if name == "" {
		return alt
	}
	return name
}

func (c *checker) createIndex(ix *pg.IndexStmt) {
	key := relKey(ix.Relation)
	tbl := display(key)
	cat, st := c.l.cat, c.st
	name := nameOr(ix.Idxname, "index")
	if ix.Concurrent && st.inTx() {
		c.add(RuleNoTransaction, tbl, "CREATE INDEX CONCURRENTLY "+name)
	}
	partitionedOnly := !ix.Relation.Inh // ON ONLY: the invalid parent index of a per-partition build
	if t, ok := cat.tables[key]; ok && !t.partitioned {
		partitionedOnly = false // ON ONLY a plain table still builds the whole index
	}
	if !ix.Concurrent && !cat.isNew(key, st.no) && !partitionedOnly {
		c.add(RuleIndexConcurrently, tbl, "CREATE INDEX "+name+" ON "+tbl)
	}
	var exprs []*pg.Node
	for _, p := range ix.IndexParams {
		if e := p.GetIndexElem(); e != nil && e.Expr != nil {
			exprs = append(exprs, e.Expr)
		}
	}
	if ix.WhereClause != nil {
		exprs = append(exprs, ix.WhereClause)
	}
	for _, e := range exprs {
		if v, fn := c.l.volatility(e); v != 'i' && v != 'u' {
			c.add(RuleMutableIndexExpr, name, "index "+name+" uses "+fn+"()")
		}
	}
}

func (c *checker) drop(d *pg.DropStmt) {
	cat, st := c.l.cat, c.st
	switch d.RemoveType {
	case pg.ObjectType_OBJECT_TABLE:
		for _, o := range d.Objects {
			key := qualified(o.GetList().GetItems())
			c.versionTable(key)
			if !st.f.Down && !cat.isNew(key, st.no) {
				c.add(RuleDropTable, display(key), "DROP TABLE "+display(key))
			}
		}
	case pg.ObjectType_OBJECT_INDEX:
		for _, o := range d.Objects {
			key := qualified(o.GetList().GetItems())
			if d.Concurrent && st.inTx() {
				c.add(RuleNoTransaction, display(key), "DROP INDEX CONCURRENTLY "+display(key))
			}
			ix, known := cat.indexes[key]
			if d.Concurrent || (known && (ix.file == st.no || cat.isNew(ix.table, st.no))) {
				continue
			}
			c.add(RuleDropIndexConcurrently, display(key), "DROP INDEX "+display(key))
		}
	}
}

func (c *checker) reindex(r *pg.ReindexStmt) {
	concurrent := false
	for _, p := range r.Params {
		if de := p.GetDefElem(); de != nil && de.Defname == "concurrently" {
			concurrent = defElemBool(de)
		}
	}
	target := r.Name
	if r.Relation != nil {
		target = display(relKey(r.Relation))
	}
	if concurrent && c.st.inTx() {
		c.add(RuleNoTransaction, target, "REINDEX ... CONCURRENTLY")
	}
	if !concurrent {
		if r.Relation != nil {
			key := relKey(r.Relation)
			if c.l.cat.isNew(key, c.st.no) {
				return
			}
			if ix, ok := c.l.cat.indexes[key]; ok && (ix.file == c.st.no || c.l.cat.isNew(ix.table, c.st.no)) {
				return
			}
		}
		c.add(RuleReindexConcurrently, target, "REINDEX "+target)
	}
}

// defElemBool reads an option such as (CONCURRENTLY) or (CONCURRENTLY false).
func defElemBool(de *pg.DefElem) bool {
	if de.Arg == nil {
		return true
	}
	if b := de.Arg.GetBoolean(); b != nil {
		return b.Boolval
	}
	if s := de.Arg.GetString_(); s != nil {
		return s.Sval != "false" && s.Sval != "off" && s.Sval != "0"
	}
	if i := de.Arg.GetInteger(); i != nil {
		return i.Ival != 0
	}
	return true
}

func (c *checker) vacuum(v *pg.VacuumStmt) {
	if !v.IsVacuumcmd {
		return // ANALYZE runs fine in a transaction and takes a weak lock
	}
	if c.st.inTx() {
		c.add(RuleNoTransaction, "", "VACUUM")
	}
	for _, o := range v.Options {
		if de := o.GetDefElem(); de != nil && de.Defname == "full" && defElemBool(de) {
			target := ""
			if len(v.Rels) > 0 {
				if vr := v.Rels[0].GetVacuumRelation(); vr != nil {
					target = display(relKey(vr.Relation))
				}
			}
			c.add(RuleVacuumFull, target, "VACUUM FULL "+target)
		}
	}
}

func (c *checker) rename(r *pg.RenameStmt) {
	if c.st.f.Down {
		return
	}
	key := relKey(r.Relation)
	if c.l.cat.isNew(key, c.st.no) {
		return
	}
	switch r.RenameType {
	case pg.ObjectType_OBJECT_TABLE:
		c.add(RuleRenameTable, display(key), "RENAME "+display(key)+" TO "+r.Newname)
	case pg.ObjectType_OBJECT_COLUMN:
		if r.RelationType == pg.ObjectType_OBJECT_TABLE {
			c.add(RuleRenameColumn, display(key)+"."+r.Subname, "RENAME COLUMN "+display(key)+"."+r.Subname+" TO "+r.Newname)
		}
	}
}

func (c *checker) alterDomain(d *pg.AlterDomainStmt) {
	name := qualified(d.TypeName)
	if file, ok := c.l.cat.domains[name]; ok && file == c.st.no {
		return // a domain created in this file is used by no table yet
	}
	switch d.Subtype {
	case "C": // ADD CONSTRAINT
		if k := d.Def.GetConstraint(); k != nil && !k.SkipValidation {
			c.add(RuleDomainConstraint, display(name), "ALTER DOMAIN "+display(name)+" ADD CONSTRAINT")
		}
	case "V": // VALIDATE CONSTRAINT
		c.add(RuleDomainConstraint, display(name), "ALTER DOMAIN "+display(name)+" VALIDATE CONSTRAINT")
	}
}

// enumUse flags a later statement of the same transaction that uses a value
// added by ALTER TYPE ... ADD VALUE: a string constant equal to the new value,
// unless it is explicitly cast to another type.
func (c *checker) enumUse(n *pg.Node) {
	if n.GetAlterEnumStmt() != nil {
		return
	}
	casts := map[*pg.A_Const]string{} // constant -> type it is cast to
	pg.Walk(n, func(x *pg.Node) bool {
		if tc := x.GetTypeCast(); tc != nil {
			if k := tc.Arg.GetAConst(); k != nil {
				casts[k] = qualified(tc.TypeName.GetNames())
			}
		}
		return true
	})
	pg.Walk(n, func(x *pg.Node) bool {
		k := x.GetAConst()
		if k == nil || k.GetSval() == nil {
			return true
		}
		typ, ok := c.st.enumValues[k.GetSval().Sval]
		if !ok {
			return true
		}
		if castTo, cast := casts[k]; cast && castTo != typ {
			return true
		}
		c.add(RuleEnumValueSameTx, display(typ), fmt.Sprintf("'%s' was added to %s earlier in this transaction", k.GetSval().Sval, display(typ)))
		return true
	})
}

// volatility returns the least stable function an expression calls: 'v'
// volatile, 'u' unknown (treated as volatile), 's' stable, 'i' immutable;
// and that function's name.
func (l *linter) volatility(expr *pg.Node) (byte, string) {
	worst, name := byte('i'), ""
	rank := map[byte]int{'i': 0, 's': 1, 'u': 2, 'v': 3}
	if expr == nil {
		return worst, name
	}
	pg.Walk(expr, func(n *pg.Node) bool {
		var v byte
		var fn string
		switch {
		case n.GetFuncCall() != nil:
			names := strList(n.GetFuncCall().Funcname)
			fn = strings.Join(names, ".")
			v = l.funcVolatility(names)
		case n.GetSqlvalueFunction() != nil:
			fn, v = strings.TrimPrefix(n.GetSqlvalueFunction().Op.String(), "SVFOP_"), 's'
		default:
			return true
		}
		if rank[v] > rank[worst] {
			worst, name = v, fn
		}
		return true
	})
	return worst, name
}

func (l *linter) funcVolatility(names []string) byte {
	if len(names) == 0 {
		return 'u'
	}
	fn := names[len(names)-1]
	schema := ""
	if len(names) > 1 {
		schema = names[len(names)-2]
	}
	if v, ok := l.cat.funcs[qualifiedName(schema, fn)]; ok {
		return v
	}
	if schema == "" || schema == "pg_catalog" {
		if v, ok := builtinVolatility(fn); ok {
			return v
		}
	}
	return 'u'
}

func qualifiedName(schema, name string) string {
	if schema == "" {
		schema = "public"
	}
	return schema + "." + name
}
