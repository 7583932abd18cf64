package lint

import "slices"

// Severity says whether a finding fails the lint (error) or only reports (warning).
type Severity string

// The two severities. Errors make `migrate lint` exit 3; warnings do so only
// with --warnings-as-errors.
const (
	Error   Severity = "error"
	Warning Severity = "warning"
)

// Category groups rules for the documentation and for switching style off.
type Category string

// Rule categories.
const (
	Lock     Category = "lock"     // blocks reads or writes of an existing table for longer than a catalog update
	Rewrite  Category = "rewrite"  // rewrites an existing table (and its indexes) under ACCESS EXCLUSIVE
	Breaking Category = "breaking" // drops data or breaks code still running against the old schema
	Fails    Category = "fails"    // fails at run time in the way quantx-db runs the file
	Style    Category = "style"    // a type choice the peers advise against; warning only
	Meta     Category = "meta"     // about the file itself: syntax, directives
)

// Rule describes one check. The text is what a finding prints: Reason says
// what goes wrong, Fix the safe way to get the same change.
type Rule struct {
	ID       string   `json:"id"`
	Severity Severity `json:"severity"`
	Category Category `json:"category"`
	Reason   string   `json:"reason"`
	Fix      string   `json:"fix"`
	Peers    string   `json:"peers"` // the squawk rule and Atlas check it corresponds to
}

// The rule ids. They follow squawk's names where a squawk rule covers the same
// statement, so a team moving from squawk keeps its vocabulary.
const (
	RuleIndexConcurrently     = "require-concurrent-index-creation"
	RuleDropIndexConcurrently = "require-concurrent-index-deletion"
	RuleReindexConcurrently   = "require-concurrent-reindex"
	RuleDetachConcurrently    = "require-concurrent-partition-detach"
	RuleNoTransaction         = "requires-no-transaction"
	RuleVolatileDefault       = "adding-field-with-default"
	RuleStoredGenerated       = "adding-stored-generated-column"
	RuleSerialColumn          = "adding-serial-or-identity-column"
	RulePrimaryKey            = "adding-primary-key-constraint"
	RuleUnique                = "disallowed-unique-constraint"
	RuleColumnType            = "changing-column-type"
	RuleSetNotNull            = "adding-not-nullable-field"
	RuleCheckNotValid         = "constraint-missing-not-valid"
	RuleForeignKey            = "adding-foreign-key-constraint"
	RuleValidateSameTx        = "validate-in-same-transaction"
	RuleVacuumFull            = "ban-vacuum-full"
	RuleCluster               = "ban-cluster"
	RuleSetLogged             = "ban-set-logged-unlogged"
	RuleDomainConstraint      = "ban-alter-domain-with-add-constraint"
	RuleRequiredField         = "adding-required-field"
	RuleRenameTable           = "renaming-table"
	RuleRenameColumn          = "renaming-column"
	RuleDropTable             = "ban-drop-table"
	RuleDropColumn            = "ban-drop-column"
	RuleTruncate              = "ban-truncate"
	RuleEnumValueSameTx       = "enum-value-used-in-same-transaction"
	RuleTransactionControl    = "transaction-control"
	RuleVersionTable          = "writes-version-table"
	RuleMutableIndexExpr      = "mutable-index-expression"
	RulePreferBigint          = "prefer-bigint-over-int"
	RulePreferText            = "prefer-text-field"
	RulePreferTimestamptz     = "prefer-timestamptz"
	RulePreferIdentity        = "prefer-identity"
	RuleCharField             = "ban-char-field"
	RuleSyntax                = "syntax-error"
	RuleBadDirective          = "invalid-lint-ignore"
	RuleUnusedDirective       = "unused-lint-ignore"
)

