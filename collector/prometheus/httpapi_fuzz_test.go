package prometheus

import (
	"bytes"
	"net/http"
	"testing"
)

// FuzzDecodeAnswer: any body decodes to an answer or an error, never a
// panic, and a decoded answer's series all have labels.
func FuzzDecodeAnswer(f *testing.F) {
	for _, seed := range []string{
		`{"status":"success","data":{"resultType":"vector","result":[{"metric":{"pod":"a"},"value":[1.5,"1"]}]}}`,
		`{"status":"success","data":{"resultType":"matrix","result":[{"metric":{},"values":[[1,"1"],[2,"NaN"]]}]}}`,
		`{"status":"success","data":{"resultType":"scalar","result":[1,"-Inf"]}}`,
		`{"status":"success","data":{"result":[1,"x"],"resultType":"string"}}`,
		`{"status":"error","errorType":"bad_data","error":"parse error"}`,
		`{"status":"success","data":{"resultType":"vector","result":[{"metric":{},"histogram":[1,{}]}]}}`,
	} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		ans, err := decodeAnswer(bytes.NewReader(body), http.StatusOK)
		if err != nil {
			return
		}
		for _, s := range ans.Series {
			if s.Labels == nil && len(ans.Series) > 1 {
				t.Fatalf("a series of %d has no labels: %s", len(ans.Series), body)
			}
		}
	})
}
