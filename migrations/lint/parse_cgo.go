//go:build cgo

package lint

import (
	"errors"

	pg "github.com/pganalyze/pg_query_go/v6"
	"github.com/pganalyze/pg_query_go/v6/parser"
)

// parseTree calls libpg_query through cgo (see the package doc for the choice).
func parseTree(sql string) (*pg.ParseResult, *parseError) {
	tree, err := pg.Parse(sql)
	if err == nil {
		return tree, nil
	}
	var pe *parser.Error
	if errors.As(err, &pe) {
		return nil, &parseError{msg: pe.Message, pos: pe.Cursorpos}
	}
	return nil, &parseError{msg: err.Error()}
}
