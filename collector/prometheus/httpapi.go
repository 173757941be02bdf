package prometheus

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/trimtab/trimtab/collector"
)

// API is the part of the Prometheus HTTP API the provider calls.
type API interface {
	// Query runs an instant query (Request.Range nil) or a range query.
	Query(ctx context.Context, r Request) (Answer, error)
}

// Request is one query.
type Request struct {
	Query string
	// At is an instant query's evaluation time.
	At time.Time
	// Range makes it a range query.
	Range *Range
	// Timeout is passed to Prometheus, which stops evaluating after it.
	Timeout time.Duration
}

// Range is a range query's span and resolution.
type Range struct {
	Start, End time.Time
	Step       time.Duration
}

// Answer is a query's result: its series (a scalar is one series without
// labels) and Prometheus's warnings.
type Answer struct {
	Series   []collector.Series
	Warnings []string
}

// Error is a query Prometheus did not answer: the HTTP status and, when the
// body is Prometheus's JSON, its errorType ("bad_data", "execution",
// "timeout", …) and error.
type Error struct {
	Status int
	Type   string
	Msg    string
}

func (e *Error) Error() string {
	if e.Type == "" {
		return e.Msg
	}
	return e.Type + ": " + e.Msg
}

// httpAPI calls /api/v1/query and /api/v1/query_range and decodes each
// answer straight into series. client_golang's api/v1, which it replaces,
// decoded answers into model values, a map per series that the provider
// then copied into its own, each body also kept whole twice: at 10,000
// ScalingPolicies, whose CPU template answers with 20,000 per-pod series,
// about 30 MB at once in the middle of a scaling cycle, the largest part
// of the controller's peak heap.
type httpAPI struct {
	query, queryRange string
	client            *http.Client
}

// NewHTTPAPI returns the API of the server at address (a URL, with the path
// prefix of a Prometheus behind one), called through hc.
func NewHTTPAPI(address string, hc *http.Client) (API, error) {
	u, err := url.Parse(address)
	if err != nil {
		return nil, err
	}
	if u.Scheme != "http" && u.Scheme != "https" || u.Host == "" {
		return nil, fmt.Errorf("not an http:// or https:// URL with a host; write it as http://prometheus.monitoring:9090, with the scheme")
	}
	return &httpAPI{query: u.JoinPath("api/v1/query").String(), queryRange: u.JoinPath("api/v1/query_range").String(), client: hc}, nil
}

// Query sends the query as a form, in a POST: batched queries run to
// megabytes, more than a URL may carry. A server that does not take POST
// (405, 501) is asked again with a GET.
func (a *httpAPI) Query(ctx context.Context, r Request) (Answer, error) {
	endpoint, form := a.query, url.Values{"query": {r.Query}}
	if r.Range != nil {
		endpoint = a.queryRange
		form.Set("start", formatTime(r.Range.Start))
		form.Set("end", formatTime(r.Range.End))
		form.Set("step", strconv.FormatFloat(r.Range.Step.Seconds(), 'f', -1, 64))
	} else if !r.At.IsZero() {
		form.Set("time", formatTime(r.At))
	}
	if r.Timeout > 0 {
		form.Set("timeout", r.Timeout.String())
	}
	body := form.Encode()
	ans, status, err := a.do(ctx, http.MethodPost, endpoint, body)
	if status == http.StatusMethodNotAllowed || status == http.StatusNotImplemented {
		ans, _, err = a.do(ctx, http.MethodGet, endpoint+"?"+body, "")
	}
	return ans, err
}

func formatTime(t time.Time) string {
	return strconv.FormatFloat(float64(t.UnixMilli())/1e3, 'f', -1, 64)
}

// maxErrorBody bounds what is read of a failed answer's body.
const maxErrorBody = 64 << 10

