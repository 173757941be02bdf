package controller

import "context"

// StartWorkers starts what Start runs beside its cycles, so that a
// benchmark can run every cycle itself, with none of Start's own.
func (c *ScalingPolicyController) StartWorkers(ctx context.Context) (stop func()) {
	return c.startWorkers(ctx)
}
