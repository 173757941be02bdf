// Command judge-accuracy measures the judge's error rates by simulation and
// writes them as a Markdown report (docs/judge-accuracy.md):
//
//	go run ./analyzer/cmd/judge-accuracy -out docs/judge-accuracy.md
//
// For lognormal latencies, Poisson counts and Bernoulli error ratios, at
// several sample sizes and in both modes, it reports the A/A false-fail rate
// and the power to detect +5 %, +10 % and +20 % shifts, for one judgement and
// for a whole sequential analysis (analyzer.Decide over ten looks on growing
// windows). Every replicate has its own seeded generator, so the report is
// the same for the same flags whatever the number of workers.
package main

import (
	"flag"
	"fmt"
	"io"
	"log"
	"math"
	"math/rand/v2"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/trimtab/trimtab/analyzer"
)

// distribution generates one point of a metric; shift is the relative change
// of the canary (0.2 = +20 %).
type distribution struct {
	name, desc string
	sample     func(rng *rand.Rand, shift float64) float64
}

var distributions = []distribution{
	{"lognormal latency", "latency in ms, exp(N(ln 100, 0.25²)); the canary is multiplied by 1 + shift",
		func(rng *rand.Rand, shift float64) float64 {
			return (1 + shift) * 100 * math.Exp(0.25*rng.NormFloat64())
		}},
	{"Poisson counts", "events per interval, Poisson(20·(1 + shift))",
		func(rng *rand.Rand, shift float64) float64 { return float64(poisson(rng, 20*(1+shift))) }},
	{"Bernoulli error ratio", "errors/requests per interval, Binomial(1000, 0.01·(1 + shift))/1000",
		func(rng *rand.Rand, shift float64) float64 {
			return float64(binomial(rng, 1000, 0.01*(1+shift))) / 1000
		}},
}

var (
	sizes  = []int{20, 50, 100, 200, 1000}
	shifts = []float64{0, 0.05, 0.10, 0.20}
	modes  = []analyzer.Mode{analyzer.ModeTrimtab, analyzer.ModeKayenta}
)

const looks = 10

// cell is one (distribution, size, shift, mode) combination.
type cell struct {
	dist  int
	size  int
	shift float64
	mode  analyzer.Mode
}

type outcome struct {
	singleFail, seqRollback int
	rollbackLookSum         int
}

func main() {
	out := flag.String("out", "docs/judge-accuracy.md", "report file, - for stdout")
	reps := flag.Int("reps", 4000, "replicates per cell")
	seed := flag.Uint64("seed", 1, "random seed")
	workers := flag.Int("workers", 2, "parallel workers")
	flag.Parse()
	if *reps < 1 || *workers < 1 {
		log.Fatal("-reps and -workers must be at least 1")
	}
	var cells []cell
	for d := range distributions {
		for _, n := range sizes {
			for _, s := range shifts {
				for _, m := range modes {
					cells = append(cells, cell{d, n, s, m})
				}
			}
		}
	}
	results := make([]outcome, len(cells))
	type job struct{ cell, rep int }
	jobs := make(chan job, 1024)
	var mu sync.Mutex
	var wg sync.WaitGroup
	start := time.Now()
	for range *workers {
		wg.Go(func() {
			for j := range jobs {
				o := replicate(cells[j.cell], *seed, uint64(j.cell)<<32|uint64(j.rep))
				mu.Lock()
				r := &results[j.cell]
				r.singleFail += o.singleFail
				r.seqRollback += o.seqRollback
				r.rollbackLookSum += o.rollbackLookSum
				mu.Unlock()
			}
		})
	}
	for c := range cells {
		for r := range *reps {
			jobs <- job{c, r}
		}
	}
	close(jobs)
	wg.Wait()
	log.Printf("simulated %d cells × %d replicates in %v", len(cells), *reps, time.Since(start).Round(time.Second))
	w := io.Writer(os.Stdout)
	if *out != "-" {
		f, err := os.Create(*out)
		if err != nil {
			log.Fatal(err)
		}
		defer f.Close()
		w = f
	}
	if err := report(w, cells, results, *reps, *seed); err != nil {
		log.Fatal(err)
	}
}

// replicate runs one simulated canary: the single judgement at the full size
// and a sequential analysis of ten looks whose windows grow to that size.
func replicate(c cell, seed, stream uint64) outcome {
	rng := rand.New(rand.NewPCG(seed, stream))
	d := distributions[c.dist]
	base := make([]float64, c.size)
	can := make([]float64, c.size)
	for i := range base {
		base[i] = d.sample(rng, 0)
		can[i] = d.sample(rng, c.shift)
	}
	cfg := analyzer.Config{Mode: c.mode}
	metric := func(n int) []analyzer.MetricInput {
		return []analyzer.MetricInput{{MetricConfig: analyzer.MetricConfig{Name: "m", Groups: []string{"app"}},
			Baseline: base[:n], Canary: can[:n]}}
	}
	var o outcome
	res, err := analyzer.Judge(cfg, metric(c.size))
	if err != nil {
		log.Fatal(err)
	}
	if res.Verdict == analyzer.VerdictFail {
		o.singleFail = 1
	}
	plan := analyzer.Plan{Duration: looks * time.Minute, FalseRollbackRate: 0.01}
	t0 := time.Unix(0, 0)
	st := analyzer.SequentialState{Start: t0}
	for k := 1; k <= looks; k++ {
		n := max(1, c.size*k/looks)
		dec, err := analyzer.Decide(plan, cfg, st, metric(n), t0.Add(time.Duration(k)*time.Minute))
		if err != nil {
			log.Fatal(err)
		}
		st = dec.State
		if dec.Action == analyzer.Rollback {
			o.seqRollback = 1
			o.rollbackLookSum = k
			break
		}
		if dec.Action != analyzer.Continue {
			break
		}
	}
	return o
}

