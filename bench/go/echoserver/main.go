// echoserver: the Go twin of examples/echo_server.c, for the echo
// benchmark: a TCP echo server with a goroutine per connection. It prints
// "listening on HOST:PORT" and serves until killed. bench/go/netdriver
// runs it and the C server against the same client.
//
//	usage: echoserver [HOST:PORT]   (default 127.0.0.1:0, any free port)
package main

import (
	"fmt"
	"io"
	"net"
	"os"
)

func main() {
	addr := "127.0.0.1:0"
	if len(os.Args) > 1 {
		addr = os.Args[1]
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		fmt.Fprintln(os.Stderr, "echoserver:", err)
		os.Exit(1)
	}
	fmt.Printf("echoserver listening on %s\n", ln.Addr())
	for {
		c, err := ln.Accept()
		if err != nil {
			fmt.Fprintln(os.Stderr, "echoserver: accept:", err)
			os.Exit(1)
		}
		go func() {
			io.Copy(c, c)
			c.Close()
		}()
	}
}
