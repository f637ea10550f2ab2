/*
 * test_net_echo.c - stress: 1,000 concurrent TCP connections to an
 * in-process echo server (a goroutine per connection, as a Go server
 * would be), each sending 1,000 messages of random length and content and
 * checking every byte that comes back. Then the same over unix sockets,
 * smaller. Invariants: every byte sent is echoed once, in order, on its
 * own connection; the server saw exactly the bytes the clients sent.
 * Scaled down under sanitizers. Loopback only.
 */
#include "test_util.h"

#include <arpa/inet.h>
#include <stdint.h>
#include <sys/resource.h>
#include <sys/socket.h>

static int nconns = 1000, nmsgs = 1000;

static int64_t server_bytes, client_bytes; /* atomic */
static go_wg server_wg, client_wg;
static char dial_addr[128];
static const char *dial_net;

static void echo_conn(void *arg)
{
    int fd = (int)(intptr_t)arg;
    char buf[8192];
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

static void client(void *arg)
{
    uint64_t seed = 0x9E3779B97F4A7C15ULL * (uint64_t)((intptr_t)arg + 1);
    int fd = go_dial(dial_net, dial_addr);
    CHECK(fd >= 0);
    unsigned char out[2048], in[2048];
    int64_t total = 0;
    for (int m = 0; m < nmsgs; m++) {
        size_t len = 1 + next_rand(&seed) % sizeof out;
        for (size_t i = 0; i < len; i++)
            out[i] = (unsigned char)next_rand(&seed);
        CHECK_EQ(go_write(fd, out, len), (ssize_t)len);
        size_t got = 0;
        while (got < len) {
            ssize_t r = go_read(fd, in + got, len - got);
            CHECK(r > 0);
            got += (size_t)r;
        }
        CHECK(memcmp(in, out, len) == 0);
        total += (int64_t)len;
    }
    __atomic_add_fetch(&client_bytes, total, __ATOMIC_RELAXED);
    CHECK_EQ(go_close(fd), 0);
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
