// spawn: the Go twin of bench/spawn.c. The main goroutine starts N
// goroutines (default 1,000,000) that each only call wg.Done, then waits.
package main

import (
	"fmt"
	"runtime"
	"sync"
	"time"

	"gobench/internal/b"
)

var wg sync.WaitGroup

func done() { wg.Done() }

func main() {
	n := b.Arg(1, 1000000)
	wg.Add(n)
	t0 := time.Now()
	for i := 0; i < n; i++ {
		go done()
	}
	wg.Wait()
	el := time.Since(t0)
	// Goroutines may still be between wg.Done and their exit; give them a
	// moment before counting (main is counted by Go, not by C).
	for i := 0; i < 1000 && runtime.NumGoroutine() > 1; i++ {
		time.Sleep(time.Millisecond)
	}
	if g := runtime.NumGoroutine(); g != 1 {
		b.Fail("spawn", "%d goroutines still alive after wg.Wait", g-1)
	}
	fmt.Printf("RESULT name=spawn metric=ns_per_goroutine value=%.2f rss_kb=%d n=%d\n",
		b.Ns(el)/float64(n), b.MaxRSSKB(), n)
}
