package retention

import (
	"context"
	"fmt"

	"github.com/jackc/pgx/v5"

	"github.com/quantx/quantx-db/partitions"
)

// ErrWouldFail marks a dry run (with Options.CheckPrivileges) whose real run
// would fail: the connected role cannot do the work the dry run found. It is
// partitions.ErrWouldFail: one condition, whichever package found it.
var ErrWouldFail = partitions.ErrWouldFail

// checkUpdate says whether the connected role may flag rows of table archived.
func checkUpdate(ctx context.Context, q interface {
	QueryRow(context.Context, string, ...any) pgx.Row
}, table string) error {
	var ok bool
	var role string
	err := q.QueryRow(ctx, `SELECT has_table_privilege(current_user, to_regclass($1), 'SELECT, UPDATE'), current_user`, table).Scan(&ok, &role)
	if err != nil {
		return fmt.Errorf("check privileges on %s: %w", table, err)
	}
	if !ok {
		return fmt.Errorf("%w: role %s has no SELECT and UPDATE privilege on %s", ErrWouldFail, role, table)
	}
	return nil
}
