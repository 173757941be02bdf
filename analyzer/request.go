package analyzer

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
)

// Request is the input of `trimtab judge`: a configuration and the metrics
// with their samples.
type Request struct {
	Config  Config
	Metrics []MetricInput
}

// DecodeRequest parses the judge input (JSON, or YAML when it does not start
// with '{'). It is strict: unknown fields, wrong types, an empty metric list
// and out-of-range values are errors that name the field, e.g.
// "metrics[1].confidence: must be in (0,1)". In samples, null and "NaN" are
// NaN; "Inf", "+Inf" and "-Inf" are infinities.
func DecodeRequest(data []byte) (Request, error) {
	trimmed := bytes.TrimSpace(data)
	if len(trimmed) == 0 {
		return Request{}, errors.New("input: empty; want a JSON or YAML object with config and metrics")
	}
	if trimmed[0] != '{' {
		j, err := yamlToJSON(trimmed)
		if err != nil {
			return Request{}, fmt.Errorf("input: not valid JSON or YAML: %w", err)
		}
		trimmed = j
	}
	if !json.Valid(trimmed) {
		var v any
		err := json.Unmarshal(trimmed, &v)
		return Request{}, fmt.Errorf("input: not valid JSON: %w", err)
	}
	var req Request
	err := object(trimmed, "", fields{
		"mode":    enum(&req.Config.Mode, ModeKayenta, ModeTrimtab),
		"config":  func(raw json.RawMessage, path string) error { return decodeConfig(raw, path, &req.Config) },
		"metrics": func(raw json.RawMessage, path string) error { return decodeMetrics(raw, path, &req.Metrics) },
	})
	if err != nil {
		return Request{}, err
	}
	if err := validate(req.Config, req.Metrics); err != nil {
		return Request{}, err
	}
	return req, nil
}

func decodeConfig(raw json.RawMessage, path string, c *Config) error {
	return object(raw, path, fields{
		"confidence":    confidence(&c.Confidence),
		"tolerance":     numPtr(&c.Tolerance),
		"passScore":     numPtr(&c.PassScore),
		"marginalScore": numPtr(&c.MarginalScore),
		"groupWeights":  weights(&c.GroupWeights),
		"onNoData":      enum(&c.OnNoData, NoDataHold, NoDataFail, NoDataPass),
		"minSamples":    integer(&c.MinSamples),
	})
}

func decodeMetrics(raw json.RawMessage, path string, out *[]MetricInput) error {
	var items []json.RawMessage
	if err := json.Unmarshal(raw, &items); err != nil || items == nil {
		return fmt.Errorf("%s: want a list of metrics, got %s", path, kind(raw))
	}
	if len(items) == 0 {
		return fmt.Errorf("%s: at least one metric is required", path)
	}
	*out = make([]MetricInput, len(items))
	for i, item := range items {
		m := &(*out)[i]
		p := fmt.Sprintf("%s[%d]", path, i)
		err := object(item, p, fields{
			"name":              str(&m.Name),
			"groups":            strList(&m.Groups),
			"direction":         direction(&m.Direction),
			"critical":          boolean(&m.Critical),
			"mustHaveData":      boolean(&m.MustHaveData),
			"muted":             boolean(&m.Muted),
			"nanStrategy":       enum(&m.NaNStrategy, NaNRemove, NaNReplace),
			"outliers":          enum(&m.Outliers, OutliersKeep, OutliersRemove),
			"outlierFactor":     numPtr(&m.OutlierFactor),
			"confidence":        confidence(&m.Confidence),
			"tolerance":         numPtr(&m.Tolerance),
			"absoluteTolerance": num(&m.AbsoluteTolerance),
			"onNoData":          enum(&m.OnNoData, NoDataHold, NoDataFail, NoDataPass),
			"minSamples":        integer(&m.MinSamples),
			"effectSize": func(raw json.RawMessage, path string) error {
				e := &m.EffectSize
				return object(raw, path, fields{
					"measure":          enum(&e.Measure, MeanRatio, CLES),
					"allowedIncrease":  numPtr(&e.AllowedIncrease),
					"allowedDecrease":  numPtr(&e.AllowedDecrease),
					"criticalIncrease": numPtr(&e.CriticalIncrease),
					"criticalDecrease": numPtr(&e.CriticalDecrease),
				})
			},
			"thresholds": func(raw json.RawMessage, path string) error {
				m.Thresholds = &Thresholds{}
				t := m.Thresholds
				return object(raw, path, fields{
					"min":       numPtr(&t.Min),
					"max":       numPtr(&t.Max),
					"statistic": enum(&t.Statistic, StatMean, StatP50, StatP90, StatP99, StatMax),
				})
			},
			"baseline": samples(&m.Baseline),
			"canary":   samples(&m.Canary),
		})
		if err != nil {
			return err
		}
	}
	return nil
}

