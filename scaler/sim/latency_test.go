package sim

import (
	"math"
	"math/rand/v2"
	"slices"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/trimtab/trimtab/api/v1alpha1"
)

func TestQueueExceeds(t *testing.T) {
	cases := []struct {
		name      string
		q         queue
		lambda, t float64
		want      float64
	}{
		// M/M/1's response time is exponential at μ − λ.
		{"M/M/1 at 50 %", queue{servers: 1, rate: 10}, 5, 0.3, math.Exp(-5 * 0.3)},
		{"M/M/1 at 90 %", queue{servers: 1, rate: 10}, 9, 2, math.Exp(-1 * 2)},
		// With no arrivals nobody waits: the service time alone.
		{"idle M/M/4", queue{servers: 4, rate: 2}, 0, 1.5, math.Exp(-2 * 1.5)},
		// M/M/2 at ρ = 0.5 waits with probability 1/3 (Erlang C); the wait
		// is then exponential at cμ − λ = 1, as is the service (μ = 1):
		// P(T > t) = 2/3·e^(−t) + 1/3·(1 + t)·e^(−t).
		{"M/M/2, equal wait and service rates", queue{servers: 2, rate: 1}, 1, 2, (2.0/3 + (1+2.0)/3) * math.Exp(-2)},
		{"at saturation", queue{servers: 3, rate: 1}, 3, 100, 1},
		{"past saturation", queue{servers: 3, rate: 1}, 7, 100, 1},
		// Rates 10^6 apart: the terms must neither overflow nor cancel.
		{"a long limit against a short service", queue{servers: 1, rate: 1e6}, 1e6 - 1, 3, math.Exp(-3)},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			require.InEpsilon(t, tc.want, tc.q.exceeds(tc.lambda, tc.t), 1e-9)
		})
	}
}

// TestQueueExceedsMatchesSimulation checks the closed form against a
// first-come-first-served M/M/c queue simulated request by request.
func TestQueueExceedsMatchesSimulation(t *testing.T) {
	for _, c := range []struct {
		servers        int
		rate, lambda   float64
		limits         []float64
		simulatedTasks int
	}{
		{servers: 3, rate: 1, lambda: 2.4, limits: []float64{0.5, 2, 5}, simulatedTasks: 400_000},
		{servers: 16, rate: 0.5, lambda: 7, limits: []float64{1, 4, 8}, simulatedTasks: 400_000},
	} {
		r := rand.New(rand.NewPCG(1, uint64(c.servers)))
		free := make([]float64, c.servers)
		responses := make([]float64, 0, c.simulatedTasks)
		var now float64
		for range c.simulatedTasks {
			now += r.ExpFloat64() / c.lambda
			i := slices.Index(free, slices.Min(free))
			start := max(now, free[i])
			free[i] = start + r.ExpFloat64()/c.rate
			responses = append(responses, free[i]-now)
		}
		q := queue{servers: c.servers, rate: c.rate}
		for _, limit := range c.limits {
			var over int
			for _, resp := range responses[c.simulatedTasks/10:] {
				if resp > limit {
					over++
				}
			}
			simulated := float64(over) / float64(len(responses)-c.simulatedTasks/10)
			require.InDelta(t, simulated, q.exceeds(c.lambda, limit), 0.01, "M/M/%d at λ=%v, t=%v", c.servers, c.lambda, limit)
		}
	}
}

func TestErlangCStaysInRangeForManyServers(t *testing.T) {
	q := queue{servers: MaxConcurrency, rate: 1}
	for _, a := range []float64{0, 1000, 99_000, 99_999.9} {
		p := q.erlangC(a)
		require.False(t, math.IsNaN(p), a)
		require.GreaterOrEqual(t, p, 0.0)
		require.LessOrEqual(t, p, 1.0)
	}
	require.Less(t, q.erlangC(99_000), q.erlangC(99_999.9))
}

func TestParseLatencyObjective(t *testing.T) {
	good := []struct {
		in       string
		quantile float64
		limit    time.Duration
	}{
		{"300ms", 0.95, 300 * time.Millisecond},
		{"p99=1s", 0.99, time.Second},
		{"p99.9=2s", 0.999, 2 * time.Second},
		{"p50=1m", 0.5, time.Minute},
	}
	for _, tc := range good {
		t.Run(tc.in, func(t *testing.T) {
			q, l, err := ParseLatencyObjective(tc.in)
			require.NoError(t, err)
			require.InDelta(t, tc.quantile, q, 1e-12)
			require.Equal(t, tc.limit, l)
		})
	}
	bad := map[string]string{
		"":         `want DURATION (a p95) or pQ=DURATION`,
		"300":      `want DURATION (a p95) or pQ=DURATION`,
		"q95=1s":   `the quantile "q95" must be p followed by a percentage`,
		"p100=1s":  `the quantile "p100" must be`,
		"p0=1s":    `the quantile "p0" must be`,
		"pNaN=1s":  `the quantile "pNaN" must be`,
		"p95=":     `want DURATION (a p95) or pQ=DURATION`,
		"p95=-1s":  "the limit must be positive",
		"0s":       "the limit must be positive",
		"p95=1s=2": `want DURATION (a p95) or pQ=DURATION`,
	}
	for in, want := range bad {
		t.Run("bad "+in, func(t *testing.T) {
			_, _, err := ParseLatencyObjective(in)
			require.ErrorContains(t, err, want)
		})
	}
}

