/*
 * test_net_echo.c - stress: 1,000 concurrent TCP connections to an
 * in-process echo server (a goroutine per connection, as a Go server
 * would be), each sending 1,000 messages of random length (1 to 2,048
 * bytes) and content and checking every byte that comes back. Then the
 * same over unix sockets, smaller. Invariants: every byte sent is echoed
 * once, in order, on its own connection; the server saw exactly the bytes
 * the clients sent. Scaled down under sanitizers. Loopback only.
 *
 * Each client pipelines, as a real one would: its goroutine writes
 * messages in batches of 1 to WINDOW (one go_write, or one go_writev for
 * several) while a reader goroutine on the same connection reads the echo
 * and checks it against the same random sequence, regenerated from the
 * connection's seed. A channel of WINDOW tokens keeps at most WINDOW
 * messages in flight. So the test also covers a reader and a writer
 * waiting on one descriptor at once, reads that split and join messages,
 * and go_writev.
 *
 * Why not one message at a time, waiting for each echo: that is 1,000,000
 * round trips, each six system calls (two sends, two receives, two that
 * say EAGAIN) and two trips through the loopback TCP stack, about 20 us
 * of kernel time. It took 12-20 s per run on an idle 2-core machine, and
 * Go's net package takes as long for the same program: the time was the
 * kernel's, not the runtime's. Pipelined, the same bytes cost about a
 * fifth of that.
 */
#include "test_util.h"

#include <arpa/inet.h>
#include <stdint.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/uio.h>

static int nconns = 1000, nmsgs = 1000;

#define MSG_MAX 2048 /* longest message */
#define WINDOW 16    /* messages in flight per connection, at most */

static int64_t server_bytes, client_bytes; /* atomic */
static go_wg server_wg, client_wg;
static char dial_addr[128];
static const char *dial_net;

static void echo_conn(void *arg)
{
    int fd = (int)(intptr_t)arg;
    char buf[WINDOW * MSG_MAX];
    ssize_t n;
    while ((n = go_read(fd, buf, sizeof buf)) > 0) {
        CHECK_EQ(go_write(fd, buf, (size_t)n), n);
        __atomic_add_fetch(&server_bytes, n, __ATOMIC_RELAXED);
    }
    CHECK_EQ(n, 0);
    CHECK_EQ(go_close(fd), 0);
    go_wg_done(&server_wg);
}

/* Accept exactly nconns connections. */
static void acceptor(void *arg)
{
    int ln = (int)(intptr_t)arg;
    for (int i = 0; i < nconns; i++) {
        int c = go_accept(ln, NULL, NULL);
        CHECK(c >= 0);
        CHECK_EQ(go(echo_conn, (void *)(intptr_t)c), 0);
    }
    CHECK_EQ(go_close(ln), 0);
    go_wg_done(&server_wg);
}

static uint64_t next_rand(uint64_t *s)
{
    uint64_t x = *s;
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    return *s = x;
}

/* The next message of a connection's sequence: its length, its bytes in
 * out[0..length). */
static size_t next_msg(uint64_t *seed, unsigned char *out)
{
    size_t len = 1 + next_rand(seed) % MSG_MAX;
    for (size_t i = 0; i < len; i += 8) {
        uint64_t r = next_rand(seed);
        memcpy(out + i, &r, len - i < 8 ? len - i : 8);
    }
    return len;
}

struct conn {
    int fd;
    uint64_t seed;   /* of the message sequence */
    go_chan *window; /* a token per message in flight */
    go_chan *done;   /* the reader's byte count */
};

/* Read the echo of every message and check it byte by byte. */
static void client_reader(void *arg)
{
    struct conn *c = arg;
    uint64_t seed = c->seed;
    unsigned char want[MSG_MAX], in[WINDOW * MSG_MAX];
    size_t have = 0; /* bytes read, not yet checked, at the start of in */
    int64_t total = 0;
    for (int m = 0; m < nmsgs; m++) {
        size_t len = next_msg(&seed, want);
        while (have < len) {
            /* At most WINDOW messages are unchecked, so there is room. */
            ssize_t r = go_read(c->fd, in + have, sizeof in - have);
            CHECK(r > 0);
            have += (size_t)r;
        }
        CHECK(memcmp(in, want, len) == 0);
        memmove(in, in + len, have - len);
        have -= len;
        total += (int64_t)len;
        CHECK(go_chan_recv(c->window, NULL));
    }
    CHECK_EQ(have, 0);
    go_chan_send(c->done, &total);
}

