package logbench

import (
	"testing"
	"time"
)

func TestPercentile(t *testing.T) {
	hundred := make([]time.Duration, 100)
	for i := range hundred {
		hundred[i] = time.Duration(i+1) * time.Microsecond
	}
	tests := []struct {
		name   string
		sorted []time.Duration
		q      float64
		want   time.Duration
	}{
		{"empty", nil, 0.99, 0},
		{"one value", []time.Duration{7}, 0.5, 7},
		{"one value p99", []time.Duration{7}, 0.99, 7},
		{"p50 of 100", hundred, 0.50, 50 * time.Microsecond},
		{"p99 of 100", hundred, 0.99, 99 * time.Microsecond},
		{"p100 of 100", hundred, 1, 100 * time.Microsecond},
		{"tiny q is the minimum", hundred, 0.0001, 1 * time.Microsecond},
		{"p50 of 4 is the 2nd", []time.Duration{1, 2, 3, 4}, 0.5, 2},
		{"p99 of 4 is the max", []time.Duration{1, 2, 3, 4}, 0.99, 4},
		{"p75 of 3 is the 3rd", []time.Duration{1, 2, 3}, 0.75, 3},
	}
	for _, tt := range tests {
		if got := Percentile(tt.sorted, tt.q); got != tt.want {
			t.Errorf("%s: Percentile(q=%v) = %v, want %v", tt.name, tt.q, got, tt.want)
		}
	}
}

func TestMedian(t *testing.T) {
	tests := []struct {
		xs   []float64
		want float64
	}{
		{nil, 0},
		{[]float64{3}, 3},
		{[]float64{5, 1, 3}, 3},
		{[]float64{4, 1, 3, 2}, 2.5},
	}
	for _, tt := range tests {
		in := append([]float64(nil), tt.xs...)
		if got := Median(tt.xs); got != tt.want {
			t.Errorf("Median(%v) = %v, want %v", tt.xs, got, tt.want)
		}
		for i := range in {
			if in[i] != tt.xs[i] {
				t.Fatalf("Median modified its input: %v became %v", in, tt.xs)
			}
		}
	}
}
