// timers: the Go twin of bench/timers.c. G goroutines (default 100,000)
// each sleep 10 ms R times (default 10), all released together from a
// WaitGroup barrier once every one has arrived. Total ms and the overshoot
// beyond the ideal R * 10 ms.
package main

import (
	"fmt"
	"runtime"
	"sync"
	"sync/atomic"
	"time"

	"gobench/internal/b"
)

const sleep = 10 * time.Millisecond

func main() {
	ngs := b.Arg(1, 100000)
	rounds := b.Arg(2, 10)
	var ready, start, done sync.WaitGroup
	var slept, shortSleeps int64
	ready.Add(ngs)
	start.Add(1)
	done.Add(ngs)
	for i := 0; i < ngs; i++ {
		go func() {
			ready.Done()
			start.Wait()
			t0 := time.Now()
			for r := 0; r < rounds; r++ {
				time.Sleep(sleep)
			}
			if time.Since(t0) < time.Duration(rounds)*sleep {
				atomic.AddInt64(&shortSleeps, 1)
			}
			atomic.AddInt64(&slept, int64(rounds))
			done.Done()
		}()
	}
	ready.Wait()
	t0 := time.Now()
	start.Done()
	done.Wait()
	el := time.Since(t0)
	if slept != int64(ngs)*int64(rounds) {
		b.Fail("timers", "%d sleeps done, want %d", slept, ngs*rounds)
	}
	if shortSleeps != 0 {
		b.Fail("timers", "%d goroutines finished their sleeps early", shortSleeps)
	}
	ms := b.Ms(el)
	ideal := b.Ms(time.Duration(rounds) * sleep)
	fmt.Printf("RESULT name=timers metric=ms value=%.3f overshoot_ms=%.3f n=%d rounds=%d gomaxprocs=%d\n",
		ms, ms-ideal, ngs, rounds, runtime.GOMAXPROCS(0))
}
