package migrations

import (
	"context"

	"github.com/jackc/pgx/v5/pgxpool"
)

// EnsureBookkeeping creates the version and history tables if they are missing,
// under the runner lock, and applies nothing. `roles ensure` calls it before it
// sets the owner's default privileges: tables created before those exist do not
// inherit the app role's grants, so the app role can never write its own
// migration state.
func (r *Runner) EnsureBookkeeping(ctx context.Context) error {
	return r.withLock(ctx, func(ctx context.Context, c *pgxpool.Conn) error {
		return r.ensureTables(ctx, c)
	})
}

// BookkeepingTables names the tables the runner writes: only the schema's owner
// may write them.
func (r *Runner) BookkeepingTables() []string {
	return []string{r.opts.Table, r.opts.HistoryTable}
}
