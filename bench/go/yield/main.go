// yield: the Go twin of bench/yield.c. G goroutines (default 10) each call
// runtime.Gosched N times (default 1,000,000).
package main

import (
	"fmt"
	"runtime"
	"sync"
	"time"

	"gobench/internal/b"
)

func main() {
	n := b.Arg(1, 1000000)
	ngs := b.Arg(2, 10)
	counts := make([]int, ngs)
	var wg sync.WaitGroup
	t0 := time.Now()
	wg.Add(ngs)
	for i := 0; i < ngs; i++ {
		go func(out *int) {
			count := 0
			for j := 0; j < n; j++ {
				runtime.Gosched()
				count++
			}
			*out = count
			wg.Done()
		}(&counts[i])
	}
	wg.Wait()
	el := time.Since(t0)
	for i, c := range counts {
		if c != n {
			b.Fail("yield", "goroutine %d yielded %d times, want %d", i, c, n)
		}
	}
	fmt.Printf("RESULT name=yield metric=ns_per_yield value=%.2f n=%d goroutines=%d gomaxprocs=%d\n",
		b.Ns(el)/(float64(n)*float64(ngs)), n, ngs, runtime.GOMAXPROCS(0))
}
