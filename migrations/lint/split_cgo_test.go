//go:build cgo

package lint

import (
	"io/fs"
	"reflect"
	"testing"

	pg "github.com/pganalyze/pg_query_go/v6"
	"github.com/pganalyze/pg_query_go/v6/parser"
	wasm "github.com/wasilibs/go-pgquery/parser"

	"github.com/quantx/quantx-db/migrations"
	"github.com/quantx/quantx-db/migrations/lint/internal/pgtree"
)

// libpg_query's own scanner-based splitter, for comparison with the engine's
// lexer (BenchmarkSplitLexer); it exists only in the cgo binding.
func BenchmarkSplitScanner(b *testing.B) {
	sql := benchFile()
	for b.Loop() {
		if _, err := pg.SplitWithScanner(sql, true); err != nil {
			b.Fatal(err)
		}
	}
}

// TestWasmParserAgrees: the fallback used by builds without cgo
// (go-pgquery, libpg_query compiled to WebAssembly) writes the same parse
// tree as the cgo binding, for every shipped and corpus file: both JSON
// outputs decode to equal trees, or both parsers report the same error.
func TestWasmParserAgrees(t *testing.T) {
	setup, cases := loadCorpus(t)
	files := map[string]string{"setup.sql": setup}
	for _, c := range cases {
		files[c.path] = c.sql
	}
	src := migrations.Files()
	names, _ := fs.Glob(src, "*.sql")
	for _, n := range names {
		b, _ := fs.ReadFile(src, n)
		files[n] = string(b)
	}
	for name, sql := range files {
		jsA, errA := parser.ParseToJSON(sql)
		jsB, errB := wasm.ParseToJSON(sql)
		if (errA == nil) != (errB == nil) || (errA != nil && errA.Error() != errB.Error()) {
			t.Errorf("%s: cgo error %v, wasm error %v", name, errA, errB)
			continue
		}
		if errA != nil {
			continue
		}
		a, errA := pgtree.DecodeJSON(jsA)
		b, errB := pgtree.DecodeJSON(jsB)
		if errA != nil || errB != nil {
			t.Errorf("%s: decoding: cgo %v, wasm %v", name, errA, errB)
			continue
		}
		// The wasm build embeds a slightly older libpg_query 17 that does not
		// fill DefElem.arg_location yet; positions are not what rules read.
		if !equalTrees(reflect.ValueOf(a), reflect.ValueOf(b)) {
			t.Errorf("%s: the two parsers return different trees", name)
		}
	}
}
