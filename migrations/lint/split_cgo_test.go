//go:build cgo

package lint

import (
	"io/fs"
	"strings"
	"testing"

	pg "github.com/pganalyze/pg_query_go/v6"
	pgquery "github.com/wasilibs/go-pgquery"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"

	"github.com/quantx/quantx-db/migrations"
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
// (go-pgquery, libpg_query compiled to WebAssembly) returns the same parse
// tree as the cgo binding, for every shipped and corpus file.
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
		a, errA := pg.Parse(sql)
		b, errB := pgquery.Parse(sql)
		if (errA == nil) != (errB == nil) || (errA != nil && errA.Error() != errB.Error()) {
			t.Errorf("%s: cgo error %v, wasm error %v", name, errA, errB)
			continue
		}
		if errA != nil {
			continue
		}
		// The wasm build embeds a slightly older libpg_query 17 that does not
		// fill DefElem.arg_location yet; positions are not what rules read.
		clearLocations(a.ProtoReflect())
		clearLocations(b.ProtoReflect())
		if !proto.Equal(a, b) {
			t.Errorf("%s: the two parsers return different trees", name)
		}
	}
}

func clearLocations(m protoreflect.Message) {
	m.Range(func(fd protoreflect.FieldDescriptor, v protoreflect.Value) bool {
		switch {
		case strings.HasSuffix(string(fd.Name()), "location"):
			m.Clear(fd)
		case fd.IsList() && fd.Message() != nil:
			for i := 0; i < v.List().Len(); i++ {
				clearLocations(v.List().Get(i).Message())
			}
		case fd.Message() != nil && !fd.IsMap():
			clearLocations(v.Message())
		}
		return true
	})
}
