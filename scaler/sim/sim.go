package sim

import (
	"errors"
	"fmt"
	"math"
	"strconv"
	"time"

	"github.com/trimtab/trimtab/api/v1alpha1"
	"github.com/trimtab/trimtab/scaler"
	"github.com/trimtab/trimtab/scaler/predict"
)

// podRequestMilli is every simulated pod's request; only ratios matter.
const podRequestMilli = 1000

// Options describe the simulated workload and controller.
type Options struct {
	// Capacity is the requests per second one ready replica serves at the
	// policy's utilization target.
	Capacity float64
	// Startup is the time from a replica's creation to readiness.
	Startup time.Duration
	// Sync is the controller's resync period (the HPA's 15 s).
	Sync time.Duration
	// MetricWindow is the span each utilization sample averages, as
	// metrics-server's window.
	MetricWindow time.Duration
	// Observe, when set, is called once per simulated second.
	Observe func(Point)
	// Forecaster, when set, replaces the Holt-Winters model, e.g. with an
	// oracle that knows the future, to measure what forecasting can win.
	Forecaster Forecaster
	// Latency, when set, defines a violation second by a latency
	// objective instead of load above ready capacity.
	Latency *LatencySLO
}

// Forecaster forecasts the demand (replicas at target) for the simulated
// controller; *predict.Model is one.
type Forecaster interface {
	Observe(t time.Time, demand float64)
	Forecast(from time.Time, horizon time.Duration, band float64) (predict.Forecast, bool)
}

// DefaultOptions are the HPA's 15 s sync and a 30 s metrics window, with a
// 60 s start-up and capacity 1 rps.
func DefaultOptions() Options {
	return Options{Capacity: 1, Startup: time.Minute, Sync: 15 * time.Second, MetricWindow: 30 * time.Second}
}

// Point is one simulated second.
type Point struct {
	T        int64
	RPS      float64
	Replicas int32
	Ready    int32
	// Forecast is the forecast's proposal at the latest sync (0 without).
	Forecast int32
}

// Result scores one run.
type Result struct {
	// ReplicaSeconds is the cost: replicas existing (ready or starting),
	// integrated over time.
	ReplicaSeconds float64 `json:"replicaSeconds"`
	// ViolationSeconds is the time offered load exceeded ready replicas ×
	// capacity, or, with a latency objective, ready replicas × the most one
	// may serve within it.
	ViolationSeconds float64 `json:"violationSeconds"`
	// ScaleEvents counts replica count changes.
	ScaleEvents int `json:"scaleEvents"`
	// PeakReplicas is the highest replica count.
	PeakReplicas int32 `json:"peakReplicas"`
	// ForecastSyncs counts syncs at which the forecast raised the proposal.
	ForecastSyncs int `json:"forecastSyncs"`
}

// ReplayConfig narrows a policy's configuration to what the simulator can
// drive: its first Utilization metric, fed with the utilization of ready
// capacity. Other metrics have no simulated source and are dropped; their
// names are returned, in the policy's order, for the caller to tell the
// user, whose replay would otherwise silently differ from the controller.
func ReplayConfig(cfg scaler.Config) (replayed scaler.Config, dropped []string, err error) {
	for i, m := range cfg.Metrics {
		if m.Kind == scaler.KindResource && m.Target.Type == scaler.Utilization {
			for j, other := range cfg.Metrics {
				if j != i {
					dropped = append(dropped, other.Name)
				}
			}
			cfg.Metrics = []scaler.MetricSpec{m}
			return cfg, dropped, nil
		}
	}
	return scaler.Config{}, nil, errors.New("spec.metrics: replay needs a metric of kind resource with target.type Utilization; it drives it with the utilization of ready capacity")
}

func (o Options) validate(cfg scaler.Config) error {
	switch {
	case !(o.Capacity > 0) || math.IsInf(o.Capacity, 0):
		return fmt.Errorf("capacity must be a positive number of requests per second, got %v", o.Capacity)
	case o.Startup < 0 || o.Startup%time.Second != 0:
		return fmt.Errorf("startup must be a whole number of seconds ≥ 0, got %s", o.Startup)
	case o.Sync < time.Second || o.Sync%time.Second != 0:
		return fmt.Errorf("sync must be a whole number of seconds ≥ 1s, got %s", o.Sync)
	case o.MetricWindow < time.Second || o.MetricWindow%time.Second != 0:
		return fmt.Errorf("metric window must be a whole number of seconds ≥ 1s, got %s", o.MetricWindow)
	case cfg.Predictive.Mode != v1alpha1.PredictiveOff && cfg.Predictive.Horizon > 0 && cfg.Predictive.Horizon < o.Startup:
		return fmt.Errorf("spec.predictive.horizonSeconds (%d) must be at least the start-up time (%s): a forecast must see past the time a new pod takes to become ready",
			int(cfg.Predictive.Horizon/time.Second), o.Startup)
	case cfg.Predictive.Mode != v1alpha1.PredictiveOff && cfg.Predictive.Horizon == 0 && o.Startup > scaler.MaxObservedStartup:
		return fmt.Errorf("startup %s is longer than the %s the controller measures (a later Ready transition is taken for a readiness flap), so without spec.predictive.horizonSeconds it would forecast only %s ahead: set horizonSeconds to at least %d",
			o.Startup, scaler.MaxObservedStartup, scaler.DefaultHorizon, int((o.Startup+o.Sync)/time.Second))
	}
	return nil
}

