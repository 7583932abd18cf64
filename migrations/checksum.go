package migrations

import (
	"crypto/sha256"
	"encoding/hex"
	"strings"
)

// LintIgnoreDirective starts a comment line that silences `migrate lint` rules
// (see package migrations/lint). Such lines change nothing that runs.
const LintIgnoreDirective = "-- quantx:lint-ignore"

// checksum is the hex sha256 recorded for a file and compared by Validate. It
// leaves out quantx:lint-ignore lines that stand between statements: adding,
// rewording or removing a lint directive in an applied file changes nothing
// PostgreSQL runs, so it must not be reported as drift. A line inside a
// statement, string or function body is hashed like any other (the lexer
// decides), and a file without directives hashes as its plain bytes, so every
// checksum recorded before directives existed is still the same.
func checksum(b []byte) string {
	text := string(b)
	if !strings.Contains(text, LintIgnoreDirective) {
		sum := sha256.Sum256(b)
		return hex.EncodeToString(sum[:])
	}
	lines := strings.SplitAfter(text, "\n")
	inStatement := make([]bool, len(lines)+2) // by 1-based line number
	for _, st := range Split(text) {
		for l := st.Line; l <= st.Line+strings.Count(st.SQL, "\n") && l < len(inStatement); l++ {
			inStatement[l] = true
		}
	}
	h := sha256.New()
	for n, line := range lines {
		if !inStatement[n+1] && strings.HasPrefix(strings.TrimSpace(line), LintIgnoreDirective) {
			continue
		}
		h.Write([]byte(line))
	}
	return hex.EncodeToString(h.Sum(nil))
}
