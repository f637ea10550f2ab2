/*
 * http_parse.c - the request scanner of the http_hello example.
 *
 * Mechanism: a request head ends at the first "\r\n\r\n" (memmem); its
 * first line is the request line, whose last 8 bytes before "\r\n" name
 * the protocol version; the header lines are searched for a "Connection"
 * header (name compared without regard to case, followed directly by ':')
 * whose value contains "close" or "keep-alive", again without regard to
 * case. Nothing is copied or decoded: the server needs only where the head
 * ends and whether to keep the connection.
 *
 * Invariants: every read stays inside [buf, buf + n) (the head found lies
 * inside it, and the header search stops at the head's last "\r\n"); the
 * reported length is > 0 and <= n. The fuzz target fuzz/fuzz_http.c checks
 * both, under ASan, against a separate line-by-line reading of the same
 * rules.
 *
 * Rejected: a real HTTP parser (method, target, header folding, bodies):
 * the example is a benchmark target that answers every request the same
 * way, so it would be code that nothing uses.
 */
#include "http_parse.h"

#include <string.h>
#include <strings.h>

/* True if the header block [h, end) has header `name` whose value
 * contains `token` (both compared without regard to case). */
static int header_has(const char *h, const char *end, const char *name, const char *token)
{
    size_t nl = strlen(name), tl = strlen(token);
    for (const char *line = h; line < end;) {
        const char *eol = memchr(line, '\n', (size_t)(end - line));
        if (!eol)
            eol = end;
        if ((size_t)(eol - line) > nl && strncasecmp(line, name, nl) == 0 && line[nl] == ':') {
            for (const char *v = line + nl + 1; v + tl <= eol; v++)
                if (strncasecmp(v, token, tl) == 0)
                    return 1;
        }
        line = eol + 1;
    }
    return 0;
}

int http_next_request(const char *buf, size_t n, size_t *len, int *close)
{
    const char *hdr_end = memmem(buf, n, "\r\n\r\n", 4);
    if (!hdr_end)
        return 0;
    const char *end = hdr_end + 2;
    const char *eol = memchr(buf, '\n', (size_t)(end - buf));
    int http10 = eol && eol - buf >= 9 && memcmp(eol - 9, "HTTP/1.0", 8) == 0;
    *close = header_has(buf, end, "Connection", "close") ||
             (http10 && !header_has(buf, end, "Connection", "keep-alive"));
    *len = (size_t)(hdr_end + 4 - buf);
    return 1;
}
