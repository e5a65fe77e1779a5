package bench

import (
	"math"
	"testing"
)

func TestPercentile(t *testing.T) {
	xs := []float64{15, 20, 35, 40, 50} // the nearest-rank example of Wikipedia's "Percentile"
	for _, c := range []struct{ p, want float64 }{
		{5, 15}, {30, 20}, {40, 20}, {50, 35}, {90, 50}, {100, 50},
	} {
		if got := Percentile(xs, c.p); got != c.want {
			t.Errorf("Percentile(%v, %v) = %v, want %v", xs, c.p, got, c.want)
		}
	}
	if got := Percentile([]float64{3, 1, 2}, 50); got != 2 {
		t.Errorf("unsorted input: p50 = %v, want 2", got)
	}
	if got := Percentile(nil, 50); !math.IsNaN(got) {
		t.Errorf("no values: %v, want NaN", got)
	}
	if xs[0] != 15 || xs[4] != 50 {
		t.Errorf("input changed: %v", xs)
	}
}
