/*
 * test_bufio.c - go_bufreader and go_sendfile.
 *
 * Reader: a writer goroutine sends a random mix of records (lines ending
 * in "\n" or "\r\n", ';'-terminated pieces, length-prefixed blobs) in
 * random chunk sizes over a socket; the reader takes them back with
 * read_line, read_until, read_full and read, with several buffer sizes,
 * and checks every byte. Then the edges: a deadline in the middle of a
 * line consumes nothing (the line comes whole after the deadline moves),
 * lines longer than the caller's or the reader's buffer, the last line
 * without a newline, GO_EOF, go_close while waiting, bad arguments.
 *
 * sendfile: 4 MiB of a file to a TCP connection (the library's
 * non-blocking socket, so the sender parks while the receiver, which reads
 * slowly at first, lets the socket fill) and to a socketpair (a blocking
 * socket it did not create), with and without an offset, every byte
 * checked; a count past the end; the write deadline.
 */
#include "test_util.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <stdint.h>
#include <sys/socket.h>

#define MS 1000000LL

static uint64_t rnd(uint64_t *s)
{
    *s ^= *s << 13;
    *s ^= *s >> 7;
    *s ^= *s << 17;
    return *s;
}

/* ---- the record stream ------------------------------------------------------- */

enum { REC_LINE, REC_CRLF, REC_SEMI, REC_BLOB, REC_RAW, NREC };
#define RECORDS 3000
#define MAXREC 300

static size_t line_max; /* longest line the reader's buffer holds */

/* Record k of the stream from seed: its kind and body (no terminator). */
static size_t record(uint64_t *s, int *kind, uint8_t *body)
{
    *kind = (int)(rnd(s) % NREC);
    size_t len = (size_t)(rnd(s) % MAXREC);
    if ((*kind == REC_LINE || *kind == REC_CRLF) && len > line_max)
        len %= line_max + 1;
    for (size_t i = 0; i < len; i++) {
        uint8_t c = (uint8_t)rnd(s);
        if (*kind != REC_BLOB && *kind != REC_RAW) {
            c = (uint8_t)(' ' + c % 90); /* printable, never '\n', '\r' or ';'... */
            if (c == ';')
                c = ':';
        }
        body[i] = c;
    }
    if (*kind == REC_RAW && len == 0)
        len = 1;
    return len;
}

struct stream_arg {
    int fd;
    uint64_t seed;
};

static go_wg writer_wg;

static void writer(void *arg)
{
    struct stream_arg *a = arg;
    uint64_t s = a->seed, cs = a->seed * 3 + 1;
    uint8_t *out = malloc(RECORDS * (MAXREC + 8));
    CHECK(out != NULL);
    size_t n = 0;
    for (int k = 0; k < RECORDS; k++) {
        int kind;
        uint8_t body[MAXREC];
        size_t len = record(&s, &kind, body);
        if (kind == REC_BLOB) {
            uint16_t l = (uint16_t)len;
            memcpy(out + n, &l, 2);
            n += 2;
        }
        memcpy(out + n, body, len);
        n += len;
        if (kind == REC_LINE)
            out[n++] = '\n';
        else if (kind == REC_CRLF)
            out[n++] = '\r', out[n++] = '\n';
        else if (kind == REC_SEMI)
            out[n++] = ';';
    }
    /* Random chunks, sometimes pausing so the reader waits. */
    for (size_t off = 0; off < n;) {
        size_t c = 1 + rnd(&cs) % 700;
        if (c > n - off)
            c = n - off;
        CHECK_EQ(go_write(a->fd, out + off, c), (ssize_t)c);
        off += c;
        if ((rnd(&cs) & 7) == 0)
            go_sleep((int64_t)(rnd(&cs) % 200000));
    }
    CHECK_EQ(shutdown(a->fd, SHUT_WR), 0);
    free(out);
    go_wg_done(&writer_wg);
}

