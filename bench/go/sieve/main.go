// sieve: the Go twin of bench/sieve.c, Go's classic concurrent prime sieve.
// The first N primes (default 5,000; the 5,000th is 48611, checked).
package main

import (
	"fmt"
	"runtime"
	"time"

	"gobench/internal/b"
)

func generate(ch chan<- int) {
	for i := 2; ; i++ {
		ch <- i
	}
}

func filter(in <-chan int, out chan<- int, prime int) {
	for {
		i := <-in
		if i%prime != 0 {
			out <- i
		}
	}
}

func main() {
	n := b.Arg(1, 5000)
	t0 := time.Now()
	ch := make(chan int)
	go generate(ch)
	prime := 0
	for i := 0; i < n; i++ {
		prime = <-ch
		ch1 := make(chan int)
		go filter(ch, ch1, prime)
		ch = ch1
	}
	el := time.Since(t0)
	if n == 5000 && prime != 48611 {
		b.Fail("sieve", "prime #5000 is %d, want 48611", prime)
	}
	fmt.Printf("RESULT name=sieve metric=ms value=%.3f n=%d last=%d gomaxprocs=%d\n",
		b.Ms(el), n, prime, runtime.GOMAXPROCS(0))
}
