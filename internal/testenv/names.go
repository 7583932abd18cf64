package testenv

import (
	"crypto/rand"
	"regexp"
	"strings"
	"testing"
)

// nonAlnum matches each run of characters that may not appear in a database, bucket or index name.
var nonAlnum = regexp.MustCompile(`[^a-z0-9]+`)

// uniqueName returns prefix + slug(t.Name()) + sep + a random suffix, in lowercase, at most max bytes,
// using only [a-z0-9] and sep. Safe as a PostgreSQL or InfluxDB database name (sep "_"), an S3 bucket
// name (sep "-") or an index-name part.
func uniqueName(t testing.TB, prefix, sep string, max int) string {
	suffix := strings.ToLower(rand.Text()[:8])
	slug := strings.Trim(nonAlnum.ReplaceAllString(strings.ToLower(t.Name()), sep), sep)
	room := max - len(prefix) - len(sep) - len(suffix)
	if len(slug) > room {
		slug = strings.TrimRight(slug[:room], sep)
	}
	if slug == "" {
		return prefix + suffix
	}
	return prefix + slug + sep + suffix
}
