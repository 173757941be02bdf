package controller

import (
	"context"
	"log/slog"
	"time"

	"github.com/trimtab/trimtab/collector/cloudwatch"
)

// DecisionPublisher sends release and scaling decisions to a monitoring
// system outside the cluster (CloudWatch, with --cloudwatch.publish), for
// teams that alarm there.
type DecisionPublisher interface {
	Publish(ctx context.Context, data []cloudwatch.Datum) error
}

// publishTimeout bounds one publication: a sink that is slow or down must
// never hold up a rollback or a scale.
const publishTimeout = 2 * time.Second

// publish sends data when a publisher is configured, and only logs a
// failure.
func publish(ctx context.Context, p DecisionPublisher, log *slog.Logger, data []cloudwatch.Datum) {
	if p == nil || len(data) == 0 {
		return
	}
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), publishTimeout)
	defer cancel()
	if err := p.Publish(ctx, data); err != nil && log != nil {
		log.Warn("publishing decisions failed", "error", err, "data_points", len(data))
	}
}
