package prometheus_test

import (
	"context"
	"fmt"
	"net/http"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/trimtab/trimtab/collector"
	"github.com/trimtab/trimtab/collector/prometheus"
)

// slowAPI answers every query with one series after a short delay and
// records how many queries were in flight at once.
type slowAPI struct{ inFlight, peak atomic.Int32 }

func (a *slowAPI) Query(ctx context.Context, r prometheus.Request) (prometheus.Answer, error) {
	n := a.inFlight.Add(1)
	defer a.inFlight.Add(-1)
	for {
		p := a.peak.Load()
		if n <= p || a.peak.CompareAndSwap(p, n) {
			break
		}
	}
	select {
	case <-time.After(20 * time.Millisecond):
	case <-ctx.Done():
		return prometheus.Answer{}, ctx.Err()
	}
	return prometheus.Answer{Series: []collector.Series{{Labels: map[string]string{}, Samples: []collector.Sample{{Time: r.At, Value: 1}}}}}, nil
}

// TestRequestsInFlightAreBoundedAcrossTemplates: docs/metrics.md says queries
// sent one by one go 16 at a time. ScalingPolicies with their own query
// templates each form a group of one, and each group is sent one by one;
// the bound must hold across groups, not per group.
func TestRequestsInFlightAreBoundedAcrossTemplates(t *testing.T) {
	api := &slowAPI{}
	p := prometheus.New(prometheus.Options{DefaultURL: "http://prom:9090",
		NewAPI: func(string, *http.Client) (prometheus.API, error) { return api, nil }})
	var qs []collector.Query
	for i := range 100 {
		qs = append(qs, namedQuery(fmt.Sprintf("m%d", i), fmt.Sprintf(`sum(rate(jobs_total{namespace="{{.Namespace}}",queue="q%d"}[1m]))`, i), "shop"))
	}
	res := p.Collect(context.Background(), qs)
	for _, r := range res {
		require.NoError(t, r.Err)
	}
	require.LessOrEqual(t, api.peak.Load(), int32(16), "queries in flight at once")
}
