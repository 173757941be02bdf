package sim

import (
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"
)

// LatencySLO makes a replay count the seconds in which a response-time
// quantile exceeds a limit, instead of the seconds in which the offered load
// exceeds ready capacity at target. A target utilization leaves headroom, and
// how much of it a latency objective may use depends on the replica's
// queueing: each ready replica takes an equal share of the load and is
// modelled as an M/M/c queue (Poisson arrivals, exponential service times,
// Concurrency requests served at once, first come first served), stationary
// within each second. A second whose share drives the queue past its
// saturation violates the objective whatever the limit.
type LatencySLO struct {
	// Quantile is the response-time quantile the objective bounds, in
	// (0, 1): 0.95 for a p95.
	Quantile float64
	// Limit is the most the quantile may be.
	Limit time.Duration
	// Concurrency is how many requests one replica serves at once.
	Concurrency int
	// ServiceTime is a request's mean time on an idle replica. Zero
	// derives it from the capacity and the utilization target: a replica
	// serving Capacity requests per second is busy the target's share of
	// the time, as the simulator's CPU samples say.
	ServiceTime time.Duration
}

// MaxConcurrency bounds LatencySLO.Concurrency: the model is exact for any
// count, but each evaluation costs a pass over the servers.
const MaxConcurrency = 100_000

// ParseLatencyObjective reads an objective written "DURATION" (a p95) or
// "pQ=DURATION", e.g. "300ms", "p99=1s" or "p99.9=2s".
func ParseLatencyObjective(s string) (quantile float64, limit time.Duration, err error) {
	const form = `want DURATION (a p95) or pQ=DURATION, e.g. 300ms or p99=1s`
	quantile = 0.95
	text := s
	if q, d, ok := strings.Cut(s, "="); ok {
		pct, found := strings.CutPrefix(q, "p")
		v, perr := strconv.ParseFloat(pct, 64)
		if !found || perr != nil || !(v > 0 && v < 100) {
			return 0, 0, fmt.Errorf("%q: the quantile %q must be p followed by a percentage above 0 and below 100, e.g. p95 or p99.9", s, q)
		}
		quantile, text = v/100, d
	}
	limit, err = time.ParseDuration(text)
	if err != nil {
		return 0, 0, fmt.Errorf("%q: %s", s, form)
	}
	if limit <= 0 {
		return 0, 0, fmt.Errorf("%q: the limit must be positive", s)
	}
	return quantile, limit, nil
}

// QueueModel is a LatencySLO resolved against a replay: the service time in
// use and the busiest a replica may be while it meets the objective.
type QueueModel struct {
	Quantile    float64 `json:"quantile"`
	Limit       string  `json:"limit"`
	Concurrency int     `json:"concurrency"`
	// ServiceTime is a request's mean time on an idle replica, given or
	// derived.
	ServiceTime string `json:"serviceTime"`
	// SaturationRPS is the request rate at which one replica is always
	// busy: Concurrency / ServiceTime.
	SaturationRPS float64 `json:"saturationRps"`
	// maxRPS is the highest request rate one replica may receive while the
	// quantile stays within the limit (Violation.MaxRPSPerReplica).
	maxRPS float64
}

