// Package b holds the helpers shared by the Go twins of the C benchmarks
// (bench/bench.h is its C counterpart): the clock, RSS readings, argument
// parsing, the RESULT line and failure exits.
package b

import (
	"fmt"
	"os"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// MaxRSSKB is the peak resident set size in KiB (getrusage ru_maxrss).
func MaxRSSKB() int64 {
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return ru.Maxrss
}

// RSSBytes is the current resident set size (/proc/self/statm).
func RSSBytes() int64 {
	data, err := os.ReadFile("/proc/self/statm")
	if err != nil {
		return -1
	}
	var size, resident int64
	if _, err := fmt.Sscan(string(data), &size, &resident); err != nil {
		return -1
	}
	return resident * int64(os.Getpagesize())
}

// PTEBytes is the memory in the process's page tables (VmPTE of
// /proc/self/status), bytes, or -1.
func PTEBytes() int64 {
	data, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return -1
	}
	for _, line := range strings.Split(string(data), "\n") {
		var kb int64
		if _, err := fmt.Sscanf(line, "VmPTE: %d kB", &kb); err == nil {
			return kb * 1024
		}
	}
	return -1
}

// Arg is os.Args[i] as a positive number, or def when absent.
func Arg(i int, def int) int {
	if len(os.Args) <= i {
		return def
	}
	v, err := strconv.ParseInt(os.Args[i], 0, 64)
	if err != nil || v <= 0 {
		fmt.Fprintf(os.Stderr, "bad argument %s: want a positive number\n", os.Args[i])
		os.Exit(2)
	}
	return int(v)
}

// Fail reports a wrong answer and exits 1.
func Fail(name, format string, args ...interface{}) {
	fmt.Fprintf(os.Stderr, "%s: FAILED: %s\n", name, fmt.Sprintf(format, args...))
	os.Exit(1)
}

// Ns is a duration in nanoseconds as a float.
func Ns(d time.Duration) float64 { return float64(d.Nanoseconds()) }

// Ms is a duration in milliseconds as a float.
func Ms(d time.Duration) float64 { return float64(d.Nanoseconds()) / 1e6 }
