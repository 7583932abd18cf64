package config

import (
	"math/rand/v2"
	"strings"
	"testing"
)

// redactReference is Redact without the checks that skip a regular
// expression when the text cannot match it.
func redactReference(s string) string {
	s = urlUserinfo().ReplaceAllString(s, "$1$2:***@")
	return secretParam().ReplaceAllStringFunc(s, func(m string) string {
		sub := secretParam().FindStringSubmatch(m)
		if sub[3] == "***" || sub[3] == "" {
			return m
		}
		return sub[1] + sub[2] + "***"
	})
}

// TestRedactSkipsOnlyWhatCannotMatch: skipping a regular expression when
// the text holds no "://" or no password-like word (in any case, including ſ
// and the Kelvin sign, which (?i) folds to s and k) changes nothing: on the
// redaction corpus, on hand-picked cases and on random mixes of fragments.
func TestRedactSkipsOnlyWhatCannotMatch(t *testing.T) {
	cases := append([]string{
		"ſecret=x", "xſecret=1", "db_ſecret_key=v", "SEſRET=x", "my_to\u212aen=1", "ſecret_key = 'a b'", "to\u212aen=abc", "TO\u212aEN=abc", "toKen=abc", "PassWord=\"x y\"", "pwd=1", "PWD = 2",
		"passwd=z", "s3_secret-key=v", "see https://u:p@h", "x://a:b@c", "no secrets here", "pass word=1", "tok en=1",
		"passw", "secre", "toke", "p", "", "ſ", "\u212a", "\xc5", "\xc5\xbf", "https:/", ":/", "password", "token=", "secret=''",
	}, redactionCorpus...)
	for _, s := range cases {
		if got, want := Redact(s), redactReference(s); got != want {
			t.Errorf("Redact(%q) = %q, without the checks %q", s, got, want)
		}
	}
	frags := []string{"pass", "w", "ord", "PASS", "W", "pw", "d", "D", "to", "K", "\u212a", "ken", "en", "TO", "se", "ſ", "ecret", "cret", "SE", "CRET",
		"_key", "=", " = ", "'a b'", `"c d"`, "x", " ", "\t", "&", "://", "http", "u:p@", "@", ":", "/", "é", "\xc5"}
	r := rand.New(rand.NewPCG(1, 2))
	for i := 0; i < 20000; i++ {
		var b strings.Builder
		for n := r.IntN(12); n >= 0; n-- {
			b.WriteString(frags[r.IntN(len(frags))])
		}
		s := b.String()
		if got, want := Redact(s), redactReference(s); got != want {
			t.Fatalf("Redact(%q) = %q, without the checks %q", s, got, want)
		}
	}
}

// BenchmarkRedactReport: the JSON report of `migrate lint` over 5,000
// statements (about 450 kB, no secrets) goes through Redact as one write.
func BenchmarkRedactReport(b *testing.B) {
	line := `{"rule":"require-concurrent-index-creation","severity":"error","file":"0002_generated.up.sql","line":42,"object":"t1","message":"CREATE INDEX idx_new_8 ON new_0: builds the index under a SHARE lock","fix":"CREATE INDEX CONCURRENTLY in a no-transaction file"},` + "\n"
	s := strings.Repeat(line, 450<<10/len(line))
	b.SetBytes(int64(len(s)))
	for b.Loop() {
		Redact(s, "s3cr3t-value")
	}
}
