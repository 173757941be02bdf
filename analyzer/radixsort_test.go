package analyzer

import (
	"math"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/stretchr/testify/require"
)

// TestFloatSorterMatchesSlicesSort: the radix sort orders like slices.Sort
// on series that exercise every byte of the key: both signs, zeros,
// infinities, subnormals, wide and narrow ranges, ties, and lengths on both
// sides of the radix threshold.
func TestFloatSorterMatchesSlicesSort(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	gen := map[string]func() float64{
		"lognormal":  func() float64 { return 100 * math.Exp(0.25*rng.NormFloat64()) },
		"signed":     func() float64 { return rng.NormFloat64() * math.Pow(10, float64(rng.IntN(40)-20)) },
		"ties":       func() float64 { return float64(rng.IntN(7) - 3) },
		"bits":       func() float64 { return math.Float64frombits(rng.Uint64()&^(0x7ff<<52) | uint64(rng.IntN(2047))<<52) },
		"subnormals": func() float64 { return math.Float64frombits(rng.Uint64()>>12) * float64(1-2*rng.IntN(2)) },
		"specials": func() float64 {
			return []float64{math.Inf(1), math.Inf(-1), 0, math.MaxFloat64, -math.MaxFloat64, math.SmallestNonzeroFloat64, 1}[rng.IntN(7)]
		},
	}
	var fs floatSorter
	for name, g := range gen {
		for _, n := range []int{0, 1, 5, radixMin - 1, radixMin, 1000, 4099} {
			v := make([]float64, n)
			for i := range v {
				v[i] = g()
			}
			want := slices.Clone(v)
			slices.Sort(want)
			fs.sort(v)
			require.Equal(t, want, v, "%s n=%d", name, n)
		}
	}
}

// TestFloatSorterKeepsSignedZerosInInputOrder: −0 and +0 compare equal, so
// the stable radix sort leaves them as they came.
func TestFloatSorterKeepsSignedZerosInInputOrder(t *testing.T) {
	v := make([]float64, radixMin)
	for i := range v {
		v[i] = float64(i%5) + 1
	}
	v[10], v[20] = 0, math.Copysign(0, -1)
	var fs floatSorter
	fs.sort(v)
	zeros := slices.Index(v, 0)
	require.False(t, math.Signbit(v[zeros]), "+0 came first in the input")
	require.True(t, math.Signbit(v[zeros+1]))
}
