// syscall: the Go twin of bench/syscall.c. G goroutines (default 1,000)
// each make R (default 100) blocking 1 ms nanosleep system calls
// (syscall.Nanosleep enters the runtime's syscall state, as
// go_syscall_enter does in C); reports the total ms against the ideal
// R * 1 ms.
package main

import (
	"fmt"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"gobench/internal/b"
)

func main() {
	ngs := b.Arg(1, 1000)
	rounds := b.Arg(2, 100)
	var ready, start, wg sync.WaitGroup
	var calls int64
	ready.Add(ngs)
	start.Add(1)
	wg.Add(ngs)
	for i := 0; i < ngs; i++ {
		go func() {
			ready.Done()
			start.Wait()
			for r := 0; r < rounds; r++ {
				// The runtime's preemption signal can cut a sleep
				// short (EINTR): sleep the rest.
				ts := syscall.Timespec{Nsec: 1000000}
				var rem syscall.Timespec
				err := syscall.Nanosleep(&ts, &rem)
				for err == syscall.EINTR {
					ts = rem
					err = syscall.Nanosleep(&ts, &rem)
				}
				if err == nil {
					atomic.AddInt64(&calls, 1)
				}
			}
			wg.Done()
		}()
	}
	ready.Wait()
	t0 := time.Now()
	start.Done()
	wg.Wait()
	el := time.Since(t0)
	if calls != int64(ngs*rounds) {
		b.Fail("syscall", "%d calls completed, want %d", calls, ngs*rounds)
	}
	fmt.Printf("RESULT name=syscall metric=ms value=%.1f ideal_ms=%d goroutines=%d rounds=%d\n",
		b.Ms(el), rounds, ngs, rounds)
}
