package lint

import (
	_ "embed"
	"strconv"
	"strings"

	pg "github.com/quantx/quantx-db/migrations/lint/internal/pgtree"
)

// catalog is what the files read so far have created. Names are
// "schema.name" with an unqualified name taken as public (the search_path
// quantx-db migrates with). An object records the file that created it.
type catalog struct {
	tables      map[string]*table
	indexes     map[string]*index
	constraints map[string]*constraint // "schema.table|constraint"
	domains     map[string]int         // name -> file that created it
	enums       map[string]int
	funcs       map[string]byte // user functions: name -> 'v', 's' or 'i'
}

type table struct {
	file        int
	partitioned bool
	columns     map[string]*column
}

type column struct {
	typ     colType
	notNull bool
	file    int // file that added the column
}

type index struct {
	table string
	file  int
}

type constraint struct {
	table     string
	notNullOf string // the column that CHECK (col IS NOT NULL) covers, if that is what it checks
	valid     bool
	file      int
}

func newCatalog() *catalog {
	return &catalog{tables: map[string]*table{}, indexes: map[string]*index{}, constraints: map[string]*constraint{},
		domains: map[string]int{}, enums: map[string]int{}, funcs: map[string]byte{}}
}

// colType is a column type as written: its last name ("varchar", "int4", "my_enum"),
// whether it is a pg_catalog type, its modifiers and whether it is an array.
type colType struct {
	name    string
	builtin bool
	mods    []int64
	array   bool
	known   bool
}

func typeOf(tn *pg.TypeName) colType {
	if tn == nil {
		return colType{}
	}
	names := strList(tn.Names)
	t := colType{known: len(names) > 0, array: len(tn.ArrayBounds) > 0}
	if len(names) > 0 {
		t.name = names[len(names)-1]
		t.builtin = len(names) == 2 && names[0] == "pg_catalog"
	}
	for _, m := range tn.Typmods {
		if c := m.GetAConst(); c != nil && c.GetIval() != nil {
			t.mods = append(t.mods, int64(c.GetIval().Ival))
		} else {
			t.mods = append(t.mods, -1) // not a constant: never equal to anything
		}
	}
	return t
}

func (t colType) String() string {
	s := t.name
	if len(t.mods) > 0 {
		parts := make([]string, len(t.mods))
		for i, m := range t.mods {
			parts[i] = strconv.FormatInt(m, 10)
		}
		s += "(" + strings.Join(parts, ",") + ")"
	}
	if t.array {
		s += "[]"
	}
	return s
}

// strList returns the String values of a name list (schema, name).
func strList(ns []*pg.Node) []string {
	out := make([]string, 0, len(ns))
	for _, n := range ns {
		if s := n.GetString_(); s != nil {
			out = append(out, s.Sval)
		}
	}
	return out
}

// qualified joins a possibly qualified name list as "schema.name".
func qualified(ns []*pg.Node) string {
	parts := strList(ns)
	switch len(parts) {
	case 0:
		return ""
	case 1:
		return "public." + parts[0]
	}
	return parts[len(parts)-2] + "." + parts[len(parts)-1]
}

func relKey(rv *pg.RangeVar) string {
	if rv == nil {
		return ""
	}
	schema := rv.Schemaname
	if schema == "" {
		schema = "public"
	}
	return schema + "." + rv.Relname
}

// display drops the public. prefix for messages.
func display(key string) string { return strings.TrimPrefix(key, "public.") }

// isNew reports whether the table was created by the file being read: then it
// is empty and nothing else can be using it yet.
func (c *catalog) isNew(key string, file int) bool {
	t, ok := c.tables[key]
	return ok && t.file == file
}

// notNullProven reports whether the column is already NOT NULL or a valid
// CHECK constraint proves it, so SET NOT NULL skips the table scan.
func (c *catalog) notNullProven(tbl, col string) bool {
	if t, ok := c.tables[tbl]; ok {
		if cl, ok := t.columns[col]; ok && cl.notNull {
			return true
		}
	}
	for _, k := range c.constraints {
		if k.table == tbl && k.notNullOf == col && k.valid {
			return true
		}
	}
	return false
}

// notNullColumn returns the column a CHECK expression proves NOT NULL: "col IS
// NOT NULL", alone or as one operand of a top-level AND (PostgreSQL's
// predicate test accepts both).
func notNullColumn(expr *pg.Node) string {
	if expr == nil {
		return ""
	}
	if nt := expr.GetNullTest(); nt != nil && nt.Nulltesttype == pg.NullTestType_IS_NOT_NULL {
		if cr := nt.Arg.GetColumnRef(); cr != nil && len(cr.Fields) == 1 {
			if s := cr.Fields[0].GetString_(); s != nil {
				return s.Sval
			}
		}
	}
	if be := expr.GetBoolExpr(); be != nil && be.Boolop == pg.BoolExprType_AND_EXPR {
		for _, a := range be.Args {
			if col := notNullColumn(a); col != "" {
				return col
			}
		}
	}
	return ""
}

//go:embed pg_functions.txt
var pgFunctions string

// builtinVolatility returns the volatility of the least stable overload of a
// pg_catalog function (pg_functions.txt, generated from PostgreSQL 15; a test
// keeps it equal to the server's pg_proc). It binary-searches the embedded
// text, sorted by name in byte order, so that no table is built per process.
func builtinVolatility(name string) (byte, bool) {
	body := pgFunctions
	for strings.HasPrefix(body, "#") {
		_, body, _ = strings.Cut(body, "\n")
	}
	lo, hi := 0, len(body) // byte offsets of line starts
	for lo < hi {
		start := strings.LastIndexByte(body[:(lo+hi)/2], '\n') + 1
		line, _, _ := strings.Cut(body[start:], "\n")
		end := start + len(line) + 1
		n, v, _ := strings.Cut(line, " ")
		switch {
		case n == name && v != "":
			return v[0], true
		case n < name:
			lo = end
		default:
			hi = start
		}
	}
	return 0, false
}
