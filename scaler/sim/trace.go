// Package sim replays a request-rate trace through the scaler's Decide, the
// same function the controller calls, and scores the result: cost in
// replica-seconds and SLO violation as seconds of demand above ready
// capacity.
package sim

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"math"
	"strconv"
	"strings"
)

// maxTraceSeconds bounds a trace's span to two years: the replay runs
// every second of it (a year takes several seconds), and a malformed
// timestamp must not make it run for minutes.
const maxTraceSeconds = 2 * 366 * 24 * 3600

// maxTracePoints bounds the dense series (steps between first and last
// row): 80 MB, 115 days of one row a second.
const maxTracePoints = 10_000_000

// maxUnixSeconds is the last second of the year 9999. Larger timestamps
// are most likely milliseconds.
const maxUnixSeconds = 253402300799

// Trace is a request-rate series on a fixed step, dense: rows missing from
// the CSV are zero.
type Trace struct {
	// Start is the Unix second of the first row.
	Start int64
	// Step is the spacing in seconds.
	Step int64
	// RPS holds one rate per step from Start.
	RPS []float64
	// Rows is how many rows ParseTrace read (0 for a trace made otherwise);
	// the other steps were missing rows, counted as 0.
	Rows int
	// StepLine is the line before which ParseTrace found the smallest gap
	// between rows, which it took for the step.
	StepLine int
}

// End is the Unix second just after the last step.
func (t Trace) End() int64 { return t.Start + int64(len(t.RPS))*t.Step }

// At is the rate at Unix second s (0 outside the trace).
func (t Trace) At(s int64) float64 {
	if s < t.Start || s >= t.End() {
		return 0
	}
	return t.RPS[(s-t.Start)/t.Step]
}

// Slice returns the part of the trace within [from, to), aligned to steps.
func (t Trace) Slice(from, to int64) Trace {
	i := min(max(int64(0), ceilDiv(from-t.Start, t.Step)), int64(len(t.RPS)))
	j := min(int64(len(t.RPS)), ceilDiv(to-t.Start, t.Step))
	if j < i {
		j = i
	}
	return Trace{Start: t.Start + i*t.Step, Step: t.Step, RPS: t.RPS[i:j]}
}

func ceilDiv(a, b int64) int64 {
	q := a / b
	if a%b != 0 && (a > 0) == (b > 0) {
		q++
	}
	return q
}

// ParseTrace reads CSV rows `timestamp,rps` (Unix seconds, rate ≥ 0),
// ascending, on a fixed step: the smallest gap between rows, of which every
// gap must be a multiple. A first row whose timestamp is not a number is a
// header; blank lines and a leading byte order mark are skipped. Errors
// name the line.
func ParseTrace(r io.Reader) (Trace, error) {
	type row struct {
		ts   int64
		rps  float64
		line int
	}
	var rows []row
	sc := bufio.NewScanner(r)
	line, header := 0, false
	for sc.Scan() {
		line++
		text := sc.Text()
		if line == 1 {
			text = strings.TrimPrefix(text, "\uFEFF")
		}
		if text = strings.TrimSpace(text); text == "" {
			continue
		}
		ts, rate, ok := strings.Cut(text, ",")
		if !ok {
			return Trace{}, fmt.Errorf("line %d: want \"timestamp,rps\", got %q", line, text)
		}
		t, err := strconv.ParseInt(strings.TrimSpace(ts), 10, 64)
		if err != nil {
			// A header's first field is a name, not a number: a fraction
			// is a data row in the wrong unit, reported below.
			if _, ferr := strconv.ParseFloat(strings.TrimSpace(ts), 64); ferr != nil && len(rows) == 0 && !header {
				header = true
				continue
			}
			return Trace{}, fmt.Errorf("line %d: timestamp %q is not a whole number of Unix seconds", line, ts)
		}
		if t < 0 || t > maxUnixSeconds {
			return Trace{}, fmt.Errorf("line %d: timestamp %d is not Unix seconds of the years 1970 to 9999; if it is in milliseconds, divide it by 1000", line, t)
		}
		v, err := strconv.ParseFloat(strings.TrimSpace(rate), 64)
		if err != nil || math.IsNaN(v) || math.IsInf(v, 0) || v < 0 {
			return Trace{}, fmt.Errorf("line %d: rps %q must be a finite number ≥ 0", line, rate)
		}
		if n := len(rows); n > 0 {
			if t <= rows[n-1].ts {
				return Trace{}, fmt.Errorf("line %d: timestamp %d is not after the previous row's %d; rows must be ascending", line, t, rows[n-1].ts)
			}
			if t-rows[0].ts > maxTraceSeconds {
				return Trace{}, fmt.Errorf("line %d: timestamp %d is more than 2 years after the first row's %d; replay at most 2 years at a time", line, t, rows[0].ts)
			}
		}
		rows = append(rows, row{t, v, line})
	}
	if err := sc.Err(); err != nil {
		return Trace{}, fmt.Errorf("line %d: %w", line+1, err)
	}
	if len(rows) == 0 {
		return Trace{}, errors.New("trace has no rows; want CSV lines \"timestamp,rps\"")
	}
	step, stepLine := int64(1), 0
	if len(rows) > 1 {
		step = int64(math.MaxInt64)
		for i := 1; i < len(rows); i++ {
			if gap := rows[i].ts - rows[i-1].ts; gap < step {
				step, stepLine = gap, rows[i].line
			}
		}
		for i := 1; i < len(rows); i++ {
			if (rows[i].ts-rows[0].ts)%step != 0 {
				return Trace{}, fmt.Errorf("line %d: timestamp %d is off the trace's step of %d s, the smallest gap between rows (before line %d): rows must be on a fixed step, and missing rows count as 0",
					rows[i].line, rows[i].ts, step, stepLine)
			}
		}
	}
	n := (rows[len(rows)-1].ts-rows[0].ts)/step + 1
	if n > maxTracePoints {
		return Trace{}, fmt.Errorf("trace spans %d steps of %d s, more than the %d supported: use a coarser step (e.g. one row a minute) or a shorter span", n, step, maxTracePoints)
	}
	tr := Trace{Start: rows[0].ts, Step: step, RPS: make([]float64, n), Rows: len(rows), StepLine: stepLine}
	for _, r := range rows {
		tr.RPS[(r.ts-tr.Start)/step] = r.rps
	}
	return tr, nil
}