// fields maps the known keys of an object to their decoders.
type fields map[string]func(raw json.RawMessage, path string) error

func object(raw json.RawMessage, path string, f fields) error {
	ms, err := members(raw, path, "an object")
	if err != nil {
		return err
	}
	for _, m := range ms {
		p := joinPath(path, m.key)
		dec, ok := f[m.key]
		if !ok {
			known := make([]string, 0, len(f))
			for name := range f {
				known = append(known, name)
			}
			slices.Sort(known)
			return fmt.Errorf("%s: unknown field; known fields are %s", p, strings.Join(known, ", "))
		}
		if err := dec(m.value, p); err != nil {
			return err
		}
	}
	return nil
}

// member is one field of a JSON object.
type member struct {
	key   string
	value json.RawMessage
}

// members reads a JSON object's fields in order; a key given twice is an
// error rather than the last one silently winning. want describes the
// object in the error when raw is something else.
func members(raw json.RawMessage, path, want string) ([]member, error) {
	dec := json.NewDecoder(bytes.NewReader(raw))
	if tok, err := dec.Token(); err != nil || tok != json.Delim('{') {
		return nil, fmt.Errorf("%s: want %s, got %s", orInput(path), want, kind(raw))
	}
	var ms []member
	seen := map[string]bool{}
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return nil, fmt.Errorf("%s: %w", orInput(path), err)
		}
		key := tok.(string) // an object's tokens alternate keys and values
		var v json.RawMessage
		if err := dec.Decode(&v); err != nil {
			return nil, fmt.Errorf("%s: %w", joinPath(path, key), err)
		}
		if seen[key] {
			return nil, fmt.Errorf("%s: given twice; give each field once", joinPath(path, key))
		}
		seen[key] = true
		ms = append(ms, member{key, v})
	}
	return ms, nil
}

func orInput(path string) string {
	if path == "" {
		return "input"
	}
	return path
}

// kind names a JSON value's type for error messages.
func kind(raw json.RawMessage) string {
	t := bytes.TrimSpace(raw)
	if len(t) == 0 {
		return "nothing"
	}
	switch t[0] {
	case '{':
		return "an object"
	case '[':
		return "a list"
	case '"':
		return "a string " + truncate(string(t))
	case 't', 'f':
		return "a boolean"
	case 'n':
		return "null"
	}
	return "a number " + truncate(string(t))
}

func truncate(s string) string {
	if len(s) > 40 {
		return s[:40] + "…"
	}
	return s
}

func num(dst *float64) func(json.RawMessage, string) error {
	return func(raw json.RawMessage, path string) error {
		if err := json.Unmarshal(raw, dst); err != nil || bytes.Equal(bytes.TrimSpace(raw), []byte("null")) {
			if t := bytes.TrimSpace(raw); len(t) > 0 && (t[0] == '-' || t[0] >= '0' && t[0] <= '9') {
				return fmt.Errorf("%s: number %s is out of range for float64", path, truncate(string(t)))
			}
			return fmt.Errorf("%s: want a number, got %s", path, kind(raw))
		}
		return nil
	}
}

func numPtr(dst **float64) func(json.RawMessage, string) error {
	return func(raw json.RawMessage, path string) error {
		var v float64
		if err := num(&v)(raw, path); err != nil {
			return err
		}
		*dst = &v
		return nil
	}
}