// resolve checks the objective against the replica's capacity at target
// (rps) and the policy's utilization target (percent), and finds maxRPS.
func (l LatencySLO) resolve(capacity float64, utilization int32) (QueueModel, error) {
	switch {
	case !(l.Quantile > 0 && l.Quantile < 1):
		return QueueModel{}, fmt.Errorf("latency objective: the quantile must be above 0 and below 1, got %v", l.Quantile)
	case l.Limit <= 0:
		return QueueModel{}, fmt.Errorf("latency objective: the limit must be positive, got %s", l.Limit)
	case l.Concurrency < 1 || l.Concurrency > MaxConcurrency:
		return QueueModel{}, fmt.Errorf("concurrency must be a whole number from 1 to %d, got %d", MaxConcurrency, l.Concurrency)
	case l.ServiceTime < 0:
		return QueueModel{}, fmt.Errorf("service time must be positive, got %s", l.ServiceTime)
	}
	service := l.ServiceTime
	if service == 0 {
		if utilization >= 100 {
			return QueueModel{}, fmt.Errorf("the policy's utilization target (%d%%) is not below 100%%, so a replica's saturation cannot be read from it: give the service time", utilization)
		}
		nanos := float64(l.Concurrency) * float64(utilization) / 100 / capacity * float64(time.Second)
		switch {
		case nanos < 1:
			return QueueModel{}, fmt.Errorf("the service time derived from capacity %v rps is below a nanosecond: give the service time", capacity)
		case nanos >= math.MaxInt64:
			return QueueModel{}, fmt.Errorf("the service time derived from capacity %v rps is longer than %s: give the service time", capacity, time.Duration(math.MaxInt64))
		}
		service = time.Duration(nanos)
	}
	m := QueueModel{Quantile: l.Quantile, Limit: l.Limit.String(), Concurrency: l.Concurrency, ServiceTime: service.String(),
		SaturationRPS: float64(l.Concurrency) / service.Seconds()}
	if m.SaturationRPS <= capacity {
		return QueueModel{}, fmt.Errorf("a replica serving %d requests at once in %s each saturates at %.4g rps, not above its capacity at target (%v rps): lower the service time or the capacity, or raise the concurrency",
			l.Concurrency, service, m.SaturationRPS, capacity)
	}
	q := queue{servers: l.Concurrency, rate: 1 / service.Seconds()}
	tail := 1 - l.Quantile
	limit := l.Limit.Seconds()
	if q.exceeds(0, limit) > tail {
		return QueueModel{}, fmt.Errorf("latency objective p%s ≤ %s: an idle replica's p%s is already %s (service time %s): raise the limit, or give a shorter service time",
			percent(l.Quantile), l.Limit, percent(l.Quantile), roundDuration(time.Duration(-math.Log(tail)*service.Seconds()*float64(time.Second))), service)
	}
	// The tail grows with the arrival rate, from e^(−μ·limit) when idle to
	// 1 at saturation; bisect for the rate where it reaches 1 − quantile.
	lo, hi := 0.0, m.SaturationRPS
	for range 200 {
		mid := (lo + hi) / 2
		if mid == lo || mid == hi {
			break
		}
		if q.exceeds(mid, limit) > tail {
			hi = mid
		} else {
			lo = mid
		}
	}
	m.maxRPS = lo
	return m, nil
}

// roundDuration keeps a duration for a message to microseconds, or to
// nanoseconds below a millisecond, where microseconds would lose it.
func roundDuration(d time.Duration) time.Duration {
	if d < time.Millisecond {
		return d
	}
	return d.Round(time.Microsecond)
}

func percent(q float64) string { return strconv.FormatFloat(100*q, 'f', -1, 64) }

// queue is an M/M/c queue: servers, each serving rate requests per second.
type queue struct {
	servers int
	rate    float64
}

// exceeds is P(T > t): the probability that a request's response time
// (waiting plus service) under arrivals at lambda per second exceeds t
// seconds; 1 at or past saturation.
func (q queue) exceeds(lambda, t float64) float64 {
	capacity := float64(q.servers) * q.rate
	if lambda >= capacity {
		return 1
	}
	wait := q.erlangC(lambda / q.rate)
	// A request waits with probability wait, and its wait is then
	// exponential at rate δ = cμ − λ; the response is that plus an
	// exponential service at μ. P(Exp(a) + Exp(b) > t), with a ≤ b, is
	// e^(−at)·(1 + a·t·g((b−a)·t)), g(x) = (1 − e^(−x))/x, which stays
	// finite however far apart the rates are.
	delta := capacity - lambda
	a, b := min(delta, q.rate), max(delta, q.rate)
	sum := math.Exp(-a*t) * (1 + a*t*g((b-a)*t))
	return (1-wait)*math.Exp(-q.rate*t) + wait*sum
}

func g(x float64) float64 {
	if x == 0 {
		return 1
	}
	return -math.Expm1(-x) / x
}

// erlangC is the probability that an arrival waits, for an offered load of
// a = λ/μ servers, a < servers; through Erlang B's recurrence, which stays
// within [0, 1] for any server count.
func (q queue) erlangC(a float64) float64 {
	blocking := 1.0
	for k := 1; k <= q.servers; k++ {
		blocking = a * blocking / (float64(k) + a*blocking)
	}
	c := float64(q.servers)
	return c * blocking / (c - a*(1-blocking))
}
