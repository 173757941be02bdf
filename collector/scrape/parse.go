package scrape

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"math"
	"mime"
	"sort"
	"strconv"
	"strings"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
)

// acceptHeader prefers the classic text format, which expfmt parses
// natively, and takes OpenMetrics 1.0 and delimited protobuf too.
const acceptHeader = `text/plain;version=0.0.4;q=1,application/openmetrics-text;version=1.0.0;q=0.8,application/vnd.google.protobuf;proto=io.prometheus.client.MetricFamily;encoding=delimited;q=0.5,*/*;q=0.1`

// parse decodes an exposition in the format its Content-Type names.
func parse(body []byte, contentType string) (map[string]*dto.MetricFamily, error) {
	mediaType, _, _ := mime.ParseMediaType(contentType)
	switch mediaType {
	case "application/openmetrics-text":
		body = normalizeOpenMetrics(body)
	case expfmt.ProtoType:
		return parseProto(body)
	}
	p := expfmt.NewTextParser(model.UTF8Validation)
	fams, err := p.TextToMetricFamilies(bytes.NewReader(body))
	if err != nil {
		return nil, fmt.Errorf("parse exposition (%s): %w", orDefault(mediaType, "no content type"), err)
	}
	return fams, nil
}

func parseProto(body []byte) (map[string]*dto.MetricFamily, error) {
	dec := expfmt.NewDecoder(bytes.NewReader(body), expfmt.NewFormat(expfmt.TypeProtoDelim))
	fams := map[string]*dto.MetricFamily{}
	for {
		f := &dto.MetricFamily{}
		if err := dec.Decode(f); err != nil {
			if errors.Is(err, io.EOF) {
				return fams, nil
			}
			return nil, fmt.Errorf("parse protobuf exposition: %w", err)
		}
		fams[f.GetName()] = f
	}
}

func orDefault(s, d string) string {
	if s == "" {
		return d
	}
	return s
}

// normalizeOpenMetrics rewrites an OpenMetrics 1.0 exposition into the
// classic text format expfmt's parser reads: it drops # EOF, # UNIT,
// exemplars, timestamps (samples are stamped at receipt anyway) and the
// _created series, names counter families after their _total samples, and
// turns the types the text format lacks (info, stateset, gaugehistogram)
// into untyped.
func normalizeOpenMetrics(in []byte) []byte {
	types := map[string]string{}
	for line := range bytes.Lines(in) {
		if f := strings.Fields(string(line)); len(f) == 4 && f[0] == "#" && f[1] == "TYPE" {
			types[f[2]] = f[3]
		}
	}
	var out bytes.Buffer
	out.Grow(len(in))
	for line := range bytes.Lines(in) {
		line = bytes.TrimRight(line, "\n")
		if len(line) == 0 {
			continue
		}
		if line[0] == '#' {
			f := strings.Fields(string(line))
			if len(f) < 3 || (f[1] != "TYPE" && f[1] != "HELP") {
				continue
			}
			name := f[2]
			typ := types[name]
			if typ == "counter" {
				name += "_total"
			}
			if f[1] == "TYPE" {
				switch typ {
				case "counter", "gauge", "histogram", "summary":
				case "unknown":
					typ = "untyped"
				default:
					continue
				}
				fmt.Fprintf(&out, "# TYPE %s %s\n", name, typ)
				continue
			}
			fmt.Fprintf(&out, "# HELP %s%s\n", name, line[len("# HELP ")+len(f[2]):])
			continue
		}
		name, rest := splitSample(line)
		metricName, _, _ := strings.Cut(string(name), "{")
		if base, ok := strings.CutSuffix(metricName, "_created"); ok {
			switch types[base] {
			case "counter", "histogram", "summary":
				continue
			}
		}
		fields := strings.Fields(string(rest))
		if len(fields) == 0 {
			out.Write(line) // let the parser report it
			out.WriteByte('\n')
			continue
		}
		out.Write(name)
		out.WriteByte(' ')
		out.WriteString(fields[0])
		out.WriteByte('\n')
	}
	return out.Bytes()
}

