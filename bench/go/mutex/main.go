// mutex: the Go twin of bench/mutex.c. 8 goroutines each do N (default
// 1,000,000) Lock / increment / Unlock on one sync.Mutex.
package main

import (
	"fmt"
	"runtime"
	"sync"
	"time"

	"gobench/internal/b"
)

var (
	mu      sync.Mutex
	counter int64
)

func main() {
	n := b.Arg(1, 1000000)
	ngs := b.Arg(2, 8)
	var wg sync.WaitGroup
	t0 := time.Now()
	wg.Add(ngs)
	for i := 0; i < ngs; i++ {
		go func() {
			for j := 0; j < n; j++ {
				mu.Lock()
				counter++
				mu.Unlock()
			}
			wg.Done()
		}()
	}
	wg.Wait()
	el := time.Since(t0)
	if counter != int64(n)*int64(ngs) {
		b.Fail("mutex", "counter %d, want %d", counter, n*ngs)
	}
	fmt.Printf("RESULT name=mutex metric=ns_per_lock value=%.2f n=%d goroutines=%d gomaxprocs=%d\n",
		b.Ns(el)/(float64(n)*float64(ngs)), n, ngs, runtime.GOMAXPROCS(0))
}
