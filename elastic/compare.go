package elastic

import (
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"
)

// flatten turns a JSON value into path → string leaves, the form in which a
// definition and the server's answer can be compared: the server returns
// settings as strings ("1") nested under "index", definitions write numbers.
func flatten(v any) map[string]string {
	out := map[string]string{}
	flattenInto("", v, out)
	return out
}

func flattenInto(prefix string, v any, out map[string]string) {
	join := func(k string) string {
		if prefix == "" {
			return k
		}
		return prefix + "." + k
	}
	switch t := v.(type) {
	case map[string]any:
		if len(t) == 0 && prefix != "" {
			out[prefix] = "{}"
		}
		for k, x := range t {
			flattenInto(join(k), x, out)
		}
	case []any:
		if len(t) == 0 {
			out[prefix] = "[]"
		}
		for i, x := range t {
			flattenInto(fmt.Sprintf("%s[%d]", prefix, i), x, out)
		}
	case string:
		out[prefix] = t
	case float64:
		out[prefix] = strconv.FormatFloat(t, 'f', -1, 64)
	case json.Number:
		out[prefix] = t.String()
	case bool:
		out[prefix] = strconv.FormatBool(t)
	case nil:
		out[prefix] = "null"
	default:
		out[prefix] = fmt.Sprint(t)
	}
}

// flatSettings flattens index settings and drops the leading "index." that the
// server adds to every key.
func flatSettings(v any) map[string]string {
	out := map[string]string{}
	for k, s := range flatten(v) {
		out[strings.TrimPrefix(k, "index.")] = s
	}
	return out
}

// diff lists the differences between desired and live leaves. With subset,
// leaves only the server has (uuid, creation_date, defaults) are ignored.
type diff struct {
	Missing []string // in desired, not live: path=value
	Changed []string // both, different: path: live → desired
	Extra   []string // live only: path=value
}

func (d diff) empty() bool { return len(d.Missing)+len(d.Changed)+len(d.Extra) == 0 }

func (d diff) String() string {
	var parts []string
	add := func(label string, xs []string) {
		if len(xs) == 0 {
			return
		}
		const max = 3
		s := strings.Join(xs[:min(len(xs), max)], ", ")
		if len(xs) > max {
			s += fmt.Sprintf(" (+%d more)", len(xs)-max)
		}
		parts = append(parts, label+" "+s)
	}
	add("changed", d.Changed)
	add("missing", d.Missing)
	add("unexpected", d.Extra)
	return strings.Join(parts, "; ")
}

func compare(desired, live map[string]string, subset bool) diff {
	var d diff
	for _, k := range slices.Sorted(maps.Keys(desired)) {
		lv, ok := live[k]
		switch {
		case !ok:
			d.Missing = append(d.Missing, k+"="+desired[k])
		case lv != desired[k]:
			d.Changed = append(d.Changed, fmt.Sprintf("%s: %s → %s", k, lv, desired[k]))
		}
	}
	if !subset {
		for _, k := range slices.Sorted(maps.Keys(live)) {
			if _, ok := desired[k]; !ok {
				d.Extra = append(d.Extra, k+"="+live[k])
			}
		}
	}
	return d
}

// merge deep-merges src into dst (src wins), the way an index template's own
// settings and mappings override its component templates'.
func merge(dst, src map[string]any) map[string]any {
	if dst == nil {
		dst = map[string]any{}
	}
	for k, v := range src {
		if sm, ok := v.(map[string]any); ok {
			if dm, ok := dst[k].(map[string]any); ok {
				dst[k] = merge(dm, sm)
				continue
			}
			dst[k] = merge(map[string]any{}, sm)
			continue
		}
		dst[k] = v
	}
	return dst
}

// dynamicSetting reports whether a setting can be changed on a live index;
// anything else (shards, analysis, codec) needs a new index.
func dynamicSetting(key string) bool {
	for _, p := range []string{"number_of_replicas", "auto_expand_replicas", "refresh_interval", "max_result_window",
		"lifecycle.", "plugins.index_state_management.", "blocks.", "routing.", "translog.durability"} {
		if key == p || strings.HasPrefix(key, p) {
			return true
		}
	}
	return false
}
