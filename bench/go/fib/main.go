// fib: the Go twin of bench/fib.c. Parallel recursive fib(35): while
// depth < 12 a call spawns a goroutine for fib(n-1), computes fib(n-2)
// itself and joins with a WaitGroup of its own; plain recursion below.
// seq_ms is a plain fib(n) on one goroutine afterwards, for context.
package main

import (
	"fmt"
	"runtime"
	"sync"
	"time"

	"gobench/internal/b"
)

var spawnDepth int

//go:noinline
func fib(n int) int {
	if n < 2 {
		return n
	}
	return fib(n-1) + fib(n-2)
}

func pfib(n, depth int) int {
	if depth >= spawnDepth || n < 2 {
		return fib(n)
	}
	var wg sync.WaitGroup
	var a int
	wg.Add(1)
	go func() {
		a = pfib(n-1, depth+1)
		wg.Done()
	}()
	bb := pfib(n-2, depth+1)
	wg.Wait()
	return a + bb
}

func expect(n int) int {
	a, bb := 0, 1
	for i := 0; i < n; i++ {
		a, bb = bb, a+bb
	}
	return a
}

func main() {
	n := b.Arg(1, 35)
	spawnDepth = b.Arg(2, 12)
	t0 := time.Now()
	r := pfib(n, 0)
	el := time.Since(t0)
	if r != expect(n) {
		b.Fail("fib", "fib(%d) = %d, want %d", n, r, expect(n))
	}
	t1 := time.Now()
	s := fib(n)
	seq := time.Since(t1)
	if s != r {
		b.Fail("fib", "serial fib(%d) = %d, want %d", n, s, r)
	}
	fmt.Printf("RESULT name=fib metric=ms value=%.3f seq_ms=%.3f n=%d depth=%d gomaxprocs=%d\n",
		b.Ms(el), b.Ms(seq), n, spawnDepth, runtime.GOMAXPROCS(0))
}
