package bench

import (
	"math"
	"math/bits"
	"time"
)

// Histogram records durations in nanoseconds in log-linear buckets, HDR-style: values below 256
// ns have their own bucket, and every power of two above is split into 128 buckets, so a reported
// percentile is within 0.4 % of the true value (the bucket's midpoint) whatever the run length.
// Memory is fixed (≈ 35 KiB). Values of 2⁴¹ ns (≈ 37 minutes) and more share the last bucket; the
// exact maximum is kept apart. A Histogram is not safe for concurrent use: each load worker has
// its own and they are merged at the end.
type Histogram struct {
	counts [histBuckets]uint64
	n      uint64
	sum    float64
	max    int64
}

const (
	histSubBits = 7
	histSub     = 1 << histSubBits // buckets per power of two
	histTopBits = 41               // values up to 2^41 ns
	histBuckets = (histTopBits-histSubBits-1)*histSub + 2*histSub
)

func histIndex(v uint64) int {
	if v < 2*histSub {
		return int(v)
	}
	if v >= 1<<histTopBits {
		v = 1<<histTopBits - 1
	}
	exp := bits.Len64(v) - (histSubBits + 1)
	return exp*histSub + int(v>>exp)
}

// histBucket returns the lowest value of bucket i and the bucket's width.
func histBucket(i int) (low, width uint64) {
	if i < 2*histSub {
		return uint64(i), 1
	}
	exp := i/histSub - 1
	sub := uint64(i - exp*histSub)
	return sub << exp, 1 << exp
}

// Record adds one duration; negative durations count as zero.
func (h *Histogram) Record(d time.Duration) {
	v := int64(d)
	if v < 0 {
		v = 0
	}
	h.counts[histIndex(uint64(v))]++
	h.n++
	h.sum += float64(v)
	if v > h.max {
		h.max = v
	}
}

// Merge adds every value recorded in o.
func (h *Histogram) Merge(o *Histogram) {
	if o.n == 0 {
		return
	}
	for i, c := range o.counts {
		h.counts[i] += c
	}
	h.n += o.n
	h.sum += o.sum
	h.max = max(h.max, o.max)
}

// Count is the number of values recorded.
func (h *Histogram) Count() uint64 { return h.n }

// Max is the largest value recorded, exactly.
func (h *Histogram) Max() time.Duration { return time.Duration(h.max) }

// Mean is the arithmetic mean of the values recorded.
func (h *Histogram) Mean() time.Duration {
	if h.n == 0 {
		return 0
	}
	return time.Duration(h.sum / float64(h.n))
}

// Quantile returns the value at quantile q (0 < q ≤ 1): the midpoint of the bucket holding the
// ⌈q·n⌉-th smallest value, never more than the maximum.
func (h *Histogram) Quantile(q float64) time.Duration {
	if h.n == 0 {
		return 0
	}
	rank := uint64(math.Ceil(q * float64(h.n)))
	rank = min(max(rank, 1), h.n)
	if rank == h.n {
		return time.Duration(h.max)
	}
	var seen uint64
	for i, c := range h.counts {
		seen += c
		if seen >= rank {
			low, width := histBucket(i)
			v := int64(low + width/2)
			return time.Duration(min(v, h.max))
		}
	}
	return time.Duration(h.max)
}

// Latency is the summary of a Histogram in milliseconds, as the report shows it.
type Latency struct {
	P50  float64 `json:"p50"`
	P90  float64 `json:"p90"`
	P99  float64 `json:"p99"`
	Max  float64 `json:"max"`
	Mean float64 `json:"mean"`
}

func ms(d time.Duration) float64 { return math.Round(float64(d)/1e3) / 1e3 }

// Summary returns the percentiles of h in milliseconds (to the microsecond).
func (h *Histogram) Summary() Latency {
	return Latency{
		P50:  ms(h.Quantile(0.50)),
		P90:  ms(h.Quantile(0.90)),
		P99:  ms(h.Quantile(0.99)),
		Max:  ms(h.Max()),
		Mean: ms(h.Mean()),
	}
}
