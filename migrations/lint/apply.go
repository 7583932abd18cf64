package lint

import (
	pg "github.com/quantx/quantx-db/migrations/lint/internal/pgtree"
)

// apply records what a statement creates, changes or drops in the model.
// Down files are checked but never applied: the model stays that of the up
// files, which is what each down file runs against.
func (l *linter) apply(st *fileState, s stmt) {
	if st.f.Down {
		return
	}
	cat := l.cat
	n := s.node
	switch {
	case n.GetCreateStmt() != nil:
		cs := n.GetCreateStmt()
		key := relKey(cs.Relation)
		if cs.IfNotExists {
			if _, exists := cat.tables[key]; exists {
				return
			}
		}
		t := &table{file: st.no, partitioned: cs.Partspec != nil, columns: map[string]*column{}}
		cat.tables[key] = t
		for _, e := range cs.TableElts {
			switch {
			case e.GetColumnDef() != nil:
				l.addColumn(st, key, e.GetColumnDef())
			case e.GetConstraint() != nil:
				l.addConstraint(st, key, e.GetConstraint(), true)
			}
		}
	case n.GetCreateTableAsStmt() != nil:
		if into := n.GetCreateTableAsStmt().Into; into != nil {
			cat.tables[relKey(into.Rel)] = &table{file: st.no, columns: map[string]*column{}}
		}
	case n.GetAlterTableStmt() != nil:
		at := n.GetAlterTableStmt()
		if at.Objtype != pg.ObjectType_OBJECT_TABLE {
			return
		}
		key := relKey(at.Relation)
		for _, cn := range at.Cmds {
			cmd := cn.GetAlterTableCmd()
			if cmd == nil {
				continue
			}
			l.alterCmd(st, key, cmd)
		}
	case n.GetIndexStmt() != nil:
		ix := n.GetIndexStmt()
		if ix.Idxname != "" {
			schema := ix.Relation.Schemaname
			cat.indexes[qualifiedName(schema, ix.Idxname)] = &index{table: relKey(ix.Relation), file: st.no}
		}
	case n.GetDropStmt() != nil:
		d := n.GetDropStmt()
		for _, o := range d.Objects {
			key := qualified(o.GetList().GetItems())
			switch d.RemoveType {
			case pg.ObjectType_OBJECT_TABLE:
				delete(cat.tables, key)
			case pg.ObjectType_OBJECT_INDEX:
				delete(cat.indexes, key)
			}
		}
	case n.GetRenameStmt() != nil:
		r := n.GetRenameStmt()
		key := relKey(r.Relation)
		switch r.RenameType {
		case pg.ObjectType_OBJECT_TABLE:
			if t, ok := cat.tables[key]; ok {
				delete(cat.tables, key)
				cat.tables[qualifiedName(r.Relation.Schemaname, r.Newname)] = t
			}
		case pg.ObjectType_OBJECT_COLUMN:
			if t, ok := cat.tables[key]; ok {
				if c, ok := t.columns[r.Subname]; ok {
					delete(t.columns, r.Subname)
					t.columns[r.Newname] = c
				}
			}
		}
	case n.GetCreateDomainStmt() != nil:
		cat.domains[qualified(n.GetCreateDomainStmt().Domainname)] = st.no
	case n.GetCreateEnumStmt() != nil:
		cat.enums[qualified(n.GetCreateEnumStmt().TypeName)] = st.no
	case n.GetAlterEnumStmt() != nil:
		ae := n.GetAlterEnumStmt()
		if ae.NewVal != "" && ae.OldVal == "" {
			st.enumValues[ae.NewVal] = qualified(ae.TypeName)
		}
	case n.GetCreateFunctionStmt() != nil:
		cf := n.GetCreateFunctionStmt()
		v := byte('v') // PostgreSQL's default
		for _, o := range cf.Options {
			if de := o.GetDefElem(); de != nil && de.Defname == "volatility" {
				if s := de.Arg.GetString_(); s != nil && s.Sval != "" {
					v = s.Sval[0]
				}
			}
		}
		cat.funcs[qualified(cf.Funcname)] = v
	}
}

func (l *linter) addColumn(st *fileState, key string, cd *pg.ColumnDef) {
	t, ok := l.cat.tables[key]
	if !ok {
		return
	}
	col := &column{typ: typeOf(cd.TypeName), notNull: cd.IsNotNull, file: st.no}
	for _, kn := range cd.Constraints {
		k := kn.GetConstraint()
		if k == nil {
			continue
		}
		switch k.Contype {
		case pg.ConstrType_CONSTR_NOTNULL, pg.ConstrType_CONSTR_PRIMARY, pg.ConstrType_CONSTR_IDENTITY:
			col.notNull = true
		}
	}
	t.columns[cd.Colname] = col
}

// addConstraint records a table constraint. In CREATE TABLE every constraint
// is valid (NOT VALID is ignored there); PRIMARY KEY makes its columns NOT NULL.
func (l *linter) addConstraint(st *fileState, key string, k *pg.Constraint, inCreate bool) {
	if k.Contype == pg.ConstrType_CONSTR_PRIMARY {
		if t, ok := l.cat.tables[key]; ok {
			for _, kn := range k.Keys {
				if s := kn.GetString_(); s != nil {
					if c, ok := t.columns[s.Sval]; ok {
						c.notNull = true
					}
				}
			}
		}
	}
	if k.Conname == "" {
		return
	}
	valid := inCreate || !k.SkipValidation
	l.cat.constraints[key+"|"+k.Conname] = &constraint{table: key, notNullOf: notNullColumn(k.RawExpr), valid: valid, file: st.no}
	if !valid {
		st.notValidHere[k.Conname] = key
	}
}

func (l *linter) alterCmd(st *fileState, key string, cmd *pg.AlterTableCmd) {
	cat := l.cat
	t := cat.tables[key]
	switch cmd.Subtype {
	case pg.AlterTableType_AT_AddColumn:
		if cd := cmd.Def.GetColumnDef(); cd != nil {
			l.addColumn(st, key, cd)
		}
	case pg.AlterTableType_AT_DropColumn:
		if t != nil {
			delete(t.columns, cmd.Name)
		}
	case pg.AlterTableType_AT_SetNotNull:
		if t != nil && t.columns[cmd.Name] != nil {
			t.columns[cmd.Name].notNull = true
		}
	case pg.AlterTableType_AT_DropNotNull:
		if t != nil && t.columns[cmd.Name] != nil {
			t.columns[cmd.Name].notNull = false
		}
	case pg.AlterTableType_AT_AlterColumnType:
		if cd := cmd.Def.GetColumnDef(); cd != nil && t != nil && t.columns[cmd.Name] != nil {
			t.columns[cmd.Name].typ = typeOf(cd.TypeName)
		}
	case pg.AlterTableType_AT_AddConstraint:
		if k := cmd.Def.GetConstraint(); k != nil {
			l.addConstraint(st, key, k, false)
		}
	case pg.AlterTableType_AT_ValidateConstraint:
		if k, ok := cat.constraints[key+"|"+cmd.Name]; ok {
			k.valid = true
		}
		st.validatedHere[key+"|"+cmd.Name] = true
	case pg.AlterTableType_AT_DropConstraint:
		delete(cat.constraints, key+"|"+cmd.Name)
	}
}
