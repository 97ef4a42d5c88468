package engine

import (
	"fmt"
	"testing"
)

// BenchmarkShard routes a recipient to its dispatch shard (every accepted message).
func BenchmarkShard(b *testing.B) {
	for _, shards := range []int{1, 32} {
		b.Run(fmt.Sprintf("shards=%d", shards), func(b *testing.B) {
			b.ReportAllocs()
			n := 0
			for b.Loop() {
				n += Shard("15551230001", shards)
			}
			_ = n
		})
	}
}
