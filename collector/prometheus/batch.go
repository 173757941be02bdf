package prometheus

import (
	"regexp"
	"slices"
	"strconv"
	"strings"

	"github.com/prometheus/common/model"
	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/promql/parser"
)

// TagLabel marks which target a series of an or-tagged batch answers.
const TagLabel = "trimtab_batch_target"

// batch is one request answering several distinct rendered queries.
type batch struct {
	query string
	// split maps a result series' labels to the indexes (into the batch's
	// queries) it answers; strip lists labels to remove from the series.
	split func(lbls map[string]string) []int
	strip string
}

// planBatch combines rendered queries that came from one template. It
// prefers grouping: when the queries differ only in the values of equality
// matchers (namespace="a" vs namespace="b") that every selector carries,
// the matchers become one regex alternation, every aggregation gets
// "by (those labels)", every "on (...)" gets them too, and result series are
// split back by those labels; Prometheus then evaluates each selector once
// for all targets. Otherwise, if every query returns an instant vector, the
// queries are tagged with label_replace and joined with "or": still one
// request, but Prometheus evaluates each branch. ok is false when neither
// applies (scalar queries); the caller then sends them one by one.
func planBatch(rendered []string) (batch, bool) {
	if b, ok := groupBatch(rendered); ok {
		return b, true
	}
	for _, r := range rendered {
		e, err := parser.ParseExpr(r)
		if err != nil || e.Type() != parser.ValueTypeVector {
			return batch{}, false
		}
	}
	parts := make([]string, len(rendered))
	for i, r := range rendered {
		parts[i] = "label_replace(" + r + `, "` + TagLabel + `", "` + strconv.Itoa(i) + `", "", "")`
	}
	return batch{
		query: strings.Join(parts, " or "),
		strip: TagLabel,
		split: func(l map[string]string) []int {
			i, err := strconv.Atoi(l[TagLabel])
			if err != nil || i < 0 || i >= len(rendered) {
				return nil
			}
			return []int{i}
		},
	}, true
}

// labelDroppers change or drop the labels grouping relies on.
var labelDroppers = map[string]bool{
	"absent": true, "absent_over_time": true, "scalar": true, "vector": true,
	"label_replace": true, "label_join": true, "info": true,
}

func selectors(e parser.Expr) []*parser.VectorSelector {
	var out []*parser.VectorSelector
	parser.Inspect(e, func(n parser.Node, _ []parser.Node) error {
		if vs, ok := n.(*parser.VectorSelector); ok {
			out = append(out, vs)
		}
		return nil
	})
	return out
}

