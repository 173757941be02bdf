// Command rollback-bench measures the time from the start of a regression
// to the rollback, for trimtab and for Flagger's policy replayed on the same
// simulated metrics, and writes the "Time to rollback" section of
// docs/performance.md:
//
//	go run ./scaler/release/cmd/rollback-bench -out docs/performance.md
//
// Each trial simulates a canary and its baseline request by request (50
// req/s each, 1 s scrapes). trimtab's side runs the real release state
// machine (release.Next) and the real analyst of the controller
// (controller.ReleaseAnalyst → analyzer.Decide) every second on the
// simulated samples; Flagger's side applies its scheduler's rule every
// minute to the same seconds. Every trial has its own seeded generator, so
// the report is the same for the same flags whatever the number of workers.
package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"slices"
	"sync"
	"time"
)

// scenario is one kind of trial.
type scenario struct {
	name string
	// regressAt draws the second of the step from which the canary
	// regresses; -1 is an A/A trial.
	regressAt func(*rand.Rand) int
	bad       regression
}

var (
	errorJump = regression{errors: 0.05, latency: 1}
	latency30 = regression{errors: healthyErrors, latency: 1.3}
	afterTwo  = func(rng *rand.Rand) int { return 120 + rng.IntN(60) }
	fromStart = func(*rand.Rand) int { return 0 }
	noneAtAll = func(*rand.Rand) int { return -1 }
	scenarios = []scenario{
		{"errors 1 % → 5 %, from 2–3 min into the step", afterTwo, errorJump},
		{"errors 1 % → 5 %, from the step start", fromStart, errorJump},
		{"latency +30 %, from 2–3 min into the step", afterTwo, latency30},
		{"latency +30 %, from the step start", fromStart, latency30},
		{"A/A: no regression, the whole 15-minute step", noneAtAll, regression{}},
	}
)

// deciders are compared in every trial, on the same traffic.
func deciders() []decider {
	tuned := tunedP99()
	return []decider{
		controllerDecider("trimtab (look every 1 s: growing window + last 30 s)"),
		flaggerDecider("Flagger, docs thresholds", flagger{99, 500, 5}),
		flaggerDecider("Flagger, tuned thresholds", flagger{97, tuned, 5}, flagger{97, tuned, 2}),
	}
}

// rowNames lists every row of the deciders, in order.
func rowNames(ds []decider) []string {
	var names []string
	for _, d := range ds {
		names = append(names, d.rows...)
	}
	return names
}

// tunedP99 is a latency threshold half-way between the baseline's and the
// regressed canary's long-run histogram p99, so that the +30 % shift
// crosses it: the best a static threshold can do for this regression.
func tunedP99() float64 {
	return float64(int((expectedP99(1) + expectedP99(latency30.latency)) / 2))
}

// outcome is one trial: the regression's start and each row's rollback
// second (-1: none within the step).
type outcome struct {
	regressAt int
	rollback  []int
}

type config struct {
	out                string
	trials, aaTrials   int
	seed               uint64
	workers            int
	scenarioSubset     []int
	progress           io.Writer
	simulationDuration time.Duration
}

func main() {
	var c config
	// A flag set of its own: the controller packages register flags of
	// theirs (--kubeconfig) on the global one.
	fs := flag.NewFlagSet("rollback-bench", flag.ExitOnError)
	fs.StringVar(&c.out, "out", "docs/performance.md", "Markdown file whose \"Time to rollback\" section is written (- for stdout)")
	fs.IntVar(&c.trials, "trials", 500, "trials per regression scenario")
	fs.IntVar(&c.aaTrials, "aa-trials", 500, "A/A trials (each runs the whole step)")
	fs.Uint64Var(&c.seed, "seed", 1, "random seed")
	fs.IntVar(&c.workers, "workers", 2, "parallel workers")
	_ = fs.Parse(os.Args[1:])
	if err := c.validate(); err != nil {
		fmt.Fprintln(os.Stderr, "rollback-bench:", err)
		os.Exit(2)
	}
	c.progress = os.Stderr
	if err := run(c); err != nil {
		fmt.Fprintln(os.Stderr, "rollback-bench:", err)
		os.Exit(1)
	}
}

func (c config) validate() error {
	switch {
	case c.trials < 1:
		return fmt.Errorf("-trials: must be at least 1, got %d", c.trials)
	case c.aaTrials < 1:
		return fmt.Errorf("-aa-trials: must be at least 1, got %d", c.aaTrials)
	case c.workers < 1:
		return fmt.Errorf("-workers: must be at least 1, got %d", c.workers)
	case c.out == "":
		return errors.New("-out: name a Markdown file, or - for stdout")
	}
	return nil
}

func run(c config) error {
	start := time.Now()
	results, err := simulateAll(c)
	if err != nil {
		return err
	}
	c.simulationDuration = time.Since(start)
	section := render(c, results)
	if c.out == "-" {
		_, err := io.WriteString(os.Stdout, section)
		return err
	}
	return writeSection(c.out, section)
}

// simulateAll runs every scenario's trials; results[s][i] is trial i of
// scenario s.
func simulateAll(c config) ([][]outcome, error) {
	ds := deciders()
	results := make([][]outcome, len(scenarios))
	type job struct{ s, i int }
	jobs := make(chan job)
	var (
		wg       sync.WaitGroup
		mu       sync.Mutex
		firstErr error
	)
	for range c.workers {
		wg.Go(func() {
			for j := range jobs {
				o, err := trial(scenarios[j.s], ds, c.seed, uint64(j.s)<<32|uint64(j.i))
				mu.Lock()
				if err != nil && firstErr == nil {
					firstErr = fmt.Errorf("%s, trial %d: %w", scenarios[j.s].name, j.i, err)
				}
				results[j.s][j.i] = o
				mu.Unlock()
			}
		})
	}
	for s, sc := range scenarios {
		if c.scenarioSubset != nil && !slices.Contains(c.scenarioSubset, s) {
			continue
		}
		n := c.trials
		if sc.bad == (regression{}) {
			n = c.aaTrials
		}
		results[s] = make([]outcome, n)
		for i := range n {
			jobs <- job{s, i}
		}
		if c.progress != nil {
			fmt.Fprintf(c.progress, "queued %s (%d trials)\n", sc.name, n)
		}
	}
	close(jobs)
	wg.Wait()
	return results, firstErr
}

// trial simulates one canary and runs every decider on it.
func trial(sc scenario, ds []decider, seed, stream uint64) (outcome, error) {
	rng := rand.New(rand.NewPCG(seed, stream))
	at := sc.regressAt(rng)
	t := simulate(rng, at, sc.bad)
	o := outcome{regressAt: at}
	for _, d := range ds {
		r, err := d.run(&t)
		if err != nil {
			return o, fmt.Errorf("%s: %w", d.rows[0], err)
		}
		o.rollback = append(o.rollback, r...)
	}
	return o, nil
}
