package controller

import (
	"context"
	"fmt"
	"log/slog"
	"math"
	"time"

	"k8s.io/apimachinery/pkg/types"

	trimtabv1 "github.com/trimtab/trimtab/api/v1alpha1"
	"github.com/trimtab/trimtab/collector"
	"github.com/trimtab/trimtab/scaler"
	"github.com/trimtab/trimtab/scaler/predict"
)

// demandHistoryQuery reads back the demand trimtab itself exports for a
// policy, one mean per model bin. max() joins the series of successive
// controller pods (their instance labels differ), which overlap only by a
// scrape or two.
const demandHistoryQuery = `max(avg_over_time(trimtab_scaler_demand_replicas{namespace="{{.Namespace}}",name="{{.Name}}"}[{{.Interval}}]))`

// warmBatch bounds the history queries sent in one Collect: the provider
// runs them a few at a time, and a batch's answers are held together.
const warmBatch = 64

// forecastWarmer gives a new forecast model the past it would have learnt
// had the controller not restarted: a model lives in memory, so without
// this every restart or leader change costs predictive scaling its warm-up
// and a whole season before the seasonal shape is known again. The history
// is the policy's own trimtab_scaler_demand_replicas series, read from the
// Prometheus that scrapes the controller.
type forecastWarmer struct {
	source Collector
	// window is the scaling queries' {{.Interval}}, over which each
	// exported demand was measured.
	window   time.Duration
	metrics  *scalingMetrics
	log      *slog.Logger
	requests chan warmRequest
}

// warmRequest asks for the history of one new model.
type warmRequest struct {
	key    types.NamespacedName
	state  *policyState
	season time.Duration
	now    time.Time
}

// warmModel is a model built from history, waiting for the policy's next
// sync to replace the cold one.
type warmModel struct {
	season time.Duration
	model  *predict.Model
}

func newForecastWarmer(source Collector, window time.Duration, m *scalingMetrics, log *slog.Logger) *forecastWarmer {
	// Room for a whole fleet's requests after a restart: each is small,
	// and one dropped leaves its model cold, never wrong.
	return &forecastWarmer{source: source, window: window, metrics: m, log: log, requests: make(chan warmRequest, 16384)}
}

// request queues a history read without blocking the cycle.
func (w *forecastWarmer) request(r warmRequest) {
	select {
	case w.requests <- r:
	default:
		w.metrics.warmStart(warmDropped)
	}
}

// run answers requests in batches until ctx ends.
func (w *forecastWarmer) run(ctx context.Context) {
	for {
		var batch []warmRequest
		select {
		case <-ctx.Done():
			return
		case r := <-w.requests:
			batch = append(batch, r)
		}
	drain:
		for len(batch) < warmBatch {
			select {
			case r := <-w.requests:
				batch = append(batch, r)
			default:
				break drain
			}
		}
		w.load(ctx, batch)
	}
}

// load reads each request's history and hands the built models over.
func (w *forecastWarmer) load(ctx context.Context, batch []warmRequest) {
	qs := make([]collector.Query, len(batch))
	cfgs := make([]predict.Config, len(batch))
	for i, r := range batch {
		cfgs[i] = predict.DefaultConfig(r.season)
		qs[i] = historyQuery(r, cfgs[i], w.window)
	}
	results := w.source.Collect(ctx, qs)
	for i, r := range batch {
		res := results[i]
		if collector.ReasonOf(res.Err) == collector.ReasonNoData {
			w.metrics.warmStart(warmEmpty)
			continue
		}
		if res.Err != nil {
			w.metrics.warmStart(warmFailed)
			w.log.Warn("forecast history not loaded; the model learns from now on", "namespace", r.key.Namespace, "name", r.key.Name, "error", res.Err)
			continue
		}
		m, bins, err := modelFromHistory(cfgs[i], w.window, res.Series)
		if err != nil {
			w.metrics.warmStart(warmFailed)
			w.log.Warn("forecast history not loaded; the model learns from now on", "namespace", r.key.Namespace, "name", r.key.Name, "error", err)
			continue
		}
		if bins == 0 {
			w.metrics.warmStart(warmEmpty)
			continue
		}
		r.state.warm.Store(&warmModel{season: r.season, model: m})
		w.metrics.warmStart(warmLoaded)
		w.log.Debug("forecast history loaded", "namespace", r.key.Namespace, "name", r.key.Name, "bins", bins)
	}
}

// historyQuery covers one season and the model's warm-up before now, one
// point per bin, on the history provider's default server. A point averages
// the step before it; the points stand half a metrics window past the bins'
// ends, so that each averages the exports of the syncs whose demand a live
// model learnt in one bin (scaler.DemandTime).
func historyQuery(r warmRequest, cfg predict.Config, window time.Duration) collector.Query {
	span := cfg.Season + time.Duration(cfg.Warmup)*cfg.Step
	step := int64(cfg.Step / time.Second)
	first := r.now.Add(-span).Unix()
	first -= ((first % step) + step) % step
	return collector.Query{
		Owner: collector.Owner{Kind: "scalingpolicy", Name: r.key.Name},
		Metric: trimtabv1.Metric{Name: "forecast-history", MetricSource: trimtabv1.MetricSource{
			Prometheus: &trimtabv1.PrometheusSource{Query: demandHistoryQuery}}},
		Target:   collector.Target{Namespace: r.key.Namespace, Name: r.key.Name},
		Interval: cfg.Step,
		Range:    &collector.Range{Start: time.Unix(first, 0).Add(window / 2), End: r.now, Step: cfg.Step},
		NoCache:  true,
	}
}

// modelFromHistory feeds a new model the history's points in time order.
// A point at t is the mean of the demands exported in the step before t,
// which a live model learnt at their scaler.DemandTime, half a metrics
// window before each sync; the point is learnt at the middle of those
// times, which historyQuery's points put in the middle of a bin. It returns
// how many points were learnt.
func modelFromHistory(cfg predict.Config, window time.Duration, series []collector.Series) (*predict.Model, int, error) {
	if len(series) > 1 {
		return nil, 0, fmt.Errorf("history query returned %d series, want at most one", len(series))
	}
	m, err := predict.New(cfg)
	if err != nil {
		return nil, 0, err
	}
	if len(series) == 0 {
		return m, 0, nil
	}
	bins := 0
	for _, s := range series[0].Samples {
		// The history provider is read directly, not through a Collector,
		// so NaN (a bin whose syncs had no demand) reaches here: it is no
		// observation, and a history of nothing else is no history.
		if math.IsNaN(s.Value) {
			continue
		}
		m.Observe(scaler.DemandTime(s.Time.Add(-cfg.Step/2), window), s.Value)
		bins++
	}
	return m, bins, nil
}

// takeWarm swaps in a model built from history, if one arrived for the
// policy's current season.
func (s *policyState) takeWarm(season time.Duration) {
	if w := s.warm.Swap(nil); w != nil && w.season == season {
		s.model = w.model
	}
}
