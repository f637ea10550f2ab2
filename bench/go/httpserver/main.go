// httpserver: the Go twin of examples/http_hello.c, for the http
// benchmark: net/http answering every request with "Hello, World!\n"
// (keep-alive HTTP/1.1; Date, Content-Length and Content-Type headers, the
// reply C sends too). It prints "listening on HOST:PORT" and serves until
// killed.
//
//	usage: httpserver [HOST:PORT]   (default 127.0.0.1:0, any free port)
package main

import (
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
)

func main() {
	addr := "127.0.0.1:0"
	if len(os.Args) > 1 {
		addr = os.Args[1]
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		fmt.Fprintln(os.Stderr, "httpserver:", err)
		os.Exit(1)
	}
	fmt.Printf("httpserver listening on http://%s/\n", ln.Addr())
	http.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, "Hello, World!\n")
	})
	fmt.Fprintln(os.Stderr, http.Serve(ln, nil))
	os.Exit(1)
}
