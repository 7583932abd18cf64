//go:build !cgo

package lint

import (
	"errors"

	pg "github.com/pganalyze/pg_query_go/v6"
	pgquery "github.com/wasilibs/go-pgquery"
	"github.com/wasilibs/go-pgquery/parser"
)

// parseTree calls libpg_query compiled to WebAssembly, for builds without
// cgo: the same grammar and tree, but about 2 s slower per process because
// wazero compiles the module on first use (see the package doc).
func parseTree(sql string) (*pg.ParseResult, *parseError) {
	tree, err := pgquery.Parse(sql)
	if err == nil {
		return tree, nil
	}
	var pe *parser.Error
	if errors.As(err, &pe) {
		return nil, &parseError{msg: pe.Message, pos: pe.Cursorpos}
	}
	return nil, &parseError{msg: err.Error()}
}
