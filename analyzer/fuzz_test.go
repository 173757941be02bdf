package analyzer

import (
	"encoding/binary"
	"encoding/json"
	"math"
	"testing"
)

var validClassifications = map[Classification]bool{Pass: true, High: true, Low: true, Nodata: true, NodataFailMetric: true, Error: true}

// floatsFrom turns fuzz bytes into samples, so that NaN, ±Inf, huge, tiny,
// constant and empty series all come up.
func floatsFrom(b []byte) []float64 {
	out := make([]float64, 0, len(b)/8)
	for len(b) >= 8 {
		out = append(out, math.Float64frombits(binary.LittleEndian.Uint64(b)))
		b = b[8:]
	}
	return out
}

func bytesFrom(v ...float64) []byte {
	out := make([]byte, 0, 8*len(v))
	for _, f := range v {
		out = binary.LittleEndian.AppendUint64(out, math.Float64bits(f))
	}
	return out
}

// FuzzClassify: any samples and knobs give one of the six classifications,
// in both modes, without panicking.
func FuzzClassify(f *testing.F) {
	f.Add(bytesFrom(1, 2, 3, 4, 5, 6), bytesFrom(2, 3, 4, 5, 6, 7), uint8(0), uint8(0))
	f.Add(bytesFrom(math.NaN(), math.Inf(1), math.Inf(-1)), bytesFrom(1), uint8(1), uint8(3))
	f.Add(bytesFrom(), bytesFrom(1, 1, 1), uint8(2), uint8(5))
	f.Add(bytesFrom(5), bytesFrom(1), uint8(3), uint8(7))
	f.Add(bytesFrom(1e308, -1e308, 1e308), bytesFrom(5e-324, 0, -5e-324), uint8(4), uint8(9))
	f.Add(bytesFrom(7, 7, 7, 7, 7), bytesFrom(7, 7, 7, 7, 7, 7), uint8(5), uint8(2))
	f.Fuzz(func(t *testing.T, base, can []byte, knobs, more uint8) {
		dirs := []Direction{Either, Increase, Decrease}
		cfg := Config{}
		if knobs&1 == 1 {
			cfg.Mode = ModeKayenta
		}
		in := MetricInput{
			MetricConfig: MetricConfig{
				Name:         "fuzz",
				Direction:    dirs[int(knobs>>1)%3],
				Critical:     knobs&8 != 0,
				MustHaveData: knobs&16 != 0,
				EffectSize:   EffectSize{Measure: [2]EffectMeasure{MeanRatio, CLES}[more&1]},
				MinSamples:   int(more>>4) % 4,
			},
			Baseline: floatsFrom(base),
			Canary:   floatsFrom(can),
		}
		if knobs&32 != 0 {
			in.NaNStrategy = NaNReplace
		}
		if knobs&64 != 0 {
			in.Outliers = OutliersRemove
		}
		if more&2 != 0 {
			in.Thresholds = &Thresholds{Max: ptr(1), Statistic: [5]Statistic{StatMean, StatP50, StatP90, StatP99, StatMax}[int(more>>2)%5]}
		}
		res, err := Judge(cfg, []MetricInput{in})
		if err != nil {
			t.Fatal(err)
		}
		m := res.Metrics[0]
		if !validClassifications[m.Classification] {
			t.Fatalf("undefined classification %q", m.Classification)
		}
		if m.Reason == "" {
			t.Fatal("empty reason")
		}
		if m.PValue < 0 || m.PValue > 1 {
			t.Fatalf("p-value %v", m.PValue)
		}
		if res.Score < 0 || res.Score > 100 || math.IsNaN(res.Score) {
			t.Fatalf("score %v", res.Score)
		}
	})
}

// FuzzDecodeRequest: the parser never panics, and whatever it accepts judges
// without error.
func FuzzDecodeRequest(f *testing.F) {
	f.Add([]byte(exampleRequest))
	f.Add([]byte(`{"metrics":[{"name":"a","baseline":[1,2,null],"canary":["NaN","-Inf"]}]}`))
	f.Add([]byte("metrics:\n  - name: a\n    canary: [1]\n"))
	f.Add([]byte(`{"metrics":[]}`))
	f.Add([]byte(`{"config":{"confidence":1}}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		req, err := DecodeRequest(data)
		if err != nil {
			return
		}
		if _, err := Judge(req.Config, req.Metrics); err != nil {
			t.Fatalf("accepted input failed to judge: %v", err)
		}
	})
}

// FuzzYAMLToJSON: whatever YAML the converter accepts becomes valid JSON no
// larger than its bound, so DecodeRequest's field decoders see what they
// would from a JSON input.
func FuzzYAMLToJSON(f *testing.F) {
	f.Add([]byte("metrics:\n  - name: a\n    baseline: [.nan, .inf, -.Inf, 1, 0x10]\n    critical: yes\n"))
	f.Add([]byte("a: &a [1, 2]\nb: [*a, *a]\n*a : 3\n"))
	f.Add([]byte("s: !!str on\nt: !!binary aGk=\nu: 2001-12-14\nv: ~\nw: 1e400\n"))
	f.Add([]byte("- [a, {b: c}]\n---\n- d\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		out, err := yamlToJSON(data)
		if err != nil {
			return
		}
		if !json.Valid(out) {
			t.Fatalf("invalid JSON %q from %q", out, data)
		}
		// The byte bound is checked before each node, which then adds at
		// most its own text (an escaped scalar: up to 6 bytes a byte).
		if limit := 4*len(data) + 1024; len(out) > limit+6*len(data)+16 {
			t.Fatalf("%d bytes of JSON from %d of YAML", len(out), len(data))
		}
	})
}
