// mpmc: the Go twin of bench/mpmc.c. 4 producers each send 1..N (default
// 1,000,000) into one channel of capacity 1024; 4 consumers drain it until
// it is closed. Sum and count checked.
package main

import (
	"fmt"
	"runtime"
	"sync"
	"sync/atomic"
	"time"

	"gobench/internal/b"
)

const (
	producers = 4
	consumers = 4
	capacity  = 1024
)

func main() {
	n := b.Arg(1, 1000000)
	ch := make(chan int, capacity)
	var pwg, cwg sync.WaitGroup
	var totalSum, totalCount int64
	t0 := time.Now()
	cwg.Add(consumers)
	for i := 0; i < consumers; i++ {
		go func() {
			var sum, count int64
			for v := range ch {
				sum += int64(v)
				count++
			}
			atomic.AddInt64(&totalSum, sum)
			atomic.AddInt64(&totalCount, count)
			cwg.Done()
		}()
	}
	pwg.Add(producers)
	for i := 0; i < producers; i++ {
		go func() {
			for i := 1; i <= n; i++ {
				ch <- i
			}
			pwg.Done()
		}()
	}
	pwg.Wait()
	close(ch)
	cwg.Wait()
	el := time.Since(t0)
	wantSum := int64(producers) * int64(n) * int64(n+1) / 2
	if totalCount != int64(producers*n) || totalSum != wantSum {
		b.Fail("mpmc", "received %d values summing to %d, want %d summing to %d",
			totalCount, totalSum, producers*n, wantSum)
	}
	fmt.Printf("RESULT name=mpmc metric=ns_per_msg value=%.2f n=%d gomaxprocs=%d\n",
		b.Ns(el)/float64(producers*n), n, runtime.GOMAXPROCS(0))
}