// Violation is what makes a second a violation: the offered load above
// ready replicas × MaxRPSPerReplica.
type Violation struct {
	// MaxRPSPerReplica is the capacity at target, or the most one replica
	// may serve within the latency objective.
	MaxRPSPerReplica float64 `json:"maxRpsPerReplica"`
	// Latency is the resolved latency objective, if any.
	Latency *QueueModel `json:"latency,omitempty"`
}

// Violation resolves what a violation second is under cfg (see
// ReplayConfig).
func (o Options) Violation(cfg scaler.Config) (Violation, error) {
	if o.Latency == nil {
		return Violation{MaxRPSPerReplica: o.Capacity}, nil
	}
	m, err := o.Latency.resolve(o.Capacity, cfg.Metrics[0].Target.Utilization)
	if err != nil {
		return Violation{}, err
	}
	return Violation{MaxRPSPerReplica: m.maxRPS, Latency: &m}, nil
}

// Run replays the trace under cfg (see ReplayConfig) and scores it. Each
// second the offered load is the trace's rate; every Sync the simulated
// controller builds the pods and their CPU samples and calls scaler.Decide.
// New replicas become ready after Startup; scale-down removes starting
// replicas first, then the newest.
func Run(tr Trace, cfg scaler.Config, opt Options) (Result, error) {
	if err := opt.validate(cfg); err != nil {
		return Result{}, err
	}
	if len(cfg.Metrics) != 1 || cfg.Metrics[0].Target.Type != scaler.Utilization {
		return Result{}, errors.New("sim: config must come from ReplayConfig")
	}
	if len(tr.RPS) == 0 || tr.Step < 1 {
		return Result{}, errors.New("sim: empty trace")
	}
	violation, err := opt.Violation(cfg)
	if err != nil {
		return Result{}, err
	}
	s := newState(tr, cfg, opt)
	switch {
	case cfg.Predictive.Mode == v1alpha1.PredictiveOff:
	case opt.Forecaster != nil:
		s.model = opt.Forecaster
	default:
		m, err := predict.New(predict.DefaultConfig(cfg.Predictive.Season))
		if err != nil {
			return Result{}, fmt.Errorf("spec.predictive.seasonSeconds: %w", err)
		}
		s.model = m
	}
	var res Result
	sync := int64(opt.Sync / time.Second)
	for t := tr.Start; t < tr.End(); t++ {
		if (t-tr.Start)%sync == 0 {
			s.sync(t, &res)
		}
		rps := tr.At(t)
		n := int32(len(s.readyAt))
		ready := int32(s.readyCount(t))
		res.ReplicaSeconds += float64(n)
		if rps > float64(ready)*violation.MaxRPSPerReplica*(1+1e-9) {
			res.ViolationSeconds++
		}
		res.PeakReplicas = max(res.PeakReplicas, n)
		if opt.Observe != nil {
			opt.Observe(Point{T: t, RPS: rps, Replicas: n, Ready: ready, Forecast: s.lastForecast})
		}
	}
	return res, nil
}

// state is the simulated cluster and controller memory.
type state struct {
	tr      Trace
	cfg     scaler.Config
	opt     Options
	startup int64
	window  int64
	metric  scaler.MetricSpec

	// readyAt holds each replica's ready time, ascending: replicas are
	// created in order with the same start-up, so the ready ones are a
	// prefix, of length ready at the latest look (see readyCount).
	readyAt []int64
	ready   int
	// pods are the replicas' pods, kept from sync to sync: a pod changes
	// only when it becomes ready, and building hundreds at every sync was
	// a good part of a replay's time. The first running are Running and
	// Ready, and samples holds their samples. meta holds each pod's start
	// time and Ready condition, which the pods point to.
	pods    []scaler.Pod
	running int
	meta    []*podMeta
	nextID  int
	// horizon is the forecast's, planned on the pods as they were when
	// podsChanged was last cleared: it depends on nothing else that changes.
	horizon     time.Duration
	podsChanged bool

	history      scaler.History
	model        Forecaster
	lastForecast int32

	// containers is shared read-only by all pods; results holds samples.
	containers []scaler.Container
	samples    map[string]scaler.PodSample
	results    map[string]scaler.MetricResult
}

