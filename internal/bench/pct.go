package bench

import (
	"math"
	"slices"
	"time"
)

// Percentile is the p-th percentile (0 < p <= 100) of xs by nearest rank: the smallest value with at
// least p % of the values at or below it. NaN for no values.
func Percentile(xs []float64, p float64) float64 {
	if len(xs) == 0 {
		return math.NaN()
	}
	s := slices.Clone(xs)
	slices.Sort(s)
	i := int(math.Ceil(float64(len(s)) * p / 100))
	return s[min(max(i, 1), len(s))-1]
}

// secs is d in seconds.
func secs(d time.Duration) float64 { return d.Seconds() }
