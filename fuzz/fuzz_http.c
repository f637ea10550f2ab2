/*
 * fuzz_http - the http_hello example's request scanner
 * (examples/http_parse.c) on arbitrary bytes.
 *
 * Mechanism. The input is copied into a heap block of exactly its size
 * (so ASan reports any read past it) and scanned the way the server's
 * loop does: request after request until none is complete or one asks to
 * close. Each answer is checked against a second reading of the same
 * rules written independently here, line by line: the head ends at the
 * first CR LF CR LF; the connection closes if a header line named
 * "Connection" (any case, colon right after the name) has "close" in its
 * value, or if the request line's last 8 bytes before its line end are
 * "HTTP/1.0" and no such header has "keep-alive".
 *
 * Invariants checked: a reported length is > 0, at most what is left,
 * ends with CR LF CR LF and contains no earlier one; no request is
 * reported when the reference finds none; the close flags agree.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../examples/http_parse.h"

#include "fuzz_check.h"

static int lower(int c)
{
    return c >= 'A' && c <= 'Z' ? c + 32 : c;
}

/* Does [p, p + n) contain `tok` (lower case), ignoring case? */
static int contains(const char *p, size_t n, const char *tok)
{
    size_t tl = strlen(tok);
    for (size_t i = 0; i + tl <= n; i++) {
        size_t j = 0;
        while (j < tl && lower((unsigned char)p[i + j]) == tok[j])
            j++;
        if (j == tl)
            return 1;
    }
    return 0;
}

/* The reference: length of the first head in [p, p + n) or 0; *close. */
static size_t reference(const char *p, size_t n, int *close)
{
    size_t end = 0;
    for (size_t i = 0; i + 4 <= n; i++)
        if (p[i] == '\r' && p[i + 1] == '\n' && p[i + 2] == '\r' && p[i + 3] == '\n') {
            end = i + 4;
            break;
        }
    if (!end)
        return 0;
    size_t head = end - 2; /* through the last header line's LF */
    int has_close = 0, has_keep = 0, http10 = 0;
    size_t start = 0, lineno = 0;
    while (start < head) {
        size_t stop = start;
        while (stop < head && p[stop] != '\n')
            stop++;
        size_t len = stop - start; /* without the LF */
        const char *l = p + start;
        if (lineno == 0 && len >= 9 && memcmp(l + len - 9, "HTTP/1.0", 8) == 0)
            http10 = 1;
        if (len > 10 && contains(l, 10, "connection") && l[10] == ':') {
            has_close |= contains(l + 11, len - 11, "close");
            has_keep |= contains(l + 11, len - 11, "keep-alive");
        }
        start = stop + 1;
        lineno++;
    }
    *close = has_close || (http10 && !has_keep);
    return end;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *buf = malloc(size ? size : 1);
    if (!buf)
        return 0;
    memcpy(buf, data, size);
    size_t used = 0;
    for (;;) {
        size_t len = (size_t)-1;
        int close = -1, rclose = -1;
        int found = http_next_request(buf + used, size - used, &len, &close);
        size_t rlen = reference(buf + used, size - used, &rclose);
        CHECK(found == (rlen != 0), "found %d, reference length %zu at %zu", found, rlen, used);
        if (!found) {
            CHECK(len == (size_t)-1 && close == -1, "no request, but outputs written");
            break;
        }
        CHECK(len > 0 && len <= size - used, "length %zu of %zu", len, size - used);
        CHECK(len == rlen, "length %zu, reference %zu", len, rlen);
        CHECK(memcmp(buf + used + len - 4, "\r\n\r\n", 4) == 0, "head does not end in CRLFCRLF");
        CHECK(close == rclose, "close %d, reference %d (request at %zu)", close, rclose, used);
        used += len;
        if (close)
            break;
    }
    free(buf);
    return 0;
}
