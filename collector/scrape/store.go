package scrape

import (
	"regexp"
	"sync"
	"time"

	dto "github.com/prometheus/client_model/go"
)

// ring is a fixed-capacity buffer of points, oldest overwritten first.
type ring struct {
	pts   []point
	start int
	n     int
	// dropped says points were overwritten: the series is older than
	// its oldest point.
	dropped bool
}

func newRing(capacity int) *ring { return &ring{pts: make([]point, capacity)} }

func (r *ring) add(p point) {
	if r.n < len(r.pts) {
		r.pts[(r.start+r.n)%len(r.pts)] = p
		r.n++
		return
	}
	r.pts[r.start] = p
	r.start = (r.start + 1) % len(r.pts)
	r.dropped = true
}

// window appends the points with from < t <= to, oldest first; truncated
// says the window reaches back past the oldest point the ring still holds
// after it overwrote older ones.
func (r *ring) window(from, to int64, out []point) (_ []point, truncated bool) {
	for i := range r.n {
		p := r.pts[(r.start+i)%len(r.pts)]
		if p.t > from && p.t <= to {
			out = append(out, p)
		}
	}
	return out, r.dropped && r.n > 0 && r.pts[r.start].t > from
}

// series is one buffered series of a pod.
type series struct {
	labels []labelPair
	le     float64
	ring   *ring
}

func (s *series) matches(m []matcher) bool {
	for _, mm := range m {
		v := ""
		for _, l := range s.labels {
			if l.name == mm.name {
				v = l.value
				break
			}
		}
		if !mm.re.MatchString(v) {
			return false
		}
	}
	return true
}

// matcher is one anchored label regex from matchLabels.
type matcher struct {
	name string
	re   *regexp.Regexp
}

// podStore holds the buffered series of one scrape endpoint.
type podStore struct {
	mu sync.Mutex
	// byName indexes series by sample name, then by series key.
	byName map[string]map[string]*series
	// types are the family types seen, for wrong-type errors.
	types map[string]dto.MetricType
	// interest maps family names to when a query last asked for them;
	// only those are buffered, which bounds memory to what is used.
	interest   map[string]time.Time
	lastScrape time.Time
	lastErr    error
	capacity   int
	// scraping is closed when the scrape under way ends; nil when none is.
	// Consumers collecting at once share one scrape: two could otherwise
	// deliver out of order, and a counter that seems to go back is a reset
	// to rate().
	scraping chan struct{}
}

func newPodStore(capacity int) *podStore {
	return &podStore{
		byName:   map[string]map[string]*series{},
		types:    map[string]dto.MetricType{},
		interest: map[string]time.Time{},
		capacity: capacity,
	}
}

// ingest appends the families the store is interested in, stamped at now,
// and returns how many samples it kept.
func (s *podStore) ingest(fams map[string]*dto.MetricFamily, now time.Time) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	t := now.UnixMilli()
	kept := 0
	var buf []sample
	for name := range s.interest {
		f, ok := fams[name]
		if !ok {
			continue
		}
		s.types[name] = f.GetType()
		buf = flatten(f, buf[:0])
		for i := range buf {
			smp := &buf[i]
			idx := s.byName[smp.name]
			if idx == nil {
				idx = map[string]*series{}
				s.byName[smp.name] = idx
			}
			k := smp.key()
			ser := idx[k]
			if ser == nil {
				ser = &series{labels: smp.labels, le: smp.le, ring: newRing(s.capacity)}
				idx[k] = ser
			}
			ser.ring.add(point{t: t, v: smp.value})
			kept++
		}
	}
	s.lastScrape = now
	s.lastErr = nil
	return kept
}

// want records interest in families and drops families nobody asked for
// since cutoff.
func (s *podStore) want(families []string, now, cutoff time.Time) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, f := range families {
		s.interest[f] = now
	}
	for f, at := range s.interest {
		if at.Before(cutoff) {
			delete(s.interest, f)
			for _, suffix := range []string{"", "_bucket", "_sum", "_count"} {
				delete(s.byName, f+suffix)
			}
		}
	}
}

func (s *podStore) seriesCount() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := 0
	for _, idx := range s.byName {
		n += len(idx)
	}
	return n
}
