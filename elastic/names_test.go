package elastic

import (
	"errors"
	"strings"
	"testing"
)

func TestValidateIndexName(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		name string
		ok   bool
	}{
		{"quantx-instruments-v3", true},
		{"t_abc_quantx-db-history", true},
		{"a.b+c", true},
		{strings.Repeat("a", 255), true},
		{strings.Repeat("a", 256), false},
		{strings.Repeat("é", 128), false}, // 256 bytes: the limit is bytes, not runes
		{"", false},
		{".", false},
		{"..", false},
		{"Quantx", false},
		{"-x", false},
		{"_x", false},
		{"+x", false},
		{"a b", false},
		{"a,b", false},
		{"a#b", false},
		{"a:b", false},
		{`a\b`, false},
		{"a/b", false},
		{"a*b", false},
		{"a?b", false},
		{`a"b`, false},
		{"a<b", false},
		{"a>b", false},
		{"a|b", false},
	} {
		err := ValidateIndexName(c.name)
		if c.ok != (err == nil) {
			t.Errorf("%q: err %v, want ok=%v", c.name, err, c.ok)
		}
		if err != nil && !errors.Is(err, ErrInvalidName) {
			t.Errorf("%q: %v is not ErrInvalidName", c.name, err)
		}
	}
}
