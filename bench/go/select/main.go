// select: the Go twin of bench/select.c. One consumer goroutine selects
// over 4 unbuffered channels 4*N times; producer i sends 1..N (default
// 1,000,000) on channel i. Per-channel counts and the sum are checked.
package main

import (
	"fmt"
	"runtime"
	"sync"
	"time"

	"gobench/internal/b"
)

const nchan = 4

func main() {
	n := b.Arg(1, 1000000)
	var ch [nchan]chan int
	for i := range ch {
		ch[i] = make(chan int)
	}
	var wg sync.WaitGroup
	var gotSum int
	var gotCount [nchan]int
	t0 := time.Now()
	wg.Add(nchan + 1)
	go func() { // the consumer
		sum := 0
		var count [nchan]int
		c0, c1, c2, c3 := ch[0], ch[1], ch[2], ch[3]
		for k := 0; k < nchan*n; k++ {
			var v int
			select {
			case v = <-c0:
				count[0]++
			case v = <-c1:
				count[1]++
			case v = <-c2:
				count[2]++
			case v = <-c3:
				count[3]++
			}
			sum += v
		}
		gotSum = sum
		gotCount = count
		wg.Done()
	}()
	for i := 0; i < nchan; i++ {
		go func(c chan int) {
			for i := 1; i <= n; i++ {
				c <- i
			}
			wg.Done()
		}(ch[i])
	}
	wg.Wait()
	el := time.Since(t0)
	for i, c := range gotCount {
		if c != n {
			b.Fail("select", "channel %d delivered %d values, want %d", i, c, n)
		}
	}
	if want := nchan * n * (n + 1) / 2; gotSum != want {
		b.Fail("select", "sum %d, want %d", gotSum, want)
	}
	fmt.Printf("RESULT name=select metric=ns_per_msg value=%.2f n=%d gomaxprocs=%d\n",
		b.Ns(el)/float64(nchan*n), n, runtime.GOMAXPROCS(0))
}