func (a *httpAPI) do(ctx context.Context, method, endpoint, form string) (Answer, int, error) {
	var body io.Reader
	if method == http.MethodPost {
		body = strings.NewReader(form)
	}
	req, err := http.NewRequestWithContext(ctx, method, endpoint, body)
	if err != nil {
		return Answer{}, 0, err
	}
	if method == http.MethodPost {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	resp, err := a.client.Do(req)
	if err != nil {
		return Answer{}, 0, err
	}
	defer func() { _ = resp.Body.Close() }()
	if resp.StatusCode/100 != 2 {
		return Answer{}, resp.StatusCode, statusError(resp)
	}
	ans, err := decodeAnswer(resp.Body, resp.StatusCode)
	if ct := resp.Header.Get("Content-Type"); err != nil && strings.HasPrefix(ct, "text/html") {
		// A proxy's login page answers 200 too.
		err = fmt.Errorf("%w (the answer is %s: check that the address leads to Prometheus itself, not to a login page or a proxy's)", err, ct)
	}
	return ans, resp.StatusCode, err
}

// decodeAnswer reads a successful response's body.
func decodeAnswer(body io.Reader, status int) (Answer, error) {
	var env envelope
	if err := json.NewDecoder(body).Decode(&env); err != nil {
		return Answer{}, fmt.Errorf("decode the answer: %w", err)
	}
	if env.Status != "success" {
		return Answer{Warnings: env.Warnings}, &Error{Status: status, Type: env.ErrorType, Msg: env.Error}
	}
	series, err := env.Data.series()
	return Answer{Series: series, Warnings: env.Warnings}, err
}

// statusError reads a failed answer: Prometheus's own JSON error when the
// body is one, else the status alone ("client error: 401"), since a proxy's
// page says nothing more and may be long.
func statusError(resp *http.Response) error {
	e := &Error{Status: resp.StatusCode, Msg: fmt.Sprintf("server error: %d", resp.StatusCode)}
	if resp.StatusCode/100 == 4 {
		e.Msg = fmt.Sprintf("client error: %d", resp.StatusCode)
	}
	raw, _ := io.ReadAll(io.LimitReader(resp.Body, maxErrorBody))
	var env envelope
	if json.Unmarshal(raw, &env) == nil && env.Status == "error" && env.Error != "" {
		e.Type, e.Msg = env.ErrorType, env.Error
	}
	return e
}

// envelope is the API's response.
type envelope struct {
	Status    string   `json:"status"`
	ErrorType string   `json:"errorType"`
	Error     string   `json:"error"`
	Warnings  []string `json:"warnings"`
	Data      data     `json:"data"`
}

type data struct {
	ResultType string `json:"resultType"`
	Result     result `json:"result"`
}

// result is a list of series, decoded into them as the body is decoded (no
// copy of its text is kept), or the single point of a scalar or string
// result, kept until resultType says which (the fields may come in either
// order).
type result struct {
	series []collector.Series
	point  []byte
}

// series is the answer as series. A native histogram sample has no float
// value to scale on, and is an error rather than a zero.
func (d *data) series() ([]collector.Series, error) {
	switch d.ResultType {
	case "vector", "matrix":
		return d.Result.series, nil
	case "scalar":
		s, err := parsePoint(d.Result.point)
		if err != nil {
			return nil, fmt.Errorf("decode the scalar: %w", err)
		}
		return []collector.Series{{Samples: []collector.Sample{s}}}, nil
	case "string":
		return nil, collector.Errorf(collector.ReasonBadQuery, "query returned a string; it must return a number or series")
	default:
		return nil, fmt.Errorf("decode the answer: unknown resultType %q", d.ResultType)
	}
}

// wireSeries is one element of a vector (value) or matrix (values).
type wireSeries struct {
	Metric     map[string]string `json:"metric"`
	Value      *wirePoint        `json:"value"`
	Values     []wirePoint       `json:"values"`
	Histogram  json.RawMessage   `json:"histogram"`
	Histograms json.RawMessage   `json:"histograms"`
}

type wirePoint collector.Sample

func (p *wirePoint) UnmarshalJSON(b []byte) error {
	s, err := parsePoint(b)
	*p = wirePoint(s)
	return err
}

func (r *result) UnmarshalJSON(b []byte) error {
	inner := bytes.TrimSpace(bytes.TrimPrefix(bytes.TrimSpace(b), []byte("[")))
	if len(inner) > 0 && inner[0] != '{' && inner[0] != ']' {
		r.point = bytes.Clone(b) // a scalar or a string: [time, "value"]
		return nil
	}
	var wire []wireSeries
	if err := json.Unmarshal(b, &wire); err != nil {
		return err
	}
	r.series = make([]collector.Series, len(wire))
	for i, w := range wire {
		if len(w.Histogram) > 0 || len(w.Histograms) > 0 {
			return collector.Errorf(collector.ReasonBadQuery, "series %v holds native histogram samples; wrap the query in histogram_quantile, histogram_sum or histogram_count for a number", w.Metric)
		}
		s := &r.series[i]
		s.Labels = w.Metric
		if s.Labels == nil {
			s.Labels = map[string]string{}
		}
		if w.Value != nil {
			s.Samples = []collector.Sample{collector.Sample(*w.Value)}
			continue
		}
		s.Samples = make([]collector.Sample, len(w.Values))
		for j, v := range w.Values {
			s.Samples[j] = collector.Sample(v)
		}
	}
	return nil
}

// parsePoint reads [<unix seconds>, "<value>"].
func parsePoint(b []byte) (collector.Sample, error) {
	body, open := bytes.CutPrefix(bytes.TrimSpace(b), []byte("["))
	body, closed := bytes.CutSuffix(body, []byte("]"))
	if !open || !closed {
		return collector.Sample{}, fmt.Errorf("point %.40q is not [time, value]", b)
	}
	ts, val, ok := bytes.Cut(body, []byte(","))
	if !ok {
		return collector.Sample{}, fmt.Errorf("point %.40q is not [time, value]", b)
	}
	sec, err := strconv.ParseFloat(string(bytes.TrimSpace(ts)), 64)
	if err != nil {
		return collector.Sample{}, fmt.Errorf("point %.40q: time: %w", b, err)
	}
	quoted := bytes.TrimSpace(val)
	if len(quoted) < 2 || quoted[0] != '"' || quoted[len(quoted)-1] != '"' {
		return collector.Sample{}, fmt.Errorf("point %.40q: the value is not a string", b)
	}
	v, err := strconv.ParseFloat(string(quoted[1:len(quoted)-1]), 64)
	if err != nil {
		return collector.Sample{}, fmt.Errorf("point %.40q: value: %w", b, err)
	}
	return collector.Sample{Time: time.UnixMilli(int64(math.Round(sec * 1e3))), Value: v}, nil
}
