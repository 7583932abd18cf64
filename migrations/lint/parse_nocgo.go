//go:build !cgo

package lint

import (
	"errors"

	"github.com/wasilibs/go-pgquery/parser"

	pg "github.com/quantx/quantx-db/migrations/lint/internal/pgtree"
)

// parseTree calls libpg_query compiled to WebAssembly, for builds without
// cgo: the same grammar and output, but about 2 s slower per process because
// wazero compiles the module on first use (see the package doc).
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
