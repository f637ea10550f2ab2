// netdriver: runs a server program, measures it with a client, and prints
// one RESULT line, so that bench/run.sh can compare the C and the Go
// servers with the very same client.
//
//	usage: netdriver echo SERVER [CEILING_SERVER]
//	       netdriver http SERVER
//
// SERVER is started with the argument 127.0.0.1:0 and must print a first
// line on stdout ending in ":PORT" or ":PORT/" (the address it bound).
//
// echo: 100 connections (BENCH_ECHO_CONNS), each sending 10,000
// (BENCH_ECHO_MSGS) 64-byte messages one at a time and reading each echo
// back; every byte is checked. value = messages per second. With a
// CEILING_SERVER (the hand-written epoll loop in C), the same client then
// measures it too: epoll = its messages per second, vs_epoll = value/epoll.
//
// http: wrk -t1 -c100 -d10s --latency (BENCH_HTTP_SECS changes -d) against
// the server; value = requests per second, p99_ms = wrk's 99th percentile
// latency. A request wrk saw fail (non-2xx, socket errors) fails the run.
package main

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"time"

	"gobench/internal/b"
)

func envInt(name string, def int) int {
	if s := os.Getenv(name); s != "" {
		if v, err := strconv.Atoi(s); err == nil && v > 0 {
			return v
		}
	}
	return def
}

// start runs the server and returns it with the address it printed.
func start(path string) (*exec.Cmd, string) {
	cmd := exec.Command(path, "127.0.0.1:0")
	cmd.Stderr = os.Stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		b.Fail("netdriver", "%v", err)
	}
	if err := cmd.Start(); err != nil {
		b.Fail("netdriver", "start %s: %v", path, err)
	}
	line, err := bufio.NewReader(out).ReadString('\n')
	if err != nil {
		cmd.Process.Kill()
		b.Fail("netdriver", "%s printed no address: %v", path, err)
	}
	m := regexp.MustCompile(`:(\d+)/?\s*$`).FindStringSubmatch(line)
	if m == nil {
		cmd.Process.Kill()
		b.Fail("netdriver", "%s: no port in %q", path, line)
	}
	go io.Copy(io.Discard, out)
	return cmd, "127.0.0.1:" + m[1]
}

func stop(cmd *exec.Cmd) {
	cmd.Process.Kill()
	cmd.Wait()
}

// echoClient: conns connections, msgs messages of 64 bytes each, one at a
// time; returns messages per second.
func echoClient(addr string, conns, msgs int) float64 {
	var wg sync.WaitGroup
	errs := make(chan error, conns)
	ready := make(chan struct{})
	cs := make([]net.Conn, conns)
	for i := range cs {
		c, err := net.Dial("tcp", addr)
		if err != nil {
			b.Fail("echo", "dial %s: %v", addr, err)
		}
		cs[i] = c
	}
	for i, c := range cs {
		wg.Add(1)
		go func(id int, c net.Conn) {
			defer wg.Done()
			defer c.Close()
			out := make([]byte, 64)
			in := make([]byte, 64)
			<-ready
			for m := 0; m < msgs; m++ {
				// A pattern unique to this connection and message.
				for k := range out {
					out[k] = byte(id*131 + m*7 + k)
				}
				if _, err := c.Write(out); err != nil {
					errs <- err
					return
				}
				if _, err := io.ReadFull(c, in); err != nil {
					errs <- err
					return
				}
				if !bytes.Equal(in, out) {
					errs <- fmt.Errorf("connection %d message %d: echo differs", id, m)
					return
				}
			}
		}(i, c)
	}
	t0 := time.Now()
	close(ready)
	wg.Wait()
	el := time.Since(t0)
	close(errs)
	for err := range errs {
		b.Fail("echo", "%v", err)
	}
	return float64(conns*msgs) / el.Seconds()
}

func echo(server, ceiling string) {
	conns := envInt("BENCH_ECHO_CONNS", 100)
	msgs := envInt("BENCH_ECHO_MSGS", 10000)
	cmd, addr := start(server)
	v := echoClient(addr, conns, msgs)
	stop(cmd)
	line := fmt.Sprintf("RESULT name=echo metric=msgs_per_s value=%.0f conns=%d msgs=%d", v, conns, msgs)
	if ceiling != "" {
		cmd, addr := start(ceiling)
		e := echoClient(addr, conns, msgs)
		stop(cmd)
		line += fmt.Sprintf(" epoll=%.0f vs_epoll=%.3f", e, v/e)
	}
	fmt.Println(line)
}

// wrkDuration parses wrk's latency figures: "1.23ms", "850.00us", "1.01s".
func wrkDuration(s string) float64 {
	for _, u := range []struct {
		suf string
		ms  float64
	}{{"us", 1e-3}, {"ms", 1}, {"s", 1000}, {"m", 60000}} {
		if strings.HasSuffix(s, u.suf) {
			v, err := strconv.ParseFloat(strings.TrimSuffix(s, u.suf), 64)
			if err == nil {
				return v * u.ms
			}
		}
	}
	return -1
}

func httpBench(server string) {
	secs := envInt("BENCH_HTTP_SECS", 10)
	cmd, addr := start(server)
	out, err := exec.Command("wrk", "-t1", "-c100", fmt.Sprintf("-d%ds", secs), "--latency",
		"http://"+addr+"/").CombinedOutput()
	stop(cmd)
	if err != nil {
		b.Fail("http", "wrk: %v\n%s", err, out)
	}
	text := string(out)
	rps := regexp.MustCompile(`Requests/sec:\s+([0-9.]+)`).FindStringSubmatch(text)
	p99 := regexp.MustCompile(`(?m)^\s+99%\s+(\S+)`).FindStringSubmatch(text)
	if rps == nil || p99 == nil {
		b.Fail("http", "cannot parse wrk's output:\n%s", text)
	}
	if m := regexp.MustCompile(`Non-2xx or 3xx responses: (\d+)`).FindStringSubmatch(text); m != nil {
		b.Fail("http", "%s bad responses:\n%s", m[1], text)
	}
	if m := regexp.MustCompile(`Socket errors: .*`).FindString(text); m != "" {
		b.Fail("http", "%s\n%s", m, text)
	}
	fmt.Printf("RESULT name=http metric=req_per_s value=%s p99_ms=%.3f secs=%d\n", rps[1],
		wrkDuration(p99[1]), secs)
}

func main() {
	if len(os.Args) < 3 {
		fmt.Fprintln(os.Stderr, "usage: netdriver echo SERVER [CEILING_SERVER] | netdriver http SERVER")
		os.Exit(2)
	}
	switch os.Args[1] {
	case "echo":
		ceiling := ""
		if len(os.Args) > 3 {
			ceiling = os.Args[3]
		}
		echo(os.Args[2], ceiling)
	case "http":
		httpBench(os.Args[2])
	default:
		fmt.Fprintln(os.Stderr, "netdriver: unknown mode", os.Args[1])
		os.Exit(2)
	}
}
