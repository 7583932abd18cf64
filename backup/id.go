package backup

import (
	"crypto/rand"
	"fmt"
	"regexp"
	"strings"
	"time"
)

const idTimeLayout = "20060102T150405Z"

// idRE matches backup IDs: a UTC timestamp first, so that IDs sort by time as strings (S3 lists keys in
// that order), then the kind, the database and a random suffix so that two runs in one second differ.
var idRE = regexp.MustCompile(`^(\d{8}T\d{6}Z)-(postgres|influx)-([a-z0-9_.-]+)-([a-z0-9]{6})$`)

// unsafeName matches what may not appear in the database part of an ID (it becomes part of S3 keys).
var unsafeName = regexp.MustCompile(`[^a-z0-9_.-]+`)

// NewID returns a new backup ID such as 20261126T174500Z-postgres-quantx-k3j9x2.
func NewID(t time.Time, kind Kind, database string) string {
	db := strings.Trim(unsafeName.ReplaceAllString(strings.ToLower(database), "-"), "-.")
	if db == "" {
		db = "db"
	}
	if len(db) > 40 {
		db = db[:40]
	}
	const alphabet = "abcdefghijklmnopqrstuvwxyz0123456789"
	var b [6]byte
	rand.Read(b[:])
	for i := range b {
		b[i] = alphabet[int(b[i])%len(alphabet)]
	}
	return fmt.Sprintf("%s-%s-%s-%s", t.UTC().Format(idTimeLayout), kind, db, b[:])
}

// ValidID reports whether id has the form NewID produces (guards keys built from user input).
func ValidID(id string) bool { return idRE.MatchString(id) }

// idTime returns the time encoded in id.
func idTime(id string) (time.Time, bool) {
	m := idRE.FindStringSubmatch(id)
	if m == nil {
		return time.Time{}, false
	}
	t, err := time.Parse(idTimeLayout, m[1])
	return t, err == nil
}
