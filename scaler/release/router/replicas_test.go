package router

import (
	"testing"

	"github.com/stretchr/testify/require"
)

func TestReplicasSplit(t *testing.T) {
	cases := []struct {
		name          string
		total, weight int32
		sizing        Sizing
		want          Split
	}{
		{"no release", 10, 0, Sizing{}, Split{Primary: 10}},
		{"10% of 10", 10, 10, Sizing{}, Split{Primary: 9, Canary: 1}},
		{"25% of 10 rounds half up", 10, 25, Sizing{}, Split{Primary: 7, Canary: 3}},
		{"75% of 4", 4, 75, Sizing{}, Split{Primary: 1, Canary: 3}},
		{"small weight still gets a pod", 10, 1, Sizing{}, Split{Primary: 9, Canary: 1}},
		{"large weight keeps a primary pod", 10, 99, Sizing{}, Split{Primary: 1, Canary: 9}},
		{"one replica runs one of each", 1, 10, Sizing{}, Split{Primary: 1, Canary: 1}},
		{"100% is all canary", 5, 100, Sizing{}, Split{Canary: 5}},
		{"baseline comes out of the primary", 10, 20, Sizing{Baseline: true}, Split{Primary: 6, Canary: 2, Baseline: 2}},
		{"baseline never empties the primary", 2, 50, Sizing{Baseline: true}, Split{Primary: 1, Canary: 1, Baseline: 1}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			require.Equal(t, tc.want, Replicas{}.Replicas(tc.total, tc.weight, tc.sizing))
		})
	}
}

func TestSeparateSplit(t *testing.T) {
	cases := []struct {
		name          string
		total, weight int32
		sizing        Sizing
		want          Split
	}{
		{"idle", 4, 0, Sizing{}, Split{Primary: 4}},
		{"10% of 4 rounds up to one pod", 4, 10, Sizing{}, Split{Primary: 4, Canary: 1}},
		{"50% of 10", 10, 50, Sizing{}, Split{Primary: 10, Canary: 5}},
		{"blue-green runs full size even at 0%", 3, 0, Sizing{Full: true}, Split{Primary: 3, Canary: 3}},
		{"baseline like the canary", 10, 30, Sizing{Baseline: true}, Split{Primary: 10, Canary: 3, Baseline: 3}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			require.Equal(t, tc.want, separate(tc.total, tc.weight, tc.sizing))
		})
	}
}
