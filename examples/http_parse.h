/*
 * http_parse.h - the request scanner of the http_hello example, on its own
 * so that a fuzz target (fuzz/fuzz_http.c) links the very code the server
 * runs. See http_parse.c.
 */
#ifndef HTTP_PARSE_H
#define HTTP_PARSE_H

#include <stddef.h>

/*
 * http_next_request - if [buf, buf + n) starts with a complete request
 * head (request line and headers up to the blank line "\r\n\r\n"), set
 * *len to its length including that blank line, *close to 1 if the
 * connection must close after the answer ("Connection: close", or
 * HTTP/1.0 without "Connection: keep-alive") else 0, and return 1.
 * Return 0 (touching nothing) if no complete head is there yet.
 * Reads only [buf, buf + n); never writes it.
 */
int http_next_request(const char *buf, size_t n, size_t *len, int *close);

#endif
