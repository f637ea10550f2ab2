/*
 * bufio.c - a buffered reader over a descriptor (a subset of Go's
 * bufio.Reader: Read, ReadFull, ReadSlice/ReadString as read_until,
 * ReadLine) and go_sendfile.
 *
 * The reader. One malloc'd block: the header, then `size` bytes of
 * buffer. Buffered bytes are buf[r, w); a fill moves them to the front
 * when there is no room behind them, then makes one go_read() into the
 * free tail, so every wait goes through the runtime's poller and every
 * deadline (go_set_read_deadline, go_close) applies to the reader as to
 * go_read. The reader holds no lock: like Go's, one reader is for one
 * goroutine at a time.
 *
 * Errors consume nothing. The searching calls (read_until, read_line) and
 * read_full for requests that fit the buffer take bytes out of the buffer
 * only once the whole answer is there, so a call that ends with
 * -ETIMEDOUT leaves every byte it saw buffered: the caller moves the
 * deadline and calls again, and the line continues where it was. (Go's
 * ReadString returns the partial line with the error instead; C has no
 * pair to return, and a protocol reader wants the whole line anyway.)
 * A read error is returned once, by the call that met it; end of file is
 * not remembered either: the next call reads again, as read(2) would.
 *
 * Lines longer than the buffer cannot be held. read_until then hands the
 * buffer's contents to the caller (a piece without the delimiter, as Go's
 * ReadSlice with ErrBufferFull), and read_line refuses with -EMSGSIZE,
 * consuming nothing, so the caller can take the line in pieces with
 * read_until or give up on the connection.
 *
 * go_sendfile is io.c's loop (io_sendfile) around sendfile(2): see there.
 *
 * Rejected: a ring buffer (saves the occasional memmove, but a line that
 * wraps could not be searched or handed out in one piece); growing the
 * buffer for long lines (an unbounded allocation driven by the peer);
 * returning pointers into the buffer, as Go's ReadSlice (valid only until
 * the next call: an easy use-after-refill in C; copying a line is cheap
 * next to the system call that brought it).
 */
#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "runtime.h"

#define BUFREADER_DEFAULT 4096
#define BUFREADER_MIN 16

struct go_bufreader {
    int fd;
    size_t size; /* bytes of buf */
    size_t r, w; /* buffered bytes are buf[r, w) */
    unsigned char buf[];
};

go_bufreader *go_bufreader_new(int fd, size_t size)
{
    if (fd < 0) {
        errno = EBADF;
        return NULL;
    }
    if (size == 0)
        size = BUFREADER_DEFAULT;
    if (size < BUFREADER_MIN)
        size = BUFREADER_MIN;
    if (size > SSIZE_MAX - sizeof(go_bufreader)) {
        errno = EINVAL;
        return NULL;
    }
    go_bufreader *b = malloc(sizeof *b + size);
    if (!b)
        return NULL; /* errno is ENOMEM */
    b->fd = fd;
    b->size = size;
    b->r = b->w = 0;
    return b;
}

void go_bufreader_free(go_bufreader *b)
{
    free(b);
}

int go_bufreader_fd(const go_bufreader *b)
{
    return b ? b->fd : -EINVAL;
}

size_t go_bufreader_buffered(const go_bufreader *b)
{
    return b ? b->w - b->r : 0;
}

/* One go_read() into the free space (moving the buffered bytes to the
 * front first if the tail is full). Returns bytes added, 0 at end of file,
 * or -errno; -ENOBUFS if the buffer is full. */
static ssize_t fill(go_bufreader *b)
{
    if (b->r > 0 && b->w == b->size) {
        memmove(b->buf, b->buf + b->r, b->w - b->r);
        b->w -= b->r;
        b->r = 0;
    }
    if (b->w == b->size)
        return -ENOBUFS;
    ssize_t n = go_read(b->fd, b->buf + b->w, b->size - b->w);
    if (n > 0)
        b->w += (size_t)n;
    return n;
}