// splitSample splits a sample line after its name and label set, honouring
// quoted label values that may contain '}' or " # ".
func splitSample(line []byte) (head, rest []byte) {
	i := bytes.IndexAny(line, "{ ")
	if i < 0 || line[i] == ' ' {
		if i < 0 {
			return line, nil
		}
		return line[:i], line[i:]
	}
	inQuote := false
	for j := i + 1; j < len(line); j++ {
		switch c := line[j]; {
		case inQuote && c == '\\':
			j++
		case c == '"':
			inQuote = !inQuote
		case !inQuote && c == '}':
			rest = line[j+1:]
			if k := bytes.Index(rest, []byte(" #")); k >= 0 {
				rest = rest[:k]
			}
			return line[:j+1], rest
		}
	}
	return line, nil
}

// sample is one flattened series value, as PromQL sees it: histograms
// become _bucket{le}, _sum and _count series.
type sample struct {
	name   string
	labels []labelPair // sorted by name
	le     float64     // bucket bound, for _bucket series
	value  float64
}

type labelPair struct{ name, value string }

// flatten turns a family into samples, appending to out.
func flatten(f *dto.MetricFamily, out []sample) []sample {
	name := f.GetName()
	for _, m := range f.GetMetric() {
		ls := make([]labelPair, 0, len(m.GetLabel())+1)
		for _, l := range m.GetLabel() {
			ls = append(ls, labelPair{l.GetName(), l.GetValue()})
		}
		sort.Slice(ls, func(i, j int) bool { return ls[i].name < ls[j].name })
		switch f.GetType() {
		case dto.MetricType_COUNTER:
			out = append(out, sample{name: name, labels: ls, value: m.GetCounter().GetValue()})
		case dto.MetricType_GAUGE:
			out = append(out, sample{name: name, labels: ls, value: m.GetGauge().GetValue()})
		case dto.MetricType_UNTYPED:
			out = append(out, sample{name: name, labels: ls, value: m.GetUntyped().GetValue()})
		case dto.MetricType_SUMMARY:
			s := m.GetSummary()
			for _, q := range s.GetQuantile() {
				out = append(out, sample{name: name, labels: withLabel(ls, "quantile", strconv.FormatFloat(q.GetQuantile(), 'g', -1, 64)), value: q.GetValue()})
			}
			out = append(out, sample{name: name + "_sum", labels: ls, value: s.GetSampleSum()},
				sample{name: name + "_count", labels: ls, value: float64(s.GetSampleCount())})
		case dto.MetricType_HISTOGRAM, dto.MetricType_GAUGE_HISTOGRAM:
			h := m.GetHistogram()
			hasInf := false
			for _, b := range h.GetBucket() {
				le := b.GetUpperBound()
				hasInf = hasInf || math.IsInf(le, 1)
				count := float64(b.GetCumulativeCount())
				if b.CumulativeCountFloat != nil {
					count = b.GetCumulativeCountFloat()
				}
				out = append(out, sample{name: name + "_bucket", labels: withLabel(ls, "le", model.FloatString(le).String()), le: le, value: count})
			}
			count := float64(h.GetSampleCount())
			if h.SampleCountFloat != nil {
				count = h.GetSampleCountFloat()
			}
			if !hasInf {
				out = append(out, sample{name: name + "_bucket", labels: withLabel(ls, "le", "+Inf"), le: math.Inf(1), value: count})
			}
			out = append(out, sample{name: name + "_sum", labels: ls, value: h.GetSampleSum()},
				sample{name: name + "_count", labels: ls, value: count})
		}
	}
	return out
}

func withLabel(ls []labelPair, name, value string) []labelPair {
	out := make([]labelPair, 0, len(ls)+1)
	out = append(out, ls...)
	out = append(out, labelPair{name, value})
	sort.Slice(out, func(i, j int) bool { return out[i].name < out[j].name })
	return out
}

// key identifies a series within one pod.
func (s *sample) key() string {
	var b strings.Builder
	b.WriteString(s.name)
	for _, l := range s.labels {
		b.WriteByte(0xff)
		b.WriteString(l.name)
		b.WriteByte('=')
		b.WriteString(l.value)
	}
	return b.String()
}