func confidence(dst *float64) func(json.RawMessage, string) error {
	return func(raw json.RawMessage, path string) error {
		if err := num(dst)(raw, path); err != nil {
			return err
		}
		if !(*dst > 0 && *dst < 1) {
			return fmt.Errorf("%s: must be in (0,1), e.g. 0.98; got %v", path, *dst)
		}
		return nil
	}
}

func integer(dst *int) func(json.RawMessage, string) error {
	return func(raw json.RawMessage, path string) error {
		var v float64
		if err := num(&v)(raw, path); err != nil {
			return err
		}
		if v != math.Trunc(v) || v < 0 || v > math.MaxInt32 {
			return fmt.Errorf("%s: want a whole number ≥ 0, got %v", path, v)
		}
		*dst = int(v)
		return nil
	}
}

func boolean(dst *bool) func(json.RawMessage, string) error {
	return func(raw json.RawMessage, path string) error {
		if err := json.Unmarshal(raw, dst); err != nil || bytes.Equal(bytes.TrimSpace(raw), []byte("null")) {
			return fmt.Errorf("%s: want true or false, got %s", path, kind(raw))
		}
		return nil
	}
}

func str(dst *string) func(json.RawMessage, string) error {
	return func(raw json.RawMessage, path string) error {
		if err := json.Unmarshal(raw, dst); err != nil || bytes.Equal(bytes.TrimSpace(raw), []byte("null")) {
			return fmt.Errorf("%s: want a string, got %s", path, kind(raw))
		}
		return nil
	}
}

func enum[T ~string](dst *T, allowed ...T) func(json.RawMessage, string) error {
	return func(raw json.RawMessage, path string) error {
		var s string
		if err := str(&s)(raw, path); err != nil {
			return err
		}
		for _, a := range allowed {
			if T(s) == a {
				*dst = a
				return nil
			}
		}
		names := make([]string, len(allowed))
		for i, a := range allowed {
			names[i] = string(a)
		}
		return fmt.Errorf("%s: unknown value %q, want one of %s", path, s, strings.Join(names, ", "))
	}
}

// direction reads a metric's direction, also as a Release spells it
// (increase-is-bad, decrease-is-bad): metrics copied from a Release judge
// as they do there.
func direction(dst *Direction) func(json.RawMessage, string) error {
	return func(raw json.RawMessage, path string) error {
		var s string
		if err := json.Unmarshal(raw, &s); err == nil {
			if d, ok := map[string]Direction{"increase-is-bad": Increase, "decrease-is-bad": Decrease}[s]; ok {
				*dst = d
				return nil
			}
		}
		return enum(dst, Increase, Decrease, Either)(raw, path)
	}
}

func strList(dst *[]string) func(json.RawMessage, string) error {
	return func(raw json.RawMessage, path string) error {
		var items []json.RawMessage
		if err := json.Unmarshal(raw, &items); err != nil || items == nil {
			return fmt.Errorf("%s: want a list of strings, got %s", path, kind(raw))
		}
		*dst = make([]string, len(items))
		for i, it := range items {
			if err := str(&(*dst)[i])(it, fmt.Sprintf("%s[%d]", path, i)); err != nil {
				return err
			}
		}
		return nil
	}
}

func weights(dst *map[string]float64) func(json.RawMessage, string) error {
	return func(raw json.RawMessage, path string) error {
		ms, err := members(raw, path, "an object of group → weight")
		if err != nil {
			return err
		}
		// By name, as Validate checks the values: of several bad
		// weights, the same one is reported whatever the input's order.
		slices.SortFunc(ms, func(a, b member) int { return strings.Compare(a.key, b.key) })
		*dst = make(map[string]float64, len(ms))
		for _, m := range ms {
			var v float64
			if err := num(&v)(m.value, path+"."+m.key); err != nil {
				return err
			}
			(*dst)[m.key] = v
		}
		return nil
	}
}

