// chain: the Go twin of bench/chain.c. N goroutines (default 100,000) in a
// daisy chain of N+1 unbuffered channels; main pushes 0 in at the right end
// and receives N at the left, P passes (default 10). Only the passes are
// timed.
package main

import (
	"fmt"
	"runtime"
	"sync"
	"time"

	"gobench/internal/b"
)

func main() {
	n := b.Arg(1, 100000)
	passes := b.Arg(2, 10)
	chans := make([]chan int, n+1)
	for i := range chans {
		chans[i] = make(chan int)
	}
	var wg sync.WaitGroup
	wg.Add(n)
	for i := 0; i < n; i++ {
		go func(left, right chan int) {
			for p := 0; p < passes; p++ {
				v := <-right
				v++
				left <- v
			}
			wg.Done()
		}(chans[i], chans[i+1])
	}
	t0 := time.Now()
	for p := 0; p < passes; p++ {
		chans[n] <- 0
		if v := <-chans[0]; v != n {
			b.Fail("chain", "pass %d: got %d at the end, want %d", p, v, n)
		}
	}
	el := time.Since(t0)
	wg.Wait()
	fmt.Printf("RESULT name=chain metric=ms_per_pass value=%.3f n=%d passes=%d gomaxprocs=%d\n",
		b.Ms(el)/float64(passes), n, passes, runtime.GOMAXPROCS(0))
}
