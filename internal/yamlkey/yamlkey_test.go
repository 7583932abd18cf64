package yamlkey

import (
	"testing"

	"go.yaml.in/yaml/v3"
)

func TestExplainAndLine(t *testing.T) {
	src := "a: 1\nb:\n  c: x\n  d:\n    - 1\n    - 2\ne: [1, 2]\n"
	var doc yaml.Node
	if err := yaml.Unmarshal([]byte(src), &doc); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct{ msg, want string }{
		{"line 3: cannot unmarshal !!str `x` into int", `line 3: b.c: "x" is not a whole number`},
		{"line 1: cannot unmarshal !!int `1` into bool", `line 1: a: "1" is not true or false`},
		{"line 5: cannot unmarshal !!seq into string", `line 5: b.d: a list is not a string`},
		{"line 7: cannot unmarshal !!seq into map[string]string", `line 7: e: a list is not key: value lines`},
		{"yaml: line 3: something else", `line 3: b.c: something else`},
		{"no line here", "no line here"},
	} {
		if got := Explain(&doc, tc.msg); got != tc.want {
			t.Errorf("Explain(%q) = %q, want %q", tc.msg, got, tc.want)
		}
	}
	for path, want := range map[string]int{"a": 1, "b": 2, "b.c": 3, "b.d": 4, "b.nope": 2, "zz": 0} {
		if got := Line(&doc, path); got != want {
			t.Errorf("Line(%q) = %d, want %d", path, got, want)
		}
	}
}