func newState(tr Trace, cfg scaler.Config, opt Options) *state {
	s := &state{
		tr: tr, cfg: cfg, opt: opt,
		startup: int64(opt.Startup / time.Second), window: int64(opt.MetricWindow / time.Second),
		metric:     cfg.Metrics[0],
		containers: []scaler.Container{{Name: "app", Requests: scaler.Requests{{Resource: cfg.Metrics[0].Resource, Milli: podRequestMilli}}}},
		samples:    map[string]scaler.PodSample{},
	}
	s.results = map[string]scaler.MetricResult{s.metric.Name: {PodValues: s.samples}}
	initial := int32(math.Ceil(tr.RPS[0] / opt.Capacity))
	initial = min(max(initial, cfg.MinReplicas), cfg.MaxReplicas)
	for range initial {
		s.add(tr.Start - s.startup - 3600)
	}
	return s
}

// podMeta is the fixed part of one replica's status.
type podMeta struct {
	start time.Time
	ready scaler.PodReady
}

// add creates a replica, Pending until its start-up has passed.
func (s *state) add(created int64) {
	m := &podMeta{
		start: time.Unix(created, 0),
		ready: scaler.PodReady{Status: scaler.ConditionTrue, LastTransitionTime: time.Unix(created+s.startup, 0)},
	}
	s.readyAt = append(s.readyAt, created+s.startup)
	s.meta = append(s.meta, m)
	s.pods = append(s.pods, scaler.Pod{
		Name:       "pod-" + strconv.Itoa(s.nextID),
		Created:    m.start,
		StartTime:  &m.start,
		Phase:      scaler.PodPending,
		Containers: s.containers,
	})
	s.nextID++
	s.podsChanged = true
}

// readyCount is how many replicas are ready at t, which is never before
// the latest look's: the count only grows from there until a scale-down.
func (s *state) readyCount(t int64) int {
	for s.ready < len(s.readyAt) && s.readyAt[s.ready] <= t {
		s.ready++
	}
	return s.ready
}

// load is the mean offered rate over the metrics window before t. Before
// the trace the load is its first row's, which the initial replicas were
// sized for: not zero, which would scale them down at the first sync.
func (s *state) load(t int64) float64 {
	var sum float64
	for u := t - s.window; u < t; u++ {
		sum += s.tr.At(max(u, s.tr.Start))
	}
	return sum / float64(s.window)
}

func (s *state) sync(t int64, res *Result) {
	now := time.Unix(t, 0)
	ready := s.readyCount(t)
	// Each ready replica takes an equal share; at Capacity rps it sits at
	// the target utilization.
	var perPod int64
	if ready > 0 {
		perPod = int64(math.Round(podRequestMilli * float64(s.metric.Target.Utilization) / 100 * s.load(t) / (float64(ready) * s.opt.Capacity)))
	}
	// The replicas ready since the last sync are Running and Ready now.
	for i := s.running; i < ready; i++ {
		s.pods[i].Phase = scaler.PodRunning
		s.pods[i].Ready = &s.meta[i].ready
		s.podsChanged = true
	}
	s.running = ready
	sample := scaler.PodSample{Milli: perPod, Timestamp: now, Window: s.opt.MetricWindow}
	for i := range ready {
		s.samples[s.pods[i].Name] = sample
	}

	current := int32(len(s.readyAt))
	in := scaler.Input{Config: s.cfg, SpecReplicas: current, StatusReplicas: current, Pods: s.pods, Results: s.results, History: s.history}
	if s.model != nil {
		if s.podsChanged {
			s.horizon, s.podsChanged = scaler.PlanHorizon(s.cfg.Predictive, s.pods, s.opt.Sync, s.opt.Sync).Horizon, false
		}
		if f, ok := s.model.Forecast(now, s.horizon, s.cfg.Predictive.Band); ok {
			in.Forecast = &scaler.Forecast{PeakDemand: f.Upper}
		}
	}
	d := scaler.Decide(in, now)
	s.history = d.History
	s.lastForecast = d.ForecastReplicas
	if s.model != nil && d.HasDemand {
		s.model.Observe(scaler.DemandTime(now, s.opt.MetricWindow), d.Demand)
	}
	if d.ForecastApplied {
		res.ForecastSyncs++
	}
	if d.Replicas == current {
		return
	}
	res.ScaleEvents++
	for int32(len(s.readyAt)) < d.Replicas {
		s.add(t)
	}
	if n := int(d.Replicas); len(s.readyAt) > n {
		// The newest replicas go first, which removes starting ones first.
		for i := n; i < s.running; i++ {
			delete(s.samples, s.pods[i].Name)
		}
		s.readyAt, s.pods, s.meta = s.readyAt[:n], s.pods[:n], s.meta[:n]
		s.ready, s.running = min(s.ready, n), min(s.running, n)
		s.podsChanged = true
	}
	s.history = s.history.RecordScale(s.cfg.Behavior, current, d.Replicas, now)
}
