package web

import (
	"encoding/json"
	"errors"
	"math"
	"testing"

	"k8s.io/client-go/util/jsonpath"

	"github.com/trimtab/trimtab/collector"
)

// FuzzExtract feeds extract the JSON an application serves: whatever it
// selects, it returns a finite number, a NaN (no data, once Collect drops
// it) or a classified error; never an infinity, which no decision can use.
func FuzzExtract(f *testing.F) {
	for _, seed := range []string{`{"v":120}`, `{"v":"12.5"}`, `{"v":null}`, `{"v":{"eu":1}}`, `{"v":[1,2]}`, `{"w":1}`,
		`{"v":"NaN"}`, `{"v":"-nan"}`, `{"v":"+Inf"}`, `{"v":"-Infinity"}`, `{"v":"inf"}`, `{"v":"1e999"}`, `{"v":"0x1p2000"}`, `{"v":"+nan"}`} {
		f.Add(seed)
	}
	jp := jsonpath.New("web.jsonPath")
	if err := jp.Parse("{.v}"); err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, body string) {
		var doc any
		if json.Unmarshal([]byte(body), &doc) != nil {
			return // fetch refuses it before extract
		}
		v, err := extract(jp, "{.v}", doc)
		if err != nil {
			// A *collector.Error carries its class (retryable, permanent,
			// no data), which callers act on.
			if !errors.As(err, new(*collector.Error)) {
				t.Fatalf("%s: unclassified error %v", body, err)
			}
			return
		}
		if math.IsInf(v, 0) {
			t.Fatalf("%s: infinite value %v without an error", body, v)
		}
	})
}
