package migrations

import (
	"fmt"
	"regexp"
	"strings"
)

// LintFinding is one risky statement found by Lint.
type LintFinding struct {
	File    string `json:"file"`
	Line    int    `json:"line"`
	Rule    string `json:"rule"`
	Message string `json:"message"`
}

// lintRule matches a normalised statement (upper case, single spaces, no
// comments). applies decides whether the rule is relevant in this context.
type lintRule struct {
	name    string
	re      *regexp.Regexp
	message string
	// onlyExisting: the statement only hurts when the table already holds
	// data, so a table created in the same file is exempt.
	onlyExisting bool
	upOnly       bool // destructive statements are expected in down files
	txOnly       bool // fails only inside a transaction
	unless       *regexp.Regexp
}

var (
	reCreateTable = regexp.MustCompile(`^CREATE (?:UNLOGGED )?TABLE (?:IF NOT EXISTS )?([A-Z0-9_."]+)`)
	reTableOf     = regexp.MustCompile(`^(?:ALTER TABLE (?:IF EXISTS )?(?:ONLY )?|CREATE (?:UNIQUE )?INDEX (?:CONCURRENTLY )?(?:IF NOT EXISTS )?[A-Z0-9_."]* ?ON (?:ONLY )?)([A-Z0-9_."]+)`)
	reLineComment = regexp.MustCompile(`--[^\n]*`)
	reBlank       = regexp.MustCompile(`\s+`)
)

var lintRules = []lintRule{
	{name: "concurrently-in-transaction", txOnly: true,
		re:      regexp.MustCompile(`\b(CREATE (UNIQUE )?INDEX CONCURRENTLY|DROP INDEX CONCURRENTLY|REINDEX .*CONCURRENTLY|VACUUM)\b`),
		message: "cannot run inside a transaction: put it alone in a file starting with '" + NoTransactionDirective + "'"},
	{name: "index-without-concurrently", onlyExisting: true,
		re:      regexp.MustCompile(`^CREATE (UNIQUE )?INDEX (?:IF NOT EXISTS )?[A-Z0-9_."]+ ON `),
		message: "blocks writes to the table while the index builds: use CREATE INDEX CONCURRENTLY in a no-transaction file"},
	{name: "add-column-not-null-without-default", onlyExisting: true,
		re:      regexp.MustCompile(`ADD (COLUMN )?(IF NOT EXISTS )?[A-Z0-9_"]+ [^,]*\bNOT NULL\b`),
		unless:  regexp.MustCompile(`\bDEFAULT\b`),
		message: "fails on a table with rows: add a DEFAULT, or add the column nullable, backfill, then SET NOT NULL"},
	{name: "add-column-volatile-default", onlyExisting: true,
		re:      regexp.MustCompile(`ADD (COLUMN )?.*DEFAULT (CLOCK_TIMESTAMP|RANDOM|GEN_RANDOM_UUID|TIMEOFDAY)\(`),
		message: "a volatile default rewrites the whole table under an exclusive lock"},
	{name: "alter-column-type", onlyExisting: true,
		re:      regexp.MustCompile(`ALTER (COLUMN )?[A-Z0-9_"]+ (SET DATA )?TYPE `),
		message: "usually rewrites the table under an ACCESS EXCLUSIVE lock: add a new column and backfill instead"},
	{name: "set-not-null", onlyExisting: true,
		re:      regexp.MustCompile(`ALTER (COLUMN )?[A-Z0-9_"]+ SET NOT NULL`),
		message: "scans the whole table under an exclusive lock: add CHECK (col IS NOT NULL) NOT VALID, VALIDATE it, then SET NOT NULL"},
	{name: "constraint-without-not-valid", onlyExisting: true,
		re:      regexp.MustCompile(`ADD (CONSTRAINT [A-Z0-9_"]+ )?(FOREIGN KEY|CHECK)\b`),
		unless:  regexp.MustCompile(`NOT VALID`),
		message: "validates every row while holding the lock: add it NOT VALID, then VALIDATE CONSTRAINT in a later statement"},
	{name: "drop-table", upOnly: true, re: regexp.MustCompile(`^DROP TABLE`),
		message: "drops data: make sure it is archived and no running code reads the table"},
	{name: "drop-column", upOnly: true, re: regexp.MustCompile(`DROP COLUMN`),
		message: "drops data and breaks code still reading the column: deploy the code change first"},
	{name: "rename", upOnly: true, re: regexp.MustCompile(`\bRENAME (COLUMN |TO |CONSTRAINT )`),
		message: "breaks running code that uses the old name: add the new name, migrate readers, then drop the old one"},
	{name: "truncate", upOnly: true, re: regexp.MustCompile(`^TRUNCATE\b`), message: "deletes every row"},
	{name: "enum-add-value", txOnly: true, re: regexp.MustCompile(`^ALTER TYPE [A-Z0-9_."]+ ADD VALUE`),
		message: "the new value cannot be used in the same transaction: keep it in its own migration (seed defect 17)"},
	{name: "transaction-control", re: regexp.MustCompile(`^(BEGIN|COMMIT|ROLLBACK|START TRANSACTION|END)\b`),
		message: "the tool manages transactions: an inner COMMIT ends its transaction early (seed defect 16)"},
	{name: "writes-version-table", re: regexp.MustCompile(`\bSCHEMA_MIGRATIONS\b|\bQUANTX_MIGRATION_HISTORY\b`),
		message: "the tool owns its version tables: migration files must not touch them (seed defect 14)"},
	{name: "volatile-index-predicate", re: regexp.MustCompile(`^CREATE (UNIQUE )?INDEX .* WHERE .*\b(NOW\(\)|CURRENT_DATE|CURRENT_TIMESTAMP)`),
		message: "index predicates must be immutable: NOW() is refused by PostgreSQL (seed defect 9)"},
}

// Lint reports risky statements in one migration file: statements that take
// long exclusive locks on tables with data, that will fail in the file's
// transaction mode, or that destroy data. down marks a .down.sql file, where
// destructive statements are the point.
func Lint(file, sql string, down bool) []LintFinding {
	noTx := strings.HasPrefix(strings.TrimSpace(sql), NoTransactionDirective)
	created := map[string]bool{}
	out := []LintFinding{}
	for _, st := range Split(sql) {
		norm := normalise(st.SQL)
		if m := reCreateTable.FindStringSubmatch(norm); m != nil {
			created[bareName(m[1])] = true
		}
		table := ""
		if m := reTableOf.FindStringSubmatch(norm); m != nil {
			table = bareName(m[1])
		}
		for _, r := range lintRules {
			if (r.upOnly && down) || (r.txOnly && noTx) || (r.onlyExisting && created[table]) {
				continue
			}
			if r.re.MatchString(norm) && (r.unless == nil || !r.unless.MatchString(norm)) {
				out = append(out, LintFinding{File: file, Line: st.Line, Rule: r.name, Message: r.message})
			}
		}
	}
	return out
}

func normalise(sql string) string {
	s := reLineComment.ReplaceAllString(sql, "")
	return strings.TrimSpace(reBlank.ReplaceAllString(strings.ToUpper(s), " "))
}

func bareName(n string) string {
	n = strings.ReplaceAll(n, `"`, "")
	if i := strings.LastIndexByte(n, '.'); i >= 0 {
		n = n[i+1:]
	}
	return n
}

// String formats a finding as file:line: rule: message.
func (f LintFinding) String() string {
	return fmt.Sprintf("%s:%d: %s: %s", f.File, f.Line, f.Rule, f.Message)
}
