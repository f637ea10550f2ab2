// pingpong: the Go twin of bench/pingpong.c. Two goroutines bounce an int
// over one unbuffered channel N times (default 1,000,000 round trips).
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
	ch := make(chan int)
	var wg sync.WaitGroup
	bad := false
	t0 := time.Now()
	wg.Add(2)
	go func() { // ping
		for i := 0; i < n; i++ {
			ch <- i
			v := <-ch
			if v != i+1 {
				bad = true
			}
		}
		wg.Done()
	}()
	go func() { // pong
		for i := 0; i < n; i++ {
			v := <-ch
			v++
			ch <- v
		}
		wg.Done()
	}()
	wg.Wait()
	el := time.Since(t0)
	if bad {
		b.Fail("pingpong", "a round trip returned the wrong value")
	}
	fmt.Printf("RESULT name=pingpong metric=ns_per_roundtrip value=%.2f n=%d gomaxprocs=%d\n",
		b.Ns(el)/float64(n), n, runtime.GOMAXPROCS(0))
}