// rules is the registry, in the order the README lists them.
var rules = []Rule{
	{RuleIndexConcurrently, Error, Lock,
		"CREATE INDEX without CONCURRENTLY holds a SHARE lock on an existing table for the whole build: every INSERT, UPDATE and DELETE waits",
		"CREATE INDEX CONCURRENTLY in a file of its own that starts with '-- quantx:no-transaction' (on a partitioned table quantx-db builds it partition by partition)",
		"squawk require-concurrent-index-creation; Atlas PG101"},
	{RuleDropIndexConcurrently, Error, Lock,
		"DROP INDEX without CONCURRENTLY takes an ACCESS EXCLUSIVE lock on the index's table: reads and writes wait behind it and behind anything it waits for",
		"DROP INDEX CONCURRENTLY in a file that starts with '-- quantx:no-transaction'",
		"squawk require-concurrent-index-deletion; Atlas PG102"},
	{RuleReindexConcurrently, Error, Lock,
		"REINDEX without CONCURRENTLY blocks writes to the table and reads that would use the index until the rebuild ends",
		"REINDEX ... CONCURRENTLY in a file that starts with '-- quantx:no-transaction'",
		"squawk require-concurrent-reindex; Atlas none"},
	{RuleDetachConcurrently, Error, Lock,
		"DETACH PARTITION without CONCURRENTLY takes an ACCESS EXCLUSIVE lock on the partitioned table: every query on it waits",
		"ALTER TABLE ... DETACH PARTITION ... CONCURRENTLY in a file that starts with '-- quantx:no-transaction' (impossible while a DEFAULT partition exists: then keep it short and rely on lock_timeout)",
		"squawk require-concurrent-partition-detach; Atlas none"},
	{RuleNoTransaction, Error, Fails,
		"this statement cannot run inside a transaction block, and quantx-db runs this file in one",
		"move it to a file of its own whose first line is '-- quantx:no-transaction'",
		"squawk ban-concurrent-index-creation-in-transaction; Atlas PG103"},
	{RuleVolatileDefault, Error, Rewrite,
		"ADD COLUMN with a volatile DEFAULT rewrites the whole table under an ACCESS EXCLUSIVE lock (a constant or STABLE default does not since PostgreSQL 11)",
		"add the column without a default (or with a constant one), backfill it in batches, then SET DEFAULT for new rows",
		"squawk adding-field-with-default; Atlas PG302"},
	{RuleStoredGenerated, Error, Rewrite,
		"ADD COLUMN ... GENERATED ALWAYS AS (...) STORED computes every row: the table is rewritten under an ACCESS EXCLUSIVE lock",
		"add a plain nullable column, backfill it in batches and keep it current with a trigger, or compute the value in a view",
		"squawk adding-field-with-default (generated columns); Atlas none"},
	{RuleSerialColumn, Error, Rewrite,
		"adding a serial or identity column fills it from a sequence row by row: the table is rewritten under an ACCESS EXCLUSIVE lock",
		"add a nullable bigint column, backfill it in batches from a sequence, then SET DEFAULT nextval(...) or ADD GENERATED ... AS IDENTITY once it is full",
		"squawk adding-serial-primary-key-field; Atlas none"},
	{RulePrimaryKey, Error, Lock,
		"ADD PRIMARY KEY builds its unique index (and checks NOT NULL) while holding an ACCESS EXCLUSIVE lock on the table",
		"CREATE UNIQUE INDEX CONCURRENTLY in a no-transaction file, then ALTER TABLE ... ADD PRIMARY KEY USING INDEX in a later migration (columns already NOT NULL)",
		"squawk adding-serial-primary-key-field; Atlas PG104, PG304"},
	{RuleUnique, Error, Lock,
		"ADD UNIQUE (or EXCLUDE) builds its index while holding an ACCESS EXCLUSIVE lock on the table",
		"CREATE UNIQUE INDEX CONCURRENTLY in a no-transaction file, then ALTER TABLE ... ADD CONSTRAINT ... UNIQUE USING INDEX in a later migration",
		"squawk disallowed-unique-constraint; Atlas PG105, MF101"},
	{RuleColumnType, Error, Rewrite,
		"ALTER COLUMN ... TYPE rewrites the table and rebuilds its indexes under an ACCESS EXCLUSIVE lock (only varchar(n) to text or a larger n, numeric to a larger precision and similar binary-compatible changes are exempt)",
		"add a column of the new type, backfill it in batches, switch readers and writers, then drop the old column",
		"squawk changing-column-type; Atlas PG301"},
	{RuleSetNotNull, Error, Lock,
		"SET NOT NULL scans the whole table under an ACCESS EXCLUSIVE lock unless a validated CHECK (col IS NOT NULL) already proves it",
		"ADD CONSTRAINT ... CHECK (col IS NOT NULL) NOT VALID; VALIDATE CONSTRAINT in a later migration; then SET NOT NULL (and drop the CHECK)",
		"squawk adding-not-nullable-field; Atlas PG303, MF104"},
	{RuleCheckNotValid, Error, Lock,
		"adding a CHECK constraint validates every row while holding an ACCESS EXCLUSIVE lock on the table",
		"ADD CONSTRAINT ... CHECK (...) NOT VALID, then ALTER TABLE ... VALIDATE CONSTRAINT in a later migration (it takes only a SHARE UPDATE EXCLUSIVE lock)",
		"squawk constraint-missing-not-valid; Atlas PG305"},
	{RuleForeignKey, Error, Lock,
		"adding a FOREIGN KEY validates every row while holding SHARE ROW EXCLUSIVE locks on both tables, so writes to both wait (inline ADD COLUMN ... REFERENCES too when the new column has a default)",
		"ADD CONSTRAINT ... FOREIGN KEY ... NOT VALID, then VALIDATE CONSTRAINT in a later migration; for a new column, add it first and the constraint after",
		"squawk adding-foreign-key-constraint, constraint-missing-not-valid; Atlas none"},
	{RuleValidateSameTx, Error, Lock,
		"VALIDATE CONSTRAINT in the same transaction as its ADD ... NOT VALID runs the full validation while the ADD's lock is still held: NOT VALID gains nothing",
		"move VALIDATE CONSTRAINT to a later migration (or to a no-transaction file)",
		"squawk constraint-missing-not-valid (NOT VALID then VALIDATE in one transaction); Atlas none"},
	{RuleVacuumFull, Error, Rewrite,
		"VACUUM FULL rewrites the table under an ACCESS EXCLUSIVE lock",
		"pg_repack (or pg_squeeze) outside the migration, or plain VACUUM in a no-transaction file",
		"squawk prefer-repack; Atlas none"},
	{RuleCluster, Error, Rewrite,
		"CLUSTER rewrites the table in index order under an ACCESS EXCLUSIVE lock",
		"pg_repack --order-by outside the migration",
		"squawk prefer-repack; Atlas none"},
	{RuleSetLogged, Error, Rewrite,
		"SET LOGGED / SET UNLOGGED rewrites the whole table (and writes it all to WAL) under an ACCESS EXCLUSIVE lock",
		"create the table with the persistence it needs; to change it, copy into a new table and swap names in a short transaction",
		"squawk none; Atlas none"},
	{RuleDomainConstraint, Error, Lock,
		"ALTER DOMAIN ... ADD CONSTRAINT (and ALTER DOMAIN ... VALIDATE CONSTRAINT) scans every column of that domain in every table while blocking writes to them",
		"add CHECK constraints to the tables (NOT VALID, then VALIDATE later), or ADD CONSTRAINT ... NOT VALID on the domain and never VALIDATE it during traffic",
		"squawk ban-alter-domain-with-add-constraint; Atlas none"},
	{RuleRequiredField, Error, Fails,
		"ADD COLUMN ... NOT NULL without a DEFAULT fails on a table that has rows",
		"add it with a constant DEFAULT, or nullable then backfill and SET NOT NULL through a validated CHECK",
		"squawk adding-required-field; Atlas MF103"},
	{RuleRenameTable, Error, Breaking,
		"renaming a table breaks every running query that uses the old name until all code is redeployed",
		"create the new table (or a view with the new name), migrate readers and writers, then drop the old name in a later release",
		"squawk renaming-table; Atlas BC101"},
	{RuleRenameColumn, Error, Breaking,
		"renaming a column breaks every running query that uses the old name until all code is redeployed",
		"add the new column, write both, backfill, move readers, then drop the old column in a later release",
		"squawk renaming-column; Atlas BC102"},
	{RuleDropTable, Error, Breaking,
		"DROP TABLE deletes the data and breaks code that still reads the table",
		"deploy code that no longer uses it first, archive the data, then drop it (say so with a lint-ignore reason)",
		"squawk ban-drop-table; Atlas DS102"},
	{RuleDropColumn, Error, Breaking,
		"DROP COLUMN deletes the data and breaks code that still reads or writes the column",
		"deploy code that no longer uses the column first, then drop it in a later release (say so with a lint-ignore reason)",
		"squawk ban-drop-column; Atlas DS103"},
	{RuleTruncate, Error, Breaking,
		"TRUNCATE deletes every row and takes an ACCESS EXCLUSIVE lock",
		"DELETE in batches, or drop a partition through retention; if the data is truly disposable say so with a lint-ignore reason",
		"squawk ban-truncate-cascade (CASCADE only); Atlas none"},
	{RuleEnumValueSameTx, Error, Fails,
		"a value added with ALTER TYPE ... ADD VALUE cannot be used in the same transaction (unsafe use of new value of enum type)",
		"keep ALTER TYPE ... ADD VALUE in its own migration, before the one that first uses the value",
		"squawk none; Atlas none"},
	{RuleTransactionControl, Error, Fails,
		"quantx-db wraps each file in a transaction and records it: BEGIN, COMMIT or ROLLBACK in the file ends that transaction early",
		"remove it; use '-- quantx:no-transaction' for statements that must run outside a transaction",
		"squawk ban-uncommitted-transaction (partly); Atlas none"},
	{RuleVersionTable, Error, Fails,
		"quantx-db owns schema_migrations and quantx_migration_history: a migration that writes them corrupts the recorded state",
		"remove the statement; use 'quantx-db migrate force' or 'migrate baseline' to change the recorded version",
		"squawk none; Atlas none"},
	{RuleMutableIndexExpr, Error, Fails,
		"index expressions and predicates must be IMMUTABLE: PostgreSQL refuses now(), CURRENT_DATE and other non-immutable functions there",
		"index a stored column, or use a constant cutoff and rebuild the index when it moves",
		"squawk none; Atlas none"},
	{RulePreferBigint, Warning, Style,
		"integer and smallint columns overflow at 2^31 and 2^15, and widening them later rewrites the table",
		"use bigint",
		"squawk prefer-bigint-over-int, prefer-bigint-over-smallint; Atlas none"},
	{RulePreferText, Warning, Style,
		"varchar(n) limits are changed by a type change under an ACCESS EXCLUSIVE lock; text with a CHECK (length(col) <= n) is changed by swapping the CHECK",
		"use text, with a CHECK (length(col) <= n) constraint if the limit matters",
		"squawk prefer-text-field; Atlas none"},
	{RulePreferTimestamptz, Warning, Style,
		"timestamp without time zone stores wall-clock time: values depend on the writer's TimeZone and compare wrongly across zones",
		"use timestamptz",
		"squawk prefer-timestamptz; Atlas none"},
	{RulePreferIdentity, Warning, Style,
		"serial types create a loose sequence with surprising permissions and ownership",
		"use bigint GENERATED ALWAYS AS IDENTITY (or BY DEFAULT)",
		"squawk prefer-identity; Atlas none"},
	{RuleCharField, Warning, Style,
		"char(n) pads with spaces and is never faster than text",
		"use text (with a CHECK on length if needed)",
		"squawk ban-char-field; Atlas none"},
	{RuleSyntax, Error, Meta,
		"PostgreSQL's parser rejects this file",
		"fix the SQL; nothing else in the file was checked",
		"squawk reports parse errors too; Atlas none"},
	{RuleBadDirective, Error, Meta,
		"a quantx:lint-ignore directive must name known rule ids and give a reason",
		"write '-- quantx:lint-ignore RULE-ID[,RULE-ID] why this is safe here'",
		"squawk squawk-ignore (no reason required); Atlas atlas:nolint"},
	{RuleUnusedDirective, Warning, Meta,
		"this quantx:lint-ignore directive suppresses nothing",
		"remove it, or move it directly above the statement it is meant for",
		"squawk none; Atlas none"},
}

// Rules returns every rule in documentation order.
func Rules() []Rule { return slices.Clone(rules) }

// Lookup returns the rule with this id.
func Lookup(id string) (Rule, bool) {
	for _, r := range rules {
		if r.ID == id {
			return r, true
		}
	}
	return Rule{}, false
}
