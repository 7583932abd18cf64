package influx

import "context"

// ShowRetentionPolicies reads db's retention policies back, for assertions.
func ShowRetentionPolicies(ctx context.Context, p *Provisioner, db string) ([]liveRP, error) {
	live, err := (&v1{c: p.client, log: p.log}).read(ctx, db)
	return live.RPs, err
}
