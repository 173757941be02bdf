// Package analyzer decides whether a canary is healthy compared with its
// baseline.
//
// Everything here is a pure function of its arguments: no I/O, no clock, no
// randomness. The Release controller calls Judge (one judgement over the
// current windows) or Decide (the sequential decision over many looks) every
// analysis interval with the samples it collected.
//
// Two modes exist. ModeKayenta reproduces Kayenta's NetflixACAJudge verdicts
// (Mann-Whitney confidence interval found by Brent root finding, tolerance
// relative to the estimate), except that Kayenta's random noise for two
// constant series is replaced by its deterministic limit. ModeTrimtab, the
// default, tests the location shift with the Mann-Whitney test (exact for
// tied samples, R's normal approximation otherwise), computes the exact
// Hodges-Lehmann estimate and confidence interval from the pairwise
// differences by selection, and asks for the shift to exceed a tolerance
// stated in metric units or relative to the baseline level. docs/judge.md describes both in full.
package analyzer
