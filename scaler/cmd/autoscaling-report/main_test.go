package main

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/trimtab/trimtab/scaler/sim"
)

func TestNewRowGoal(t *testing.T) {
	base := sim.Result{ReplicaSeconds: 1000, ViolationSeconds: 100}
	cases := []struct {
		name string
		pred sim.Result
		met  bool
	}{
		{"half the violations at 5 % cost", sim.Result{ReplicaSeconds: 1050, ViolationSeconds: 50}, true},
		{"too expensive", sim.Result{ReplicaSeconds: 1051, ViolationSeconds: 10}, false},
		{"not enough fewer violations", sim.Result{ReplicaSeconds: 1000, ViolationSeconds: 51}, false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			require.Equal(t, tc.met, newRow("t", "s", 1, base, tc.pred).Met)
		})
	}
	r := newRow("t", "s", 1, sim.Result{ReplicaSeconds: 1000}, sim.Result{ReplicaSeconds: 1000})
	require.False(t, r.HasViol)
	require.False(t, r.Met, "no baseline violations: nothing to halve")
}

func TestBusiestDay(t *testing.T) {
	zone := time.FixedZone("EDT", -4*3600)
	start := time.Date(1995, 7, 1, 0, 0, 0, 0, zone).Unix()
	tr := sim.Trace{Start: start, Step: 3600, RPS: make([]float64, 4*24)}
	for h := range tr.RPS {
		tr.RPS[h] = 1
		if h/24 == 2 {
			tr.RPS[h] = 5
		}
	}
	day := busiestDay(tr, []segment{{From: start, To: tr.End()}}, zone)
	require.Equal(t, segment{From: start + 2*86400, To: start + 3*86400}, day)

	// A day that crosses a segment's end is not a candidate.
	day = busiestDay(tr, []segment{{From: start, To: start + 2*86400 + 3600}}, zone)
	require.Equal(t, start, day.From)
}

func TestCollectorAverages(t *testing.T) {
	var pts []sim.Point
	obs := collector(&pts, segment{From: 100, To: 130}, 10)
	for s := int64(90); s < 140; s++ {
		obs(sim.Point{T: s, RPS: float64(s), Ready: 2})
	}
	require.Equal(t, []sim.Point{{T: 100, RPS: 104.5, Ready: 2}, {T: 110, RPS: 114.5, Ready: 2}}, pts,
		"points inside the day, averaged per step; the last open step is not emitted")
}

// TestLeastCost checks the bound against schedules computed by hand: four
// 15 s intervals at demands 1, 3, 1, 3 replicas (capacity 1), 1–5 replicas.
func TestLeastCost(t *testing.T) {
	tr := sim.Trace{Start: 0, Step: 15, RPS: []float64{1, 3, 1, 3}}
	segs := []segment{{From: 0, To: 60}}
	cases := []struct {
		name    string
		maxViol float64
		want    float64
	}{
		{"no violations: every interval at its demand", 0, 15 * (1 + 3 + 1 + 3)},
		// Leaving one busy interval at 1 replica saves 2 replicas × 15 s.
		{"one interval may violate", 15, 15 * (1 + 3 + 1 + 1)},
		{"all may violate: minReplicas throughout", 60, 15 * 4},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			require.InDelta(t, tc.want, leastCost(tr, segs, 1, 15, 1, 5, tc.maxViol), 1e-3)
		})
	}
}

func TestSmoothOracle(t *testing.T) {
	// One-minute steps alternating 8 and 12 rps. With half = 2, the centred
	// mean is 9.6 rps at an 8-rps step (8+12+8+12+8)/5 and 10.4 at a 12-rps
	// one; every step departs from it, and from the trailing mean, by 1.6 rps.
	rps := make([]float64, 180)
	for i := range rps {
		rps[i] = 8
		if i%2 == 1 {
			rps[i] = 12
		}
	}
	tr := sim.Trace{Start: 0, Step: 60, RPS: rps}
	cases := []struct {
		name      string
		z         float64
		ahead     int
		from      int64
		horizon   time.Duration
		wantUpper float64
		ok        bool
	}{
		{name: "unlimited foresight, no band: the highest centred mean over the horizon, in replicas", z: 0, ahead: -1, from: 90 * 60, horizon: time.Minute, wantUpper: 10.4 / 2, ok: true},
		{name: "the band is Z times the past hour's departures", z: 1, ahead: -1, from: 90 * 60, horizon: 0, wantUpper: (9.6 + 1.6) / 2, ok: true},
		{name: "no foresight: every step of the horizon gets the mean ending at the current step", z: 0, ahead: 0, from: 90 * 60, horizon: time.Minute, wantUpper: 9.6 / 2, ok: true},
		{name: "one step of foresight: the mean ends at the next step", z: 0, ahead: 1, from: 90 * 60, horizon: time.Minute, wantUpper: 10.4 / 2, ok: true},
		{name: "before the trace there is nothing to know", z: 1, ahead: -1, from: -60, horizon: time.Minute},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			o := newSmoothOracle(tr, 2, 2, tc.ahead)
			f, ok := o.Forecast(time.Unix(tc.from, 0), tc.horizon, tc.z)
			require.Equal(t, tc.ok, ok)
			require.InDelta(t, tc.wantUpper, f.Upper, 0.01)
		})
	}
}