static size_t take(go_bufreader *b, void *dst, size_t n)
{
    memcpy(dst, b->buf + b->r, n);
    b->r += n;
    if (b->r == b->w)
        b->r = b->w = 0;
    return n;
}

ssize_t go_bufreader_read(go_bufreader *b, void *buf, size_t n)
{
    if (!b || (n > 0 && !buf))
        return -EINVAL;
    if (n == 0)
        return 0;
    if (n > SSIZE_MAX)
        n = SSIZE_MAX;
    if (b->r == b->w) {
        /* Empty: a large read goes straight to the caller's buffer, as
         * Go's does, saving a copy. */
        if (n >= b->size)
            return go_read(b->fd, buf, n);
        ssize_t r = fill(b);
        if (r <= 0)
            return r;
    }
    size_t have = b->w - b->r;
    return (ssize_t)take(b, buf, n < have ? n : have);
}

ssize_t go_bufreader_read_full(go_bufreader *b, void *buf, size_t n)
{
    if (!b || (n > 0 && !buf) || n > SSIZE_MAX)
        return -EINVAL;
    if (n <= b->size) {
        /* Fits: gather it in the buffer, take it only once it is whole. */
        while (b->w - b->r < n) {
            ssize_t r = fill(b);
            if (r < 0)
                return r;
            if (r == 0)
                return (ssize_t)take(b, buf, b->w - b->r); /* short: the end */
        }
        return (ssize_t)take(b, buf, n);
    }
    size_t done = take(b, buf, b->w - b->r);
    while (done < n) {
        ssize_t r = go_read(b->fd, (char *)buf + done, n - done);
        if (r < 0)
            return r;
        if (r == 0)
            break;
        done += (size_t)r;
    }
    return (ssize_t)done;
}

/* Make the buffer hold delim, or be full, or the stream end. Sets *len to
 * the bytes up to and including delim (0 if not found). Returns 1 (found,
 * or full: *len 0), 0 at end of file, or -errno. Nothing is consumed. */
static ssize_t find(go_bufreader *b, int delim, size_t *len)
{
    size_t scanned = 0;
    for (;;) {
        size_t have = b->w - b->r;
        unsigned char *p = memchr(b->buf + b->r + scanned, delim, have - scanned);
        if (p) {
            *len = (size_t)(p - (b->buf + b->r)) + 1;
            return 1;
        }
        scanned = have;
        *len = 0;
        if (have == b->size)
            return 1;
        ssize_t r = fill(b);
        if (r <= 0)
            return r;
    }
}

ssize_t go_bufreader_read_until(go_bufreader *b, int delim, void *buf, size_t n)
{
    if (!b || !buf || n == 0 || n > SSIZE_MAX || delim < 0 || delim > UCHAR_MAX)
        return -EINVAL;
    size_t len;
    ssize_t r = find(b, delim, &len);
    if (r < 0)
        return r;
    size_t have = b->w - b->r;
    if (r == 0 || len == 0)
        len = have; /* the stream ended, or the buffer is full: what there is */
    return (ssize_t)take(b, buf, len < n ? len : n);
}

ssize_t go_bufreader_read_line(go_bufreader *b, char *buf, size_t n)
{
    if (!b || !buf || n == 0 || n > SSIZE_MAX)
        return -EINVAL;
    size_t len;
    ssize_t r = find(b, '\n', &len);
    if (r < 0)
        return r;
    size_t have = b->w - b->r;
    size_t consume, line;
    if (r == 0) {
        if (have == 0)
            return GO_EOF;
        consume = line = have; /* the last line, without a newline */
    } else if (len == 0) {
        return -EMSGSIZE; /* longer than the buffer */
    } else {
        consume = len;
        line = len - 1;
        if (line > 0 && b->buf[b->r + line - 1] == '\r')
            line--;
    }
    if (line > n - 1)
        return -EMSGSIZE; /* nothing consumed */
    memcpy(buf, b->buf + b->r, line);
    buf[line] = 0;
    b->r += consume;
    if (b->r == b->w)
        b->r = b->w = 0;
    return (ssize_t)line;
}