static void read_stream(size_t bufsize, uint64_t seed)
{
    int sv[2];
    line_max = bufsize - 2 < MAXREC ? bufsize - 2 : MAXREC;
    CHECK_EQ(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
    struct stream_arg a = {sv[1], seed};
    go_wg_add(&writer_wg, 1);
    CHECK_EQ(go(writer, &a), 0);
    go_bufreader *r = go_bufreader_new(sv[0], bufsize);
    CHECK(r != NULL);
    CHECK_EQ(go_bufreader_fd(r), sv[0]);
    uint64_t s = seed;
    for (int k = 0; k < RECORDS; k++) {
        int kind;
        uint8_t body[MAXREC];
        size_t len = record(&s, &kind, body);
        char got[MAXREC + 8];
        ssize_t n;
        switch (kind) {
        case REC_LINE:
        case REC_CRLF:
            n = go_bufreader_read_line(r, got, sizeof got);
            CHECK_EQ(n, (ssize_t)len);
            CHECK(memcmp(got, body, len) == 0);
            CHECK_EQ(got[len], 0);
            break;
        case REC_SEMI: {
            /* Through read_until, in pieces when the reader's buffer is
             * smaller than the record. */
            size_t have = 0;
            for (;;) {
                n = go_bufreader_read_until(r, ';', got + have, sizeof got - have);
                CHECK(n > 0);
                have += (size_t)n;
                if (got[have - 1] == ';')
                    break;
                CHECK(bufsize < MAXREC + 1); /* only a small buffer splits it */
            }
            CHECK_EQ(have, len + 1);
            CHECK(memcmp(got, body, len) == 0);
            break;
        }
        case REC_BLOB: {
            uint16_t l;
            CHECK_EQ(go_bufreader_read_full(r, &l, 2), 2);
            CHECK_EQ(l, len);
            CHECK_EQ(go_bufreader_read_full(r, got, l), (ssize_t)l);
            CHECK(memcmp(got, body, len) == 0);
            break;
        }
        default: {
            size_t have = 0;
            while (have < len) {
                n = go_bufreader_read(r, got + have, len - have);
                CHECK(n > 0);
                have += (size_t)n;
            }
            CHECK(memcmp(got, body, len) == 0);
            break;
        }
        }
    }
    char x;
    CHECK_EQ(go_bufreader_read(r, &x, 1), 0);
    CHECK_EQ(go_bufreader_read_line(r, &x, 1), GO_EOF);
    CHECK_EQ(go_bufreader_buffered(r), 0);
    go_wg_wait(&writer_wg);
    go_bufreader_free(r);
    CHECK_EQ(go_close(sv[0]), 0);
    CHECK_EQ(go_close(sv[1]), 0);
}

/* ---- the edges ----------------------------------------------------------------- */

static int close_fd;
static void close_soon(void *arg)
{
    (void)arg;
    go_sleep(5 * MS);
    CHECK_EQ(go_close(close_fd), 0);
}

static void edges(void)
{
    int sv[2];
    CHECK_EQ(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
    go_bufreader *r = go_bufreader_new(sv[0], 32);
    CHECK(r != NULL);
    char line[64];

    /* A deadline in the middle of a line: -ETIMEDOUT, nothing consumed. */
    CHECK_EQ(go_write(sv[1], "hello wo", 8), 8);
    CHECK_EQ(go_set_read_deadline(sv[0], go_now() + 2 * MS), 0);
    CHECK_EQ(go_bufreader_read_line(r, line, sizeof line), -ETIMEDOUT);
    CHECK_EQ(go_bufreader_read_until(r, '\n', line, sizeof line), -ETIMEDOUT);
    CHECK_EQ(go_bufreader_read_full(r, line, 10), -ETIMEDOUT);
    /* 8 buffered, or 0 if the deadline passed before the first read: either
     * way nothing was consumed, which the whole line below shows. */
    CHECK(go_bufreader_buffered(r) == 8 || go_bufreader_buffered(r) == 0);
    CHECK_EQ(go_write(sv[1], "rld\r\nnext\n", 10), 10);
    CHECK_EQ(go_set_read_deadline(sv[0], 0), 0);
    CHECK_EQ(go_bufreader_read_line(r, line, sizeof line), 11);
    CHECK(strcmp(line, "hello world") == 0);

    /* Too long for the caller: -EMSGSIZE and nothing consumed. */
    CHECK_EQ(go_bufreader_read_line(r, line, 4), -EMSGSIZE);
    CHECK_EQ(go_bufreader_read_line(r, line, 5), 4);
    CHECK(strcmp(line, "next") == 0);

    /* An empty line is 0, distinct from the end. */
    CHECK_EQ(go_write(sv[1], "\n\r\n", 3), 3);
    CHECK_EQ(go_bufreader_read_line(r, line, sizeof line), 0);
    CHECK_EQ(go_bufreader_read_line(r, line, sizeof line), 0);
    CHECK_EQ(line[0], 0);

    /* Longer than the reader's 32 bytes: read_line refuses, read_until
     * hands it over in pieces. */
    char big[80];
    for (int i = 0; i < 79; i++)
        big[i] = (char)('a' + i % 26);
    big[79] = '\n';
    CHECK_EQ(go_write(sv[1], big, 80), 80);
    CHECK_EQ(go_bufreader_read_line(r, line, sizeof line), -EMSGSIZE);
    size_t have = 0;
    char got[100];
    while (have < 80) {
        ssize_t n = go_bufreader_read_until(r, '\n', got + have, 10);
        CHECK(n > 0 && n <= 10);
        have += (size_t)n;
    }
    CHECK_EQ(have, 80);
    CHECK(memcmp(got, big, 80) == 0);

    /* read_full larger than the buffer, then a short one at the end. */
    CHECK_EQ(go_write(sv[1], big, 80), 80);
    CHECK_EQ(go_bufreader_read(r, got, 3), 3); /* some buffered first */
    CHECK_EQ(go_bufreader_read_full(r, got + 3, 70), 70);
    CHECK(memcmp(got, big, 73) == 0);
    CHECK_EQ(go_write(sv[1], "tail", 4), 4); /* no newline */
    CHECK_EQ(shutdown(sv[1], SHUT_WR), 0);
    CHECK_EQ(go_bufreader_read_full(r, got, 20), 11); /* the stream ended */
    CHECK(memcmp(got, big + 73, 7) == 0 && memcmp(got + 7, "tail", 4) == 0);
    CHECK_EQ(go_bufreader_read_full(r, got, 20), 0);
    CHECK_EQ(go_bufreader_read_line(r, line, sizeof line), GO_EOF);
    CHECK_EQ(go_bufreader_read_until(r, ';', got, 5), 0);
    go_bufreader_free(r);
    CHECK_EQ(go_close(sv[0]), 0);
    CHECK_EQ(go_close(sv[1]), 0);

    /* The last line without a newline. */
    CHECK_EQ(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
    r = go_bufreader_new(sv[0], 0);
    CHECK_EQ(go_write(sv[1], "a\nlast", 6), 6);
    CHECK_EQ(shutdown(sv[1], SHUT_WR), 0);
    CHECK_EQ(go_bufreader_read_line(r, line, sizeof line), 1);
    CHECK_EQ(go_bufreader_read_line(r, line, sizeof line), 4);
    CHECK(strcmp(line, "last") == 0);
    CHECK_EQ(go_bufreader_read_line(r, line, sizeof line), GO_EOF);
    go_bufreader_free(r);
    CHECK_EQ(go_close(sv[0]), 0);
    CHECK_EQ(go_close(sv[1]), 0);

    /* go_close while the reader waits. */
    CHECK_EQ(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
    r = go_bufreader_new(sv[0], 64);
    close_fd = sv[0];
    CHECK_EQ(go(close_soon, NULL), 0);
    CHECK_EQ(go_bufreader_read_line(r, line, sizeof line), -EBADF);
    go_bufreader_free(r);
    CHECK_EQ(go_close(sv[1]), 0);

    /* Arguments. */
    errno = 0;
    CHECK(go_bufreader_new(-1, 0) == NULL && errno == EBADF);
    CHECK(go_bufreader_new(0, (size_t)-1) == NULL && errno == EINVAL);
    r = go_bufreader_new(0, 1);
    CHECK(r != NULL);
    CHECK_EQ(go_bufreader_read(r, NULL, 1), -EINVAL);
    CHECK_EQ(go_bufreader_read(r, got, 0), 0);
    CHECK_EQ(go_bufreader_read_until(r, 256, got, 1), -EINVAL);
    CHECK_EQ(go_bufreader_read_until(r, ';', got, 0), -EINVAL);
    CHECK_EQ(go_bufreader_read_line(r, line, 0), -EINVAL);
    CHECK_EQ(go_bufreader_read_line(NULL, line, 1), -EINVAL);
    CHECK_EQ(go_bufreader_fd(NULL), -EINVAL);
    CHECK_EQ(go_bufreader_buffered(NULL), 0);
    go_bufreader_free(r);
    go_bufreader_free(NULL);
}

/* ---- sendfile ---------------------------------------------------------------------- */

#define FILE_SIZE (4 << 20)

static uint8_t file_byte(size_t i)
{
    return (uint8_t)(i * 131 + (i >> 11) * 7);
}

struct recv_arg {
    int fd;
    size_t from, n; /* expected: file bytes [from, from + n), then EOF */
};
static go_wg recv_wg;

static void receiver(void *arg)
{
    struct recv_arg *a = arg;
    go_sleep(20 * MS); /* let the socket fill: the sender parks */
    uint8_t *buf = malloc(65536);
    CHECK(buf != NULL);
    size_t got = 0;
    for (;;) {
        ssize_t n = go_read(a->fd, buf, 65536);
        CHECK(n >= 0);
        if (n == 0)
            break;
        for (ssize_t i = 0; i < n; i++)
            CHECK_EQ(buf[i], file_byte(a->from + got + (size_t)i));
        got += (size_t)n;
    }
    CHECK_EQ(got, a->n);
    free(buf);
    go_wg_done(&recv_wg);
}

/* Send file bytes [off, off + count) (NULL offset: from the file's position
 * at pos) through out -> in, checking them at the other end. */
static void send_and_check(int file, int out, int in, bool use_offset, size_t start,
                           size_t count, size_t expect)
{
    struct recv_arg a = {in, start, expect};
    go_wg_add(&recv_wg, 1);
    CHECK_EQ(go(receiver, &a), 0);
    ssize_t r;
    if (use_offset) {
        off_t off = (off_t)start;
        CHECK_EQ(lseek(file, 12345, SEEK_SET), 12345);
        r = go_sendfile(out, file, &off, count);
        CHECK_EQ(off, (off_t)(start + expect));
        CHECK_EQ(lseek(file, 0, SEEK_CUR), 12345); /* position untouched */
    } else {
        CHECK_EQ(lseek(file, (off_t)start, SEEK_SET), (off_t)start);
        r = go_sendfile(out, file, NULL, count);
        CHECK_EQ(lseek(file, 0, SEEK_CUR), (off_t)(start + expect));
    }
    CHECK_EQ(r, (ssize_t)expect);
    CHECK_EQ(shutdown(out, SHUT_WR), 0);
    go_wg_wait(&recv_wg);
}

static void sendfile_tests(void)
{
    char path[] = "/tmp/go-sendfile-XXXXXX";
    int file = mkstemp(path);
    CHECK(file >= 0);
    unlink(path);
    static uint8_t chunk[65536];
    for (size_t off = 0; off < FILE_SIZE; off += sizeof chunk) {
        for (size_t i = 0; i < sizeof chunk; i++)
            chunk[i] = file_byte(off + i);
        CHECK_EQ(write(file, chunk, sizeof chunk), (ssize_t)sizeof chunk);
    }

    for (int round = 0; round < 4; round++) {
        bool tcp = round < 2, use_offset = round % 2 == 0;
        int out, in;
        if (tcp) {
            int ln = go_listen("tcp4", "127.0.0.1:0", 0);
            CHECK(ln >= 0);
            struct sockaddr_in sa;
            socklen_t sl = sizeof sa;
            CHECK_EQ(getsockname(ln, (struct sockaddr *)&sa, &sl), 0);
            char addr[64];
            snprintf(addr, sizeof addr, "127.0.0.1:%u", ntohs(sa.sin_port));
            out = go_dial("tcp", addr);
            CHECK(out >= 0);
            in = go_accept(ln, NULL, NULL);
            CHECK(in >= 0);
            CHECK_EQ(go_close(ln), 0);
        } else {
            int sv[2];
            CHECK_EQ(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
            out = sv[0];
            in = sv[1];
        }
        /* The whole file less a bit at each end; then a count past the
         * end, which sends what there is. */
        if (round == 3)
            send_and_check(file, out, in, use_offset, FILE_SIZE - 5000, 1 << 20, 5000);
        else
            send_and_check(file, out, in, use_offset, 777, FILE_SIZE - 1000, FILE_SIZE - 1000);
        CHECK_EQ(go_close(out), 0);
        CHECK_EQ(go_close(in), 0);
    }

    /* Nobody reads: the write deadline ends the wait, the offset says how
     * far it got. */
    int sv[2];
    CHECK_EQ(socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0, sv), 0);
    CHECK_EQ(go_set_write_deadline(sv[0], go_now() + 20 * MS), 0);
    off_t off = 0;
    CHECK_EQ(go_sendfile(sv[0], file, &off, FILE_SIZE), -ETIMEDOUT);
    CHECK(off > 0 && off < FILE_SIZE);
    CHECK_EQ(go_sendfile(sv[0], file, &off, 0), 0);
    CHECK_EQ(go_sendfile(-1, file, &off, 1), -EBADF);
    CHECK_EQ(go_sendfile(sv[0], sv[1], NULL, 1), -ETIMEDOUT); /* the deadline first */
    CHECK_EQ(go_set_write_deadline(sv[0], 0), 0);
    CHECK_EQ(go_sendfile(sv[1], sv[0], NULL, 1), -EINVAL); /* a socket as the source */
    CHECK_EQ(go_close(sv[0]), 0);
    CHECK_EQ(go_close(sv[1]), 0);
    CHECK_EQ(go_close(file), 0);
}

/* ---- data and the end of file together ------------------------------------------ */

/* The peer writes a line and shuts its side before we read: one short read
 * takes the line, and the end of file behind it must still be seen (the
 * poller reported both at once, and nothing more will come). */
#define FIN_CONNS 200
static go_wg fin_wg;

static void fin_server(void *arg)
{
    int fd = (int)(intptr_t)arg;
    go_sleep(2 * MS); /* data and FIN arrive, and are reported, first */
    go_bufreader *r = go_bufreader_new(fd, 0);
    CHECK(r != NULL);
    char line[64];
    CHECK_EQ(go_bufreader_read_line(r, line, sizeof line), 5);
    CHECK(strcmp(line, "hello") == 0);
    CHECK_EQ(go_bufreader_read_line(r, line, sizeof line), GO_EOF);
    go_bufreader_free(r);
    CHECK_EQ(go_close(fd), 0);
    go_wg_done(&fin_wg);
}

static void data_then_fin(void)
{
    int ln = go_listen("tcp4", "127.0.0.1:0", 0);
    CHECK(ln >= 0);
    struct sockaddr_in sa;
    socklen_t sl = sizeof sa;
    CHECK_EQ(getsockname(ln, (struct sockaddr *)&sa, &sl), 0);
    char addr[64];
    snprintf(addr, sizeof addr, "127.0.0.1:%u", ntohs(sa.sin_port));
    go_wg_add(&fin_wg, FIN_CONNS);
    for (int i = 0; i < FIN_CONNS; i++) {
        int c = go_dial("tcp", addr);
        CHECK(c >= 0);
        int s = go_accept(ln, NULL, NULL);
        CHECK(s >= 0);
        CHECK_EQ(go(fin_server, (void *)(intptr_t)s), 0);
        CHECK_EQ(go_write(c, "hello\n", 6), 6);
        CHECK_EQ(go_close(c), 0);
    }
    go_wg_wait(&fin_wg);
    CHECK_EQ(go_close(ln), 0);
}

/* Everything again in a goroutine, the shape a server has. */
static go_wg main_wg;
static void body(void *arg)
{
    (void)arg;
    edges();
    data_then_fin();
    size_t sizes[] = {16, 100, 4096, 65536};
    for (int i = 0; i < 4; i++)
        read_stream(sizes[i], 0x9e3779b97f4a7c15ull + (uint64_t)i);
    sendfile_tests();
    go_wg_done(&main_wg);
}

int main(void)
{
    /* First from main itself, a plain thread: every wait of go_read and
     * go_write then parks the thread (a futex), and a poller on some M
     * must wake it. */
    edges();
    read_stream(100, 0x51ed270b27a1c5e3ull);
    go_wg_add(&main_wg, 1);
    CHECK_EQ(go(body, NULL), 0);
    go_wg_wait(&main_wg);
    printf("ok\n");
    return 0;
}