static void client(void *arg)
{
    struct conn c = {.seed = 0x9E3779B97F4A7C15ULL * (uint64_t)((intptr_t)arg + 1)};
    c.fd = go_dial(dial_net, dial_addr);
    CHECK(c.fd >= 0);
    c.window = go_chan_make(1, WINDOW);
    c.done = go_chan_make(sizeof(int64_t), 0);
    CHECK(c.window && c.done);
    CHECK_EQ(go(client_reader, &c), 0);
    uint64_t seed = c.seed, batch_seed = ~c.seed;
    unsigned char out[WINDOW][MSG_MAX];
    struct iovec iov[WINDOW];
    char token = 0;
    for (int m = 0; m < nmsgs;) {
        int b = 1 + (int)(next_rand(&batch_seed) % WINDOW);
        if (b > nmsgs - m)
            b = nmsgs - m;
        size_t sum = 0;
        for (int k = 0; k < b; k++) {
            go_chan_send(c.window, &token); /* blocks while WINDOW are in flight */
            iov[k].iov_base = out[k];
            iov[k].iov_len = next_msg(&seed, out[k]);
            sum += iov[k].iov_len;
        }
        if (b == 1)
            CHECK_EQ(go_write(c.fd, out[0], sum), (ssize_t)sum);
        else
            CHECK_EQ(go_writev(c.fd, iov, b), (ssize_t)sum);
        m += b;
    }
    int64_t total;
    CHECK(go_chan_recv(c.done, &total));
    go_chan_free(c.window);
    go_chan_free(c.done);
    __atomic_add_fetch(&client_bytes, total, __ATOMIC_RELAXED);
    CHECK_EQ(go_close(c.fd), 0);
    go_wg_done(&client_wg);
}

static void run(const char *net, const char *listen_addr)
{
    server_bytes = client_bytes = 0;
    int ln = go_listen(net, listen_addr, 0);
    CHECK(ln >= 0);
    dial_net = net;
    if (strcmp(net, "unix") == 0) {
        snprintf(dial_addr, sizeof dial_addr, "%s", listen_addr);
    } else {
        struct sockaddr_in sa;
        socklen_t len = sizeof sa;
        CHECK_EQ(getsockname(ln, (struct sockaddr *)&sa, &len), 0);
        snprintf(dial_addr, sizeof dial_addr, "127.0.0.1:%d", ntohs(sa.sin_port));
    }
    go_wg_add(&server_wg, nconns + 1);
    CHECK_EQ(go(acceptor, (void *)(intptr_t)ln), 0);
    go_wg_add(&client_wg, nconns);
    for (int i = 0; i < nconns; i++)
        CHECK_EQ(go(client, (void *)(intptr_t)i), 0);
    go_wg_wait(&client_wg);
    go_wg_wait(&server_wg);
    CHECK_EQ(server_bytes, client_bytes);
    CHECK(client_bytes >= (int64_t)nconns * nmsgs);
    printf("ok  %s: %d connections x %d messages, %lld bytes echoed and verified\n", net,
           nconns, nmsgs, (long long)client_bytes);
}

int main(void)
{
    setvbuf(stdout, NULL, _IONBF, 0);
    if (TEST_SANITIZED) {
        nconns = 100;
        nmsgs = 100;
    }
    /* Two descriptors per connection, plus a few. */
    struct rlimit rl;
    CHECK_EQ(getrlimit(RLIMIT_NOFILE, &rl), 0);
    if (rl.rlim_cur < (rlim_t)(2 * nconns + 64)) {
        if (rl.rlim_max < (rlim_t)(2 * nconns + 64)) {
            printf("--  RLIMIT_NOFILE too low for %d connections: skipped\n", nconns);
            return TEST_SKIP;
        }
        rl.rlim_cur = (rlim_t)(2 * nconns + 64);
        CHECK_EQ(setrlimit(RLIMIT_NOFILE, &rl), 0);
    }
    run("tcp", "127.0.0.1:0");
    char path[108];
    snprintf(path, sizeof path, "/tmp/test_net_echo_%d.sock", (int)getpid());
    unlink(path);
    nconns /= 4;
    nmsgs /= 4;
    run("unix", path);
    unlink(path);
    return 0;
}