func samples(dst *[]float64) func(json.RawMessage, string) error {
	return func(raw json.RawMessage, path string) error {
		var items []json.RawMessage
		if err := json.Unmarshal(raw, &items); err != nil || items == nil {
			return fmt.Errorf("%s: want a list of numbers, got %s", path, kind(raw))
		}
		*dst = make([]float64, len(items))
		for i, it := range items {
			v, err := sample(it)
			if err != nil {
				return fmt.Errorf("%s[%d]: %w", path, i, err)
			}
			(*dst)[i] = v
		}
		return nil
	}
}

func sample(raw json.RawMessage) (float64, error) {
	t := bytes.TrimSpace(raw)
	if bytes.Equal(t, []byte("null")) {
		return math.NaN(), nil
	}
	var s string
	if json.Unmarshal(t, &s) == nil {
		switch strings.ToLower(s) {
		case "nan":
			return math.NaN(), nil
		case "inf", "+inf":
			return math.Inf(1), nil
		case "-inf":
			return math.Inf(-1), nil
		}
		return 0, fmt.Errorf("want a number, null or \"NaN\", got %s", kind(raw))
	}
	v, err := strconv.ParseFloat(string(t), 64)
	if err != nil {
		if errors.Is(err, strconv.ErrRange) {
			return 0, fmt.Errorf("number %s is out of range for float64", truncate(string(t)))
		}
		return 0, fmt.Errorf("want a number, null or \"NaN\", got %s", kind(raw))
	}
	return v, nil
}

// jsonFloat writes NaN and ±Inf, which JSON cannot carry, as null.
type jsonFloat float64

// MarshalJSON implements json.Marshaler.
func (f jsonFloat) MarshalJSON() ([]byte, error) {
	v := float64(f)
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return []byte("null"), nil
	}
	return strconv.AppendFloat(nil, v, 'g', -1, 64), nil
}

// MarshalJSON writes the non-finite numbers of a summary as null.
func (s Summary) MarshalJSON() ([]byte, error) {
	return json.Marshal(struct {
		Count int       `json:"count"`
		Mean  jsonFloat `json:"mean"`
		P50   jsonFloat `json:"p50"`
		P90   jsonFloat `json:"p90"`
		P99   jsonFloat `json:"p99"`
		Min   jsonFloat `json:"min"`
		Max   jsonFloat `json:"max"`
	}{s.Count, jsonFloat(s.Mean), jsonFloat(s.P50), jsonFloat(s.P90), jsonFloat(s.P99), jsonFloat(s.Min), jsonFloat(s.Max)})
}

// MarshalJSON writes the non-finite numbers of a result (an estimate without
// data, a ratio over a zero mean) as null.
func (m MetricResult) MarshalJSON() ([]byte, error) {
	return json.Marshal(struct {
		Name           string         `json:"name"`
		Groups         []string       `json:"groups,omitempty"`
		Classification Classification `json:"classification"`
		Critical       bool           `json:"critical"`
		Muted          bool           `json:"muted,omitempty"`
		Estimate       jsonFloat      `json:"estimate"`
		CI             [2]jsonFloat   `json:"ci"`
		PValue         jsonFloat      `json:"pValue"`
		Alpha          jsonFloat      `json:"alpha"`
		EffectSize     jsonFloat      `json:"effectSize"`
		Ratio          jsonFloat      `json:"ratio"`
		Bound          jsonFloat      `json:"bound"`
		Baseline       Summary        `json:"baseline"`
		Canary         Summary        `json:"canary"`
		Reason         string         `json:"reason"`
		GuardRail      bool           `json:"guardRail,omitempty"`
	}{
		m.Name, m.Groups, m.Classification, m.Critical, m.Muted, jsonFloat(m.Estimate),
		[2]jsonFloat{jsonFloat(m.CI[0]), jsonFloat(m.CI[1])}, jsonFloat(m.PValue), jsonFloat(m.Alpha),
		jsonFloat(m.EffectSize), jsonFloat(m.Ratio), jsonFloat(m.Bound), m.Baseline, m.Canary, m.Reason, m.GuardRail,
	})
}
