// preempt: the Go twin of bench/preempt.c. At GOMAXPROCS=1 two goroutines
// spin with no calls while a third receives N (default 30) ticks of a
// 50 ms ticker; tick k is due at t0 + k*50ms, its delay is when the
// goroutine received it minus that. Reports the worst and the median
// delay in ms.
package main

import (
	"fmt"
	"sort"
	"sync"
	"sync/atomic"
	"time"

	"gobench/internal/b"
)

const period = 50 * time.Millisecond

func main() {
	n := b.Arg(1, 30)
	var stop int32
	var spins [2]uint64
	var wg sync.WaitGroup
	wg.Add(3)
	for i := 0; i < 2; i++ {
		go func(out *uint64) {
			var c uint64
			for atomic.LoadInt32(&stop) == 0 {
				c++
			}
			*out = c
			wg.Done()
		}(&spins[i])
	}
	delays := make([]float64, n)
	go func() {
		t := time.NewTicker(period)
		t0 := time.Now()
		for i := 0; i < n; i++ {
			sent := <-t.C
			now := time.Now()
			k := (sent.Sub(t0) + period/2) / period
			delays[i] = b.Ms(now.Sub(t0.Add(k * period)))
		}
		t.Stop()
		atomic.StoreInt32(&stop, 1)
		wg.Done()
	}()
	wg.Wait()
	if spins[0] == 0 || spins[1] == 0 {
		b.Fail("preempt", "a spinner never ran")
	}
	sort.Float64s(delays)
	fmt.Printf("RESULT name=preempt metric=worst_ms value=%.3f median_ms=%.3f ticks=%d\n",
		delays[n-1], delays[n/2], n)
}
