// parked: the Go twin of bench/parked.c. N goroutines (default 1,000,000)
// each count themselves in an atomic, then block receiving from one shared
// unbuffered channel; (RSS + page tables after - before) / N once all are
// parked (value), and each part (rss, pte).
// Then the channel is closed and every goroutine must see it closed.
package main

import (
	"fmt"
	"runtime"
	"sync"
	"sync/atomic"
	"time"

	"gobench/internal/b"
)

func main() {
	n := b.Arg(1, 1000000)
	ch := make(chan int)
	var wg sync.WaitGroup
	var arrived, closedSeen int64
	before, pteBefore := b.RSSBytes(), b.PTEBytes()
	wg.Add(n)
	for i := 0; i < n; i++ {
		go func() {
			atomic.AddInt64(&arrived, 1)
			if _, ok := <-ch; !ok {
				atomic.AddInt64(&closedSeen, 1)
			}
			wg.Done()
		}()
	}
	// runtime.NumGoroutine counts main too; C's go_num_goroutine does not.
	for atomic.LoadInt64(&arrived) < int64(n) || runtime.NumGoroutine()-1 < n {
		time.Sleep(time.Millisecond)
	}
	time.Sleep(50 * time.Millisecond)
	after, pteAfter := b.RSSBytes(), b.PTEBytes()
	if g := runtime.NumGoroutine() - 1; g != n {
		b.Fail("parked", "%d goroutines, want %d", g, n)
	}
	close(ch)
	wg.Wait()
	if closedSeen != int64(n) {
		b.Fail("parked", "%d goroutines saw the close, want %d", closedSeen, n)
	}
	fmt.Printf("RESULT name=parked metric=bytes_per_goroutine value=%.1f rss=%.1f pte=%.1f rss_before_kb=%d rss_after_kb=%d pte_after_kb=%d n=%d\n",
		float64(after+pteAfter-before-pteBefore)/float64(n), float64(after-before)/float64(n),
		float64(pteAfter-pteBefore)/float64(n), before/1024, after/1024, pteAfter/1024, n)
}
