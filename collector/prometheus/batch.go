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
	exprs := make([]parser.Expr, len(rendered))
	for i, r := range rendered {
		e, err := parser.ParseExpr(r)
		if err != nil {
			return batch{}, false
		}
		exprs[i] = e
	}
	if b, ok := groupBatch(rendered, exprs); ok {
		return b, true
	}
	for _, e := range exprs {
		if e.Type() != parser.ValueTypeVector {
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

func groupBatch(rendered []string, exprs []parser.Expr) (batch, bool) {
	first := selectors(exprs[0])
	if len(first) == 0 || exprs[0].Type() == parser.ValueTypeScalar || exprs[0].Type() == parser.ValueTypeString {
		return batch{}, false
	}
	all := make([][]*parser.VectorSelector, len(exprs))
	for i, e := range exprs {
		all[i] = selectors(e)
		if len(all[i]) != len(first) {
			return batch{}, false
		}
	}
	// Find the labels whose equality matchers differ between queries.
	differ := map[string]bool{}
	for s := range first {
		for m, fm := range first[s].LabelMatchers {
			for i := range exprs {
				om := all[i][s].LabelMatchers
				if len(om) != len(first[s].LabelMatchers) || om[m].Name != fm.Name || om[m].Type != fm.Type {
					return batch{}, false
				}
				if om[m].Value != fm.Value {
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
	// Same structure apart from those values: compare with them blanked.
	skeleton := func(e parser.Expr) string {
		c, _ := parser.ParseExpr(e.String())
		for _, vs := range selectors(c) {
			for _, m := range vs.LabelMatchers {
				if differ[m.Name] {
					m.Value = ""
				}
			}
		}
		return c.String()
	}
	want := skeleton(exprs[0])
	for _, e := range exprs[1:] {
		if skeleton(e) != want {
			return batch{}, false
		}
	}
	// Every selector must pin every grouping label, so that every vector in
	// the expression carries them and each group is exactly one target.
	for _, vs := range first {
		for _, k := range keys {
			if !slices.ContainsFunc(vs.LabelMatchers, func(m *labels.Matcher) bool { return m.Name == k && m.Type == labels.MatchEqual }) {
				return batch{}, false
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
	tuples := map[string][]int{}
	values := make([]map[string]string, len(exprs))
	for i := range exprs {
		values[i] = map[string]string{}
		for _, m := range all[i][0].LabelMatchers {
			if differ[m.Name] {
				values[i][m.Name] = m.Value
			}
		}
		for _, vs := range all[i] {
			for _, m := range vs.LabelMatchers {
				if differ[m.Name] && m.Value != values[i][m.Name] {
					return batch{}, false // one query, two values of a grouping label
				}
			}
		}
		key := tupleKey(keys, values[i])
		tuples[key] = append(tuples[key], i)
	}
	for s, vs := range selectors(merged) {
		for m, lm := range vs.LabelMatchers {
			if !differ[lm.Name] {
				continue
			}
			seen := map[string]bool{}
			var alts []string
			for i := range exprs {
				v := all[i][s].LabelMatchers[m].Value
				if !seen[v] {
					seen[v] = true
					alts = append(alts, regexp.QuoteMeta(v))
				}
			}
			nm, err := labels.NewMatcher(labels.MatchRegexp, lm.Name, strings.Join(alts, "|"))
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