func FuzzParseLatencyObjective(f *testing.F) {
	for _, s := range []string{"300ms", "p99=1s", "p99.9=2s", "p=1s", "p95=0"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in string) {
		q, l, err := ParseLatencyObjective(in)
		if err != nil {
			return
		}
		require.True(t, q > 0 && q < 1, q)
		require.Positive(t, l)
	})
}

func TestLatencySLOResolve(t *testing.T) {
	base := LatencySLO{Quantile: 0.95, Limit: 10 * time.Second, Concurrency: 4}
	m, err := base.resolve(1, 70)
	require.NoError(t, err)
	// Derived: 4 requests at once, 1 rps at 70 % busy → 2.8 s each.
	require.Equal(t, "2.8s", m.ServiceTime)
	require.InDelta(t, 4/2.8, m.SaturationRPS, 1e-12)
	q := queue{servers: 4, rate: 1 / 2.8}
	require.LessOrEqual(t, q.exceeds(m.maxRPS, 10), 1-base.Quantile)
	require.Greater(t, q.exceeds(m.maxRPS*(1+1e-9), 10), 1-base.Quantile, "maxRPS is the boundary")

	cases := map[string]func(*LatencySLO, *float64, *int32){
		"the quantile must be above 0 and below 1":  func(l *LatencySLO, _ *float64, _ *int32) { l.Quantile = 1 },
		"the limit must be positive":                func(l *LatencySLO, _ *float64, _ *int32) { l.Limit = 0 },
		"concurrency must be a whole number from 1": func(l *LatencySLO, _ *float64, _ *int32) { l.Concurrency = 0 },
		"service time must be positive":             func(l *LatencySLO, _ *float64, _ *int32) { l.ServiceTime = -time.Second },
		"utilization target (120%) is not below 100%, so a replica's saturation cannot be read from it: give the service time": func(_ *LatencySLO, _ *float64, u *int32) { *u = 120 },
		"saturates at 3.333 rps, not above its capacity at target (5 rps)": func(l *LatencySLO, c *float64, _ *int32) {
			l.ServiceTime, l.Concurrency, *c = 300*time.Millisecond, 1, 5
		},
		"an idle replica's p95 is already 8.38805s (service time 2.8s)": func(l *LatencySLO, _ *float64, _ *int32) { l.Limit = 8 * time.Second },
		"an idle replica's p50 is already 69ns (service time 100ns)": func(l *LatencySLO, _ *float64, _ *int32) {
			l.Quantile, l.Limit, l.Concurrency, l.ServiceTime = 0.5, 10*time.Nanosecond, 1, 100*time.Nanosecond
		},
		"the service time derived from capacity 1e-09 rps is longer than 2562047h47m16.854775807s": func(l *LatencySLO, c *float64, _ *int32) {
			l.Concurrency, *c = 1000, 1e-9
		},
		"the service time derived from capacity 1e+12 rps is below a nanosecond": func(_ *LatencySLO, c *float64, _ *int32) { *c = 1e12 },
	}
	for want, edit := range cases {
		t.Run(want, func(t *testing.T) {
			l, capacity, utilization := base, 1.0, int32(70)
			edit(&l, &capacity, &utilization)
			_, err := l.resolve(capacity, utilization)
			require.ErrorContains(t, err, want)
		})
	}
}

// TestLatencyObjectiveDefinesViolations replays a load the HPA holds at
// exactly its target: no second is above capacity, but whether a second
// violates a latency objective depends on the queue at 70 % busy.
func TestLatencyObjectiveDefinesViolations(t *testing.T) {
	tr := series(1800, func(int) float64 { return 5 })
	cases := []struct {
		name      string
		objective *LatencySLO
		want      float64
	}{
		{"load above capacity", nil, 0},
		// M/M/1 at 70 %: p95 = ln 20 · 0.7 s / 0.3 ≈ 7.0 s.
		{"p95 within 7.5 s", &LatencySLO{Quantile: 0.95, Limit: 7500 * time.Millisecond, Concurrency: 1}, 0},
		{"p95 within 6.5 s", &LatencySLO{Quantile: 0.95, Limit: 6500 * time.Millisecond, Concurrency: 1}, 1800},
		{"p99 within 7.5 s", &LatencySLO{Quantile: 0.99, Limit: 7500 * time.Millisecond, Concurrency: 1}, 1800},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			opt := DefaultOptions()
			opt.Latency = tc.objective
			res, err := Run(tr, cpuConfig(1, 20, v1alpha1.PredictiveOff), opt)
			require.NoError(t, err)
			require.Equal(t, int32(5), res.PeakReplicas)
			require.Equal(t, tc.want, res.ViolationSeconds)
		})
	}
}
