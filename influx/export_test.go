package influx

import "context"

// ShowRetentionPolicies reads db's retention policies back, for assertions.
func ShowRetentionPolicies(ctx context.Context, p *Provisioner, db string) ([]liveRP, error) {
	c := *p
	c.desired.Database = db
	live, err := c.readV1(ctx)
	return live.RPs, err
}