func report(w io.Writer, cells []cell, results []outcome, reps int, seed uint64) error {
	var b strings.Builder
	fmt.Fprintf(&b, "# Judge accuracy\n\n")
	fmt.Fprintf(&b, "Generated by `go run ./analyzer/cmd/judge-accuracy -out docs/judge-accuracy.md -reps %d -seed %d`; "+
		"the same flags give the same numbers. Do not edit by hand.\n\n", reps, seed)
	fmt.Fprintf(&b, "Each cell simulates %d canaries. One metric, default configuration of the mode "+
		"(trimtab: confidence 0.98, tolerance 5 %% of the baseline level, minSamples 5; kayenta: confidence 0.98, "+
		"tolerance 0.25·|estimate|), direction either, pass/marginal scores 95/75.\n\n", reps)
	b.WriteString("* **single**: one judgement (`analyzer.Judge`) of n baseline and n canary points; a failure is verdict Fail.\n")
	fmt.Fprintf(&b, "* **sequential**: one analysis (`analyzer.Decide`, falseRollbackRate 0.01) of %d looks on growing windows "+
		"of n/%d, 2n/%d, … n points per side; a failure is a Rollback at any look. *look* is the mean look of the rollbacks.\n", looks, looks, looks)
	b.WriteString("* A/A is shift 0 (false-fail rate); the other columns are power. Brackets: 95 % Wilson interval of the A/A rates.\n\n")
	for d, dist := range distributions {
		fmt.Fprintf(&b, "## %s\n\n%s.\n\n", dist.name, dist.desc)
		b.WriteString("| n | mode | A/A single | A/A sequential | +5% single | +5% seq | +10% single | +10% seq | +20% single | +20% seq | look (+20%) |\n")
		b.WriteString("|---:|---|---|---|---:|---:|---:|---:|---:|---:|---:|\n")
		for _, n := range sizes {
			for _, m := range modes {
				row := fmt.Sprintf("| %d | %s |", n, m)
				for _, s := range shifts {
					o := find(cells, results, cell{d, n, s, m})
					single := float64(o.singleFail) / float64(reps)
					seq := float64(o.seqRollback) / float64(reps)
					if s == 0 {
						row += fmt.Sprintf(" %s | %s |", withCI(o.singleFail, reps), withCI(o.seqRollback, reps))
						continue
					}
					row += fmt.Sprintf(" %.1f%% | %.1f%% |", 100*single, 100*seq)
					if s == 0.20 {
						look := "–"
						if o.seqRollback > 0 {
							look = fmt.Sprintf("%.1f", float64(o.rollbackLookSum)/float64(o.seqRollback))
						}
						row += " " + look + " |"
					}
				}
				b.WriteString(row + "\n")
			}
		}
		b.WriteString("\n")
	}
	b.WriteString("## Goals\n\n")
	worst, worstAt := 0, ""
	for i, c := range cells {
		if c.shift == 0 && results[i].seqRollback >= worst {
			worst = results[i].seqRollback
			worstAt = fmt.Sprintf("%s, n = %d, %s", distributions[c.dist].name, c.size, c.mode)
		}
	}
	fmt.Fprintf(&b, "* A/A false rollback of a whole sequential analysis ≤ 1 %%: worst cell %s (%s) — %s.\n",
		withCI(worst, reps), worstAt, verdict(float64(worst)/float64(reps) <= 0.01))
	for _, m := range modes {
		p := find(cells, results, cell{0, 100, 0.20, m})
		fmt.Fprintf(&b, "* Power ≥ 95 %% for +20 %% lognormal latency (σ = 0.25) at 100 samples per side, %s mode: "+
			"single %.1f %%, sequential %.1f %% — %s.\n", m, 100*float64(p.singleFail)/float64(reps),
			100*float64(p.seqRollback)/float64(reps), verdict(float64(p.seqRollback)/float64(reps) >= 0.95))
	}
	_, err := io.WriteString(w, b.String())
	return err
}

func verdict(ok bool) string {
	if ok {
		return "met"
	}
	return "**not met**"
}

func find(cells []cell, results []outcome, c cell) outcome {
	for i := range cells {
		if cells[i] == c {
			return results[i]
		}
	}
	return outcome{}
}

// withCI renders k/n as a percentage with its 95 % Wilson interval.
func withCI(k, n int) string {
	p := float64(k) / float64(n)
	z := 1.959964
	den := 1 + z*z/float64(n)
	mid := (p + z*z/(2*float64(n))) / den
	half := z * math.Sqrt(p*(1-p)/float64(n)+z*z/(4*float64(n)*float64(n))) / den
	return fmt.Sprintf("%.1f%% [%.1f, %.1f]", 100*p, 100*math.Max(0, mid-half), 100*math.Min(1, mid+half))
}

// poisson draws by inversion (λ here is small).
func poisson(rng *rand.Rand, lambda float64) int {
	u := rng.Float64()
	p := math.Exp(-lambda)
	cdf, k := p, 0
	for u > cdf && k < 10000 {
		k++
		p *= lambda / float64(k)
		cdf += p
	}
	return k
}

// binomial draws by inversion (n·p here is small).
func binomial(rng *rand.Rand, n int, p float64) int {
	u := rng.Float64()
	q := 1 - p
	pk := math.Pow(q, float64(n))
	cdf, k := pk, 0
	for u > cdf && k < n {
		pk *= float64(n-k) / float64(k+1) * p / q
		k++
		cdf += pk
	}
	return k
}
