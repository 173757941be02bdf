// Package predict forecasts a load series for predictive scaling.
//
// The model is additive Holt-Winters (triple exponential smoothing) on a
// fixed grid of bins aligned to Unix time, so that a daily season lines up
// with the time of day:
//
//	level_t  = α (y_t − s_slot(t)) + (1−α)(level + trend)
//	trend_t  = β (level_t − level) + (1−β) trend   (first season only)
//	s_slot(t) = γ_bin (y_t − level_t) + (1−γ_bin) s_slot(t)
//	ŷ_{t+h}  = level + h·trend + s̄(t+h)
//
// where a seasonal slot spans BinsPerSlot consecutive bins, each of which
// updates it with γ_bin = 1 − (1−γ)^(1/BinsPerSlot) (so that a slot moves
// by γ per season, as with one bin per slot), and s̄(t) is the mean of the
// slots of the bins up to SeasonSmoothing either side of t: a slot learns
// from a few noisy bins per season, so its neighbours' average is a better
// estimate of the shape than the slot alone. Slots wider than a bin keep a
// daily model small (288 five-minute slots instead of 1,440) at little cost
// to a shape that is read through a 15-minute average anyway.
//
// Observations arrive with timestamps at any rate; each bin's mean is one
// sample y_t. During the first season the model is Holt's (level and trend,
// no season) and remembers each slot's mean bin; when the first season is
// complete the seasonal slots start as each slot's deviation from that
// season's mean (a seasonal-naive start), afterwards smoothed with γ_bin,
// and the trend is dropped. With a season of many bins, a trend the level
// feeds makes level, trend and season feed each other's errors: on a
// steady daily load the one-step error grew tenfold in a year and a half
// and without bound after (TestStableOnSeasonalLoad). The level, which
// moves every bin, follows growth from one season to the next.
// Skipped bins advance the level by the trend without learning; a gap of a
// whole season or more re-anchors level and trend on the next bin.
//
// The upper forecast adds z standard deviations of the one-step error
// (an exponentially weighted mean of squared errors), so that scaling on it
// covers the noise the model cannot predict; z is the caller's, since it
// trades cost for violations and does not change what the model learns.
// Everything is pure: no clock, the caller passes timestamps.
package predict

import (
	"errors"
	"fmt"
	"math"
	"time"
)

// Config parameterizes the model.
type Config struct {
	// Step is the bin width; Season must be a whole number of steps.
	Step   time.Duration
	Season time.Duration
	// Alpha, Beta and Gamma are the smoothing factors of level, trend (in
	// the first season only) and season, each in [0, 1].
	Alpha, Beta, Gamma float64
	// ErrorDecay is the weight of the newest squared error in the error
	// variance estimate, in (0, 1].
	ErrorDecay float64
	// Warmup is how many bins must be observed before forecasts are given.
	Warmup int
	// SeasonSmoothing is the half-width, in bins, of the moving average
	// through which the seasonal slots are read: a slot learns from a few
	// noisy bins per season, and its neighbours carry the same shape.
	SeasonSmoothing int
	// BinsPerSlot is how many consecutive bins share a seasonal slot; it
	// must divide the season's bins.
	BinsPerSlot int
}

// maxSlots bounds a default model's seasonal slots: 288 float32 (1.1 KB)
// is what a controller with 10,000 predictive policies can keep for each
// within its memory goal (docs/performance.md).
const maxSlots = 288

// maxBins bounds a default model's bins per season: one-minute bins up to
// a day.
const maxBins = 1440

// DefaultConfig is the configuration trimtab uses for a season, which must
// be a whole number of minutes (Validate says so otherwise): one-minute bins
// (for seasons over a day, the fewest whole minutes that divide the season
// into at most 1440 bins) sharing at most maxSlots seasonal slots (five bins
// each for a day). The level moves
// slowly (α = 0.1) because one-minute bins are mostly noise around the
// season's shape, the trend slower still; the seasonal slots are read
// through a moving average 1/96 of the season wide (15 minutes of a day).
// These values were chosen on the traces of docs/autoscaling.md.
func DefaultConfig(season time.Duration) Config {
	step := time.Minute
	if season%time.Minute == 0 {
		step *= time.Duration(groupSize(int(season/time.Minute), maxBins))
	}
	bins := int(season / step)
	return Config{
		Step: step, Season: season,
		Alpha: 0.1, Beta: 0.01, Gamma: 0.2,
		ErrorDecay: 0.02, Warmup: 30,
		SeasonSmoothing: bins / 192,
		BinsPerSlot:     groupSize(bins, maxSlots),
	}
}

