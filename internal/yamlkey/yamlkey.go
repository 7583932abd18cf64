// Package yamlkey names the key behind a line of a YAML document and the line
// of a key, so that errors in quantx-db's YAML files (the config file, the
// retention policy) say which key is wrong and where, as yaml.v3 alone does
// not: its type errors name a line and a Go type, never the key.
package yamlkey

import (
	"errors"
	"fmt"
	"regexp"
	"strconv"
	"strings"

	"go.yaml.in/yaml/v3"
)

// At returns the dotted path of the key on line, or of the key whose value
// starts on line ("postgres.orders.keep"), or "" when none is.
func At(doc *yaml.Node, line int) string {
	return find(doc, true, func(k, v *yaml.Node) bool {
		if k == nil { // an item of a list: a scalar on line
			return v.Line == line && v.Kind == yaml.ScalarNode
		}
		return k.Line == line || v.Line == line
	})
}

// collectionAt returns the dotted path of the key whose value is a mapping or
// a list starting on line.
func collectionAt(doc *yaml.Node, line int) string {
	return find(doc, false, func(k, v *yaml.Node) bool {
		return k != nil && (v.Kind == yaml.MappingNode || v.Kind == yaml.SequenceNode) && v.Line == line
	})
}

// find returns the path ("a.b[2].c") of the first key/value pair of doc, or
// list item (key nil), for which match holds: with innermost, a match inside
// a value is preferred to the pair that holds it; without, the outer pair.
func find(doc *yaml.Node, innermost bool, match func(key, value *yaml.Node) bool) string {
	var walk func(n *yaml.Node, path string) string
	visit := func(k, v *yaml.Node, p string) string {
		if !innermost && match(k, v) {
			return p
		}
		if deeper := walk(v, p); deeper != "" {
			return deeper
		}
		if innermost && match(k, v) {
			return p
		}
		return ""
	}
	walk = func(n *yaml.Node, path string) string {
		switch n.Kind {
		case yaml.DocumentNode:
			for _, c := range n.Content {
				if p := walk(c, path); p != "" {
					return p
				}
			}
		case yaml.MappingNode:
			for i := 0; i+1 < len(n.Content); i += 2 {
				k, v := n.Content[i], n.Content[i+1]
				p := k.Value
				if path != "" {
					p = path + "." + k.Value
				}
				if found := visit(k, v, p); found != "" {
					return found
				}
			}
		case yaml.SequenceNode:
			for i, c := range n.Content {
				if found := visit(nil, c, fmt.Sprintf("%s[%d]", path, i)); found != "" {
					return found
				}
			}
		}
		return ""
	}
	return walk(doc, "")
}

// Line returns the line of the key at the dotted path, or, when it is
// missing, of its deepest ancestor that is there (0: none).
func Line(doc *yaml.Node, path string) int {
	n := doc
	if n != nil && n.Kind == yaml.DocumentNode && len(n.Content) > 0 {
		n = n.Content[0]
	}
	line := 0
	for _, part := range strings.Split(path, ".") {
		if n == nil || n.Kind != yaml.MappingNode {
			break
		}
		var next *yaml.Node
		for i := 0; i+1 < len(n.Content); i += 2 {
			if n.Content[i].Value == part {
				line, next = n.Content[i].Line, n.Content[i+1]
				break
			}
		}
		if next == nil {
			break
		}
		n = next
	}
	return line
}

var (
	lineRE = regexp.MustCompile(`^(?:yaml: )?(?:unmarshal errors:\s*)?line (\d+): (.*)$`)
	typeRE = regexp.MustCompile("^cannot unmarshal !!(\\w+) (?:`(.*)` )?into (.+)$")
)

// Explain rewrites one error of yaml.v3 (a line of a *yaml.TypeError, or the
// error of an UnmarshalYAML method that starts with "line N: ") so that it
// names the key: `line 3: s3_tls: "maybe" is not true or false`. Messages
// without a line are returned as they are.
func Explain(doc *yaml.Node, msg string) string {
	m := lineRE.FindStringSubmatch(strings.TrimSpace(msg))
	if m == nil {
		return msg
	}
	line, _ := strconv.Atoi(m[1])
	rest := m[2]
	key := ""
	if t := typeRE.FindStringSubmatch(rest); t != nil {
		rest = typeProblem(t[1], t[2], t[3])
		if t[1] == "map" || t[1] == "seq" { // the line is the collection's first entry: its key is the parent
			key = collectionAt(doc, line)
		}
	}
	if key == "" {
		key = At(doc, line)
	}
	if key != "" && !strings.HasPrefix(rest, key+":") {
		return fmt.Sprintf("line %d: %s: %s", line, key, rest)
	}
	return fmt.Sprintf("line %d: %s", line, rest)
}

// ExplainAll is Explain for every problem of err (a *yaml.TypeError lists
// one per line), joined with "; ".
func ExplainAll(doc *yaml.Node, err error) string {
	var te *yaml.TypeError
	if errors.As(err, &te) {
		out := make([]string, len(te.Errors))
		for i, e := range te.Errors {
			out[i] = Explain(doc, e)
		}
		return strings.Join(out, "; ")
	}
	return Explain(doc, err.Error())
}

// typeProblem says in words what yaml.v3 says in Go types.
func typeProblem(tag, value, goType string) string {
	got := "a " + map[string]string{"map": "mapping (key: value lines)", "seq": "list", "str": "string", "int": "number",
		"float": "number", "bool": "boolean", "null": "null", "timestamp": "timestamp"}[tag]
	if got == "a " {
		got = "!!" + tag
	}
	if value != "" {
		got = strconv.Quote(value)
	}
	want := goType
	switch {
	case goType == "bool":
		want = "true or false"
	case strings.HasPrefix(goType, "int") || strings.HasPrefix(goType, "uint"):
		want = "a whole number"
	case strings.HasPrefix(goType, "float"):
		want = "a number"
	case goType == "string" || strings.HasSuffix(goType, ".DSN") || strings.HasSuffix(goType, ".Secret"):
		want = "a string"
	case strings.HasPrefix(goType, "[]"):
		want = "a list"
	case strings.HasPrefix(goType, "map[") || strings.Contains(goType, "."):
		want = "key: value lines" // a map, or one of our structs
	}
	return fmt.Sprintf("%s is not %s", got, want)
}
