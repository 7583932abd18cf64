//go:build cgo

package lint

import (
	"errors"

	"github.com/pganalyze/pg_query_go/v6/parser"

	pg "github.com/quantx/quantx-db/migrations/lint/internal/pgtree"
)

// parseTree calls libpg_query through cgo (see the package doc for the
// choice) and decodes the tree it writes as JSON (package pgtree says why
// not protobuf).
func parseTree(sql string) (*pg.ParseResult, *parseError) {
	js, err := parser.ParseToJSON(sql)
	if err != nil {
		var pe *parser.Error
		if errors.As(err, &pe) {
			return nil, &parseError{msg: pe.Message, pos: pe.Cursorpos}
		}
		return nil, &parseError{msg: err.Error()}
	}
	tree, err := pg.DecodeJSON(js)
	if err != nil {
		return nil, &parseError{msg: err.Error()}
	}
	return tree, nil
}