// maxObservation bounds the values Observe learns: a demand in replicas,
// far beyond any replica count, and small enough that neither its square
// nor a float32 seasonal term overflows.
const maxObservation = 1e15

// MaxSeason is the longest season CheckSeason accepts: a month, the longest
// cycle a fixed period describes (months differ in length) and a history
// read back after a restart can cover.
const MaxSeason = 31 * 24 * time.Hour

// CheckSeason says whether DefaultConfig models a season well, and if not
// how to fix it: a whole number of minutes up to MaxSeason, cut into at
// least half of maxBins bins of whole minutes when it is longer than a day.
// Any whole number of hours is. A season of a prime number of minutes
// would otherwise be a single bin, and the model would see no shape in it.
func CheckSeason(season time.Duration) error {
	switch {
	case season < time.Minute || season%time.Minute != 0:
		return fmt.Errorf("must be a whole number of minutes (a multiple of 60 seconds, at least 60): the forecaster learns one-minute bins; got %d s", int64(season/time.Second))
	case season > MaxSeason:
		return fmt.Errorf("must be at most %d s (31 days), got %d s", int64(MaxSeason/time.Second), int64(season/time.Second))
	}
	minutes := int(season / time.Minute)
	if bins := minutes / groupSize(minutes, maxBins); minutes > maxBins && bins < maxBins/2 {
		hours := season.Truncate(time.Hour)
		return fmt.Errorf("%d s is %d minutes, which make only %d equal bins of whole minutes (at most %d, of %d minutes each): use a whole number of hours, e.g. %d or %d",
			int64(season/time.Second), minutes, bins, maxBins, minutes/bins, int64(hours/time.Second), int64((hours+time.Hour)/time.Second))
	}
	return nil
}

// groupSize is the smallest divisor of n that cuts it into at most most
// equal groups: minutes per bin, bins per slot.
func groupSize(n, most int) int {
	k := max(1, (n+most-1)/most)
	for n%k != 0 {
		k++
	}
	return k
}

// Validate names the first bad field.
func (c Config) Validate() error {
	switch {
	case c.Step < time.Second || c.Step%time.Second != 0:
		return fmt.Errorf("predict: step must be a positive whole number of seconds, got %s", c.Step)
	case c.Season < c.Step || c.Season%c.Step != 0:
		return fmt.Errorf("predict: season %s must be a positive multiple of step %s", c.Season, c.Step)
	case !unit(c.Alpha) || !unit(c.Beta) || !unit(c.Gamma):
		return errors.New("predict: alpha, beta and gamma must be in [0, 1]")
	case c.ErrorDecay <= 0 || c.ErrorDecay > 1:
		return fmt.Errorf("predict: errorDecay must be in (0, 1], got %v", c.ErrorDecay)
	case c.Warmup < 0:
		return errors.New("predict: warmup must not be negative")
	case c.SeasonSmoothing < 0 || int64(2*c.SeasonSmoothing+1) > int64(c.Season/c.Step):
		return fmt.Errorf("predict: seasonSmoothing must be between 0 and half the season's bins, got %d", c.SeasonSmoothing)
	case c.BinsPerSlot < 1 || int64(c.Season/c.Step)%int64(c.BinsPerSlot) != 0:
		return fmt.Errorf("predict: binsPerSlot must be a positive divisor of the season's %d bins, got %d", c.Season/c.Step, c.BinsPerSlot)
	}
	return nil
}

func unit(x float64) bool { return x >= 0 && x <= 1 }