// groupBatch plans a grouped batch in two passes over the rendered
// queries, parsing each in turn rather than holding every syntax tree: a
// scaling cycle batches thousands of queries, and their trees were the
// largest part of its memory.
func groupBatch(rendered []string) (batch, bool) {
	first, err := parser.ParseExpr(rendered[0])
	if err != nil {
		return batch{}, false
	}
	firstSel := selectors(first)
	if len(firstSel) == 0 || first.Type() == parser.ValueTypeScalar || first.Type() == parser.ValueTypeString {
		return batch{}, false
	}
	// Pass 1: the labels whose equality matchers differ between queries.
	differ := map[string]bool{}
	for _, r := range rendered[1:] {
		e, err := parser.ParseExpr(r)
		if err != nil {
			return batch{}, false
		}
		sel := selectors(e)
		if len(sel) != len(firstSel) {
			return batch{}, false
		}
		for s := range firstSel {
			fms, oms := firstSel[s].LabelMatchers, sel[s].LabelMatchers
			if len(oms) != len(fms) {
				return batch{}, false
			}
			for m, fm := range fms {
				om := oms[m]
				if om.Name != fm.Name || om.Type != fm.Type {
					return batch{}, false
				}
				if om.Value != fm.Value {
					if fm.Type != labels.MatchEqual || fm.Name == model.MetricNameLabel {
						return batch{}, false
					}
					differ[fm.Name] = true
				}
			}
		}
	}
	if len(differ) == 0 {
		return batch{}, false
	}
	keys := make([]string, 0, len(differ))
	for k := range differ {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	// Every selector must pin every grouping label, so that every vector in
	// the expression carries them and each group is exactly one target.
	for _, vs := range firstSel {
		for _, k := range keys {
			if !slices.ContainsFunc(vs.LabelMatchers, func(m *labels.Matcher) bool { return m.Name == k && m.Type == labels.MatchEqual }) {
				return batch{}, false
			}
		}
	}
	// Pass 2: the same structure apart from those values (compared with
	// them blanked), one value per grouping label within a query, and the
	// distinct values of each label in the order the queries name them.
	blank := func(e parser.Expr) (string, map[string]string, bool) {
		values := map[string]string{}
		for _, vs := range selectors(e) {
			for _, m := range vs.LabelMatchers {
				if !differ[m.Name] {
					continue
				}
				if v, ok := values[m.Name]; ok && v != m.Value {
					return "", nil, false // one query, two values of a grouping label
				}
				values[m.Name] = m.Value
				m.Value = ""
			}
		}
		return e.String(), values, true
	}
	var want string
	tuples := map[string][]int{}
	alts := map[string][]string{}
	seen := map[string]bool{} // label and value, 0xff-separated
	for i, r := range rendered {
		e, err := parser.ParseExpr(r)
		if err != nil {
			return batch{}, false
		}
		skeleton, values, ok := blank(e)
		if i == 0 {
			want = skeleton
		}
		if !ok || skeleton != want {
			return batch{}, false
		}
		key := tupleKey(keys, values)
		tuples[key] = append(tuples[key], i)
		for _, k := range keys {
			if v := values[k]; !seen[k+"\xff"+v] {
				seen[k+"\xff"+v] = true
				alts[k] = append(alts[k], regexp.QuoteMeta(v))
			}
		}
	}
	merged, err := parser.ParseExpr(rendered[0])
	if err != nil {
		return batch{}, false
	}
	ok := true
	parser.Inspect(merged, func(n parser.Node, _ []parser.Node) error {
		switch n := n.(type) {
		case *parser.AggregateExpr:
			if n.Without {
				ok = ok && !slices.ContainsFunc(n.Grouping, func(l string) bool { return differ[l] })
				break
			}
			for _, k := range keys {
				if !slices.Contains(n.Grouping, k) {
					n.Grouping = append(n.Grouping, k)
				}
			}
		case *parser.BinaryExpr:
			vm := n.VectorMatching
			if vm == nil || n.LHS.Type() != parser.ValueTypeVector || n.RHS.Type() != parser.ValueTypeVector {
				break
			}
			if !vm.On {
				ok = ok && !slices.ContainsFunc(vm.MatchingLabels, func(l string) bool { return differ[l] })
				break
			}
			for _, k := range keys {
				if !slices.Contains(vm.MatchingLabels, k) {
					vm.MatchingLabels = append(vm.MatchingLabels, k)
				}
			}
		case *parser.Call:
			ok = ok && !labelDroppers[n.Func.Name]
		}
		return nil
	})
	if !ok {
		return batch{}, false
	}
	// One alternation per label, over the distinct values.
	for _, vs := range selectors(merged) {
		for m, lm := range vs.LabelMatchers {
			if !differ[lm.Name] {
				continue
			}
			nm, err := labels.NewMatcher(labels.MatchRegexp, lm.Name, strings.Join(alts[lm.Name], "|"))
			if err != nil {
				return batch{}, false
			}
			vs.LabelMatchers[m] = nm
		}
	}
	return batch{
		query: merged.String(),
		split: func(l map[string]string) []int { return tuples[tupleKey(keys, l)] },
	}, true
}

func tupleKey(keys []string, values map[string]string) string {
	var b strings.Builder
	for _, k := range keys {
		b.WriteString(values[k])
		b.WriteByte(0xff)
	}
	return b.String()
}
