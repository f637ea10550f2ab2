// main-consumer: the Go twin of bench/main-consumer.c. A feeder goroutine
// sends N jobs (default 200,000) into a buffered channel, 4 workers square
// them into a buffered results channel, and the main goroutine sums the
// results; then the same loop runs in another goroutine while main waits.
// value= is main's ns per value, in_g_ns= the other goroutine's.
package main

import (
	"fmt"
	"runtime"
	"sync"
	"time"

	"gobench/internal/b"
)

const workers = 4
const capacity = 64

func consume(n int) float64 {
	jobs := make(chan int64, capacity)
	results := make(chan int64, capacity)
	var wg sync.WaitGroup
	t0 := time.Now()
	wg.Add(workers)
	go func() {
		for i := int64(1); i <= int64(n); i++ {
			jobs <- i
		}
		close(jobs)
	}()
	for i := 0; i < workers; i++ {
		go func() {
			for v := range jobs {
				results <- v * v
			}
			wg.Done()
		}()
	}
	go func() {
		wg.Wait()
		close(results)
	}()
	var sum int64
	got := 0
	for v := range results {
		sum += v
		got++
	}
	el := time.Since(t0)
	nn := int64(n)
	want := nn * (nn + 1) * (2*nn + 1) / 6
	if got != n || sum != want {
		b.Fail("main-consumer", "got %d values summing to %d, want %d summing to %d", got, sum, n, want)
	}
	return b.Ns(el) / float64(n)
}

func main() {
	n := b.Arg(1, 200000)
	inMain := consume(n)
	var inG float64
	done := make(chan struct{})
	go func() {
		inG = consume(n)
		close(done)
	}()
	<-done
	fmt.Printf("RESULT name=main-consumer metric=ns_per_value value=%.2f in_g_ns=%.2f ratio=%.2f n=%d gomaxprocs=%d\n",
		inMain, inG, inMain/inG, n, runtime.GOMAXPROCS(0))
}