// Model is a Holt-Winters forecaster. It is not safe for concurrent use.
type Model struct {
	cfg   Config
	step  int64
	bins  int64 // per season
	slots int64
	// gamma is γ_bin, the seasonal factor applied per bin.
	gamma float64

	level, trend float64
	// season holds, per slot, the seasonal term once the first season is
	// complete and the mean of that season's bins before (seen marks which
	// slots have one): float32 and one array because a controller keeps a
	// model for each of up to thousands of predictive policies.
	season   []float32
	seen     []uint64
	seasonal bool
	started  bool
	reanchor bool
	learnt   int // bins
	// slotBins counts the bins averaged into the first season's current
	// slot, slotBin's.
	slotBins int
	slotBin  int64

	// open bin being accumulated
	bin    int64
	sum    float64
	n      int
	hasBin bool

	errVar  float64
	absErr  float64
	lastErr float64
}

// New returns an empty model.
func New(cfg Config) (*Model, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	bins := int64(cfg.Season / cfg.Step)
	slots := bins / int64(cfg.BinsPerSlot)
	return &Model{
		cfg: cfg, step: int64(cfg.Step / time.Second), bins: bins, slots: slots,
		gamma:  1 - math.Pow(1-cfg.Gamma, 1/float64(cfg.BinsPerSlot)),
		season: make([]float32, slots), seen: make([]uint64, (slots+63)/64),
	}, nil
}

// Observe adds one observation. Observations older than the open bin are
// ignored: the model only moves forward. One older by more than a season
// means the clock went back (or the open bin came from a clock that ran
// ahead): the open bin is dropped and the model re-anchors on the new time,
// keeping its season, rather than ignore every observation until the clock
// catches up with one bad timestamp.
func (m *Model) Observe(t time.Time, v float64) {
	// NaN and ±Inf, and finite values so large that the squared one-step
	// error overflows to +Inf (and level and season to NaN, for good), are
	// no load: a demand is a replica count.
	if !(math.Abs(v) <= maxObservation) {
		return
	}
	b := floorDiv(t.Unix(), m.step)
	switch {
	case !m.hasBin:
		m.bin, m.hasBin = b, true
	case b < m.bin-m.bins:
		m.bin, m.sum, m.n, m.reanchor = b, 0, 0, m.started
	case b < m.bin:
		return
	case b > m.bin:
		m.close(m.sum / float64(m.n))
		if gap := b - m.bin - 1; gap >= m.bins {
			m.reanchor = true
		} else {
			m.level += float64(gap) * m.trend
		}
		m.bin, m.sum, m.n = b, 0, 0
	}
	m.sum += v
	m.n++
}

func (m *Model) slot(bin int64) int64 {
	s := floorDiv(bin, int64(m.cfg.BinsPerSlot)) % m.slots
	if s < 0 {
		s += m.slots
	}
	return s
}

// close learns from the finished open bin's mean y.
func (m *Model) close(y float64) {
	s := m.slot(m.bin)
	m.learnt++
	switch {
	case !m.started:
		m.level, m.trend, m.started = y, 0, true
	case m.reanchor:
		m.level, m.trend, m.reanchor = y-m.seasonAt(s), 0, false
	default:
		e := y - (m.level + m.trend + m.smoothSeason(m.bin))
		m.lastErr = e
		d := m.cfg.ErrorDecay
		m.errVar = (1-d)*m.errVar + d*e*e
		m.absErr = (1-d)*m.absErr + d*math.Abs(e)
		level := m.cfg.Alpha*(y-m.seasonAt(s)) + (1-m.cfg.Alpha)*(m.level+m.trend)
		if !m.seasonal {
			m.trend = m.cfg.Beta*(level-m.level) + (1-m.cfg.Beta)*m.trend
		}
		m.level = level
	}
	if !m.seasonal {
		// First season: remember the slot's mean bin; the season reads
		// as zero.
		slotBin := floorDiv(m.bin, int64(m.cfg.BinsPerSlot))
		if !m.wasSeen(int(s)) || slotBin != m.slotBin {
			m.season[s], m.slotBins, m.slotBin = 0, 0, slotBin
		}
		m.slotBins++
		m.season[s] += float32((y - float64(m.season[s])) / float64(m.slotBins))
		m.seen[s/64] |= 1 << (s % 64)
		if m.learnt >= int(m.bins) {
			m.startSeason()
		}
		return
	}
	m.season[s] = float32(m.gamma*(y-m.level) + (1-m.gamma)*float64(m.season[s]))
}

// startSeason turns the first season's slot means into seasonal deviations
// from their mean, which becomes the level; slots never seen start at zero.
func (m *Model) startSeason() {
	var sum float64
	var n int
	for i, y := range m.season {
		if m.wasSeen(i) {
			sum += float64(y)
			n++
		}
	}
	mean := sum / float64(n)
	for i, y := range m.season {
		if m.wasSeen(i) {
			m.season[i] = float32(float64(y) - mean)
		} else {
			m.season[i] = 0
		}
	}
	m.level, m.trend, m.seasonal, m.seen = mean, 0, true, nil
}

func (m *Model) wasSeen(slot int) bool { return m.seen[slot/64]&(1<<(slot%64)) != 0 }

// seasonAt is slot s's seasonal term: zero until the first season is
// complete, while the slots hold raw bins.
func (m *Model) seasonAt(s int64) float64 {
	if !m.seasonal {
		return 0
	}
	return float64(m.season[s])
}

// Forecast is the model's outlook over a horizon.
type Forecast struct {
	// Peak is the highest point forecast over the horizon.
	Peak float64
	// Upper is the highest upper forecast (point + z·σ) over the horizon;
	// predictive scaling acts on it.
	Upper float64
}

// Forecast predicts the bins overlapping [from, from+horizon], with an upper
// band z one-step error deviations wide. ok is false until Warmup bins have
// been learnt, and from a season after the latest observation until the
// next one re-anchors the level.
func (m *Model) Forecast(from time.Time, horizon time.Duration, z float64) (Forecast, bool) {
	first := floorDiv(from.Unix(), m.step)
	// After a season without observations the next one re-anchors the
	// level; until then the model's outlook is stale.
	if !m.started || m.reanchor || m.learnt < m.cfg.Warmup || first-m.bin > m.bins {
		return Forecast{}, false
	}
	last := max(floorDiv(from.Add(horizon).Unix(), m.step), first)
	sigma := z * math.Sqrt(m.errVar)
	f := Forecast{Peak: math.Inf(-1), Upper: math.Inf(-1)}
	// Bins are relative to the last closed bin (m.bin - 1). A bin before
	// it (from behind the latest observation: the clock went back) is
	// forecast at its own time of day, one step ahead.
	for b := first; b <= last; b++ {
		h := float64(max(b-(m.bin-1), 1))
		p := m.level + h*m.trend + m.smoothSeason(b)
		f.Peak = max(f.Peak, p)
		f.Upper = max(f.Upper, p+sigma)
	}
	f.Peak, f.Upper = max(f.Peak, 0), max(f.Upper, 0)
	return f, true
}

// smoothSeason is the seasonal term of bin b: the mean of the slots of the
// bins up to SeasonSmoothing either side (wrapping around the season).
func (m *Model) smoothSeason(b int64) float64 {
	k := int64(m.cfg.SeasonSmoothing)
	if k == 0 || !m.seasonal {
		return m.seasonAt(m.slot(b))
	}
	var sum float64
	for i := b - k; i <= b+k; i++ {
		sum += float64(m.season[m.slot(i)])
	}
	return sum / float64(2*k+1)
}

// Accuracy is the one-step forecast error, for dashboards.
type Accuracy struct {
	// Last is the latest one-step error (actual − forecast).
	Last float64
	// MeanAbsolute and RMS are exponentially weighted over recent bins.
	MeanAbsolute float64
	RMS          float64
}

// Accuracy reports the recent one-step error.
func (m *Model) Accuracy() Accuracy {
	return Accuracy{Last: m.lastErr, MeanAbsolute: m.absErr, RMS: math.Sqrt(m.errVar)}
}

func floorDiv(a, b int64) int64 {
	q := a / b
	if a%b != 0 && (a < 0) != (b < 0) {
		q--
	}
	return q
}
