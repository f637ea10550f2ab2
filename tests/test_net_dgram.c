/*
 * test_net_dgram.c - datagrams: "udp", "udp4", "udp6" and "unixgram" in
 * go_listen/go_dial, go_recvfrom/go_sendto/go_recvmsg/go_sendmsg, their
 * deadlines, MSG_DONTWAIT, go_close of a waiting receiver, and a stress:
 * 1,000 client goroutines, each on its own connected UDP socket, asking
 * 20 questions each of one server socket served by four goroutines (two
 * with recvfrom/sendto, two with recvmsg/sendmsg); then 200 over unixgram.
 *
 * UDP on loopback drops datagrams when a receive queue is full (1,000
 * clients sending at once overflow the server's), so a client that hears
 * nothing within RETRY_NS sends its question again with the next attempt
 * number. Every answer names the client, question and attempt it answers
 * and carries the question's payload transformed; the client checks:
 *  - the payload, byte for byte (corruption fails);
 *  - that it is its own (a misrouted answer fails);
 *  - that it answers an attempt actually sent (a fabricated one fails);
 *  - that no (question, attempt) is answered twice (a duplicate fails).
 * An answer to an earlier attempt of the current question answers it; an
 * answer to an earlier question (its retried copy) is checked and skipped.
 * The server checks every question's payload too. Nothing here asserts on
 * time: a slow machine only retries more.
 */
#include "test_util.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdint.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/un.h>

#define QUESTIONS 20
#define MAX_ATTEMPTS 64 /* bits in the seen-mask */
#define RETRY_NS 200000000LL
#define MAGIC_Q 0x51554553u
#define MAGIC_A 0x414e5357u
#define MAXLEN 600

struct hdr {
    uint32_t magic, client, question, attempt, len;
};

static int nclients;
static int server_fd;
static struct sockaddr_storage server_addr;
static socklen_t server_addrlen;
static go_wg server_wg, client_wg;
static int64_t questions_served, retries; /* atomic */

static uint8_t pattern(uint32_t client, uint32_t q, uint32_t i)
{
    uint32_t x = client * 2654435761u ^ q * 40503u ^ i * 97u;
    return (uint8_t)(x ^ x >> 8 ^ x >> 16);
}

static uint32_t qlen(uint32_t client, uint32_t q)
{
    return (uint32_t)sizeof(struct hdr) + (client * 7 + q * 13) % (MAXLEN - sizeof(struct hdr));
}

/* Check a question's payload; fill in the answer in place. */
static void answer(uint8_t *buf, ssize_t n)
{
    CHECK(n >= (ssize_t)sizeof(struct hdr));
    struct hdr h;
    memcpy(&h, buf, sizeof h);
    CHECK_EQ(h.magic, MAGIC_Q);
    CHECK(h.client < (uint32_t)nclients && h.question < QUESTIONS && h.attempt < MAX_ATTEMPTS);
    CHECK_EQ(h.len, qlen(h.client, h.question));
    CHECK_EQ(n, h.len);
    for (uint32_t i = sizeof h; i < h.len; i++) {
        CHECK_EQ(buf[i], pattern(h.client, h.question, i));
        buf[i] ^= 0xa5;
    }
    h.magic = MAGIC_A;
    memcpy(buf, &h, sizeof h);
    __atomic_add_fetch(&questions_served, 1, __ATOMIC_RELAXED);
}

/* Serve with recvfrom/sendto until the socket is closed. */
static void server_from(void *arg)
{
    (void)arg;
    uint8_t buf[MAXLEN + 64];
    for (;;) {
        struct sockaddr_storage from;
        socklen_t fl = sizeof from;
        ssize_t n = go_recvfrom(server_fd, buf, sizeof buf, 0, (struct sockaddr *)&from, &fl);
        if (n == -EBADF)
            break;
        CHECK(n > 0);
        CHECK(fl > 0 && fl <= sizeof from);
        answer(buf, n);
        ssize_t w = go_sendto(server_fd, buf, (size_t)n, 0, (struct sockaddr *)&from, fl);
        if (w == -EBADF)
            break;
        CHECK_EQ(w, n);
    }
    go_wg_done(&server_wg);
}

/* Serve with recvmsg/sendmsg (two iovecs, split at the header). */
static void server_msg(void *arg)
{
    (void)arg;
    struct hdr h;
    uint8_t body[MAXLEN + 64];
    for (;;) {
        struct sockaddr_storage from;
        struct iovec iov[2] = {{&h, sizeof h}, {body, sizeof body}};
        struct msghdr m = {.msg_name = &from, .msg_namelen = sizeof from, .msg_iov = iov,
                           .msg_iovlen = 2};
        ssize_t n = go_recvmsg(server_fd, &m, 0);
        if (n == -EBADF)
            break;
        CHECK(n > 0);
        CHECK_EQ(m.msg_flags & MSG_TRUNC, 0);
        uint8_t whole[MAXLEN + 64 + sizeof h];
        memcpy(whole, &h, sizeof h);
        memcpy(whole + sizeof h, body, (size_t)n - sizeof h);
        answer(whole, n);
        memcpy(&h, whole, sizeof h);
        memcpy(body, whole + sizeof h, (size_t)n - sizeof h);
        iov[1].iov_len = (size_t)n - sizeof h;
        struct msghdr out = {.msg_name = &from, .msg_namelen = m.msg_namelen, .msg_iov = iov,
                             .msg_iovlen = 2};
        ssize_t w = go_sendmsg(server_fd, &out, 0);
        if (w == -EBADF)
            break;
        CHECK_EQ(w, n);
    }
    go_wg_done(&server_wg);
}

static const char *client_net;

static void client(void *arg)
{
    uint32_t id = (uint32_t)(uintptr_t)arg;
    bool use_read = id % 2 == 0; /* else go_sendto/go_recvfrom on the connected socket */
    char addr[128];
    if (server_addr.ss_family == AF_UNIX) {
        const struct sockaddr_un *su = (const struct sockaddr_un *)&server_addr;
        snprintf(addr, sizeof addr, "@%s", su->sun_path + 1);
    } else {
        const struct sockaddr_in *si = (const struct sockaddr_in *)&server_addr;
        snprintf(addr, sizeof addr, "127.0.0.1:%u", ntohs(si->sin_port));
    }
    int fd = go_dial(client_net, addr);
    CHECK(fd >= 0);
    uint8_t sent[QUESTIONS] = {0};
    uint64_t seen[QUESTIONS] = {0};
    uint8_t buf[MAXLEN + 64];
    for (uint32_t q = 0; q < QUESTIONS; q++) {
        bool answered = false;
        while (!answered) {
            /* Send attempt sent[q]. */
            uint32_t len = qlen(id, q);
            struct hdr h = {MAGIC_Q, id, q, sent[q], len};
            CHECK(sent[q] < MAX_ATTEMPTS);
            memcpy(buf, &h, sizeof h);
            for (uint32_t i = sizeof h; i < len; i++)
                buf[i] = pattern(id, q, i);
            ssize_t w = use_read ? go_write(fd, buf, len) : go_sendto(fd, buf, len, 0, NULL, 0);
            CHECK_EQ(w, len);
            if (sent[q]++ > 0)
                __atomic_add_fetch(&retries, 1, __ATOMIC_RELAXED);
            CHECK_EQ(go_set_read_deadline(fd, go_now() + RETRY_NS), 0);
            for (;;) {
                ssize_t n;
                if (use_read) {
                    n = go_read(fd, buf, sizeof buf);
                } else {
                    struct sockaddr_storage from;
                    socklen_t fl = sizeof from;
                    n = go_recvfrom(fd, buf, sizeof buf, 0, (struct sockaddr *)&from, &fl);
                    if (n >= 0) {
                        /* Only the server can talk to a connected socket. */
                        CHECK_EQ(fl, server_addrlen);
                        CHECK(memcmp(&from, &server_addr, fl) == 0);
                    }
                }
                if (n == -ETIMEDOUT)
                    break; /* lost, ours or theirs: ask again */
                CHECK(n >= (ssize_t)sizeof(struct hdr));
                struct hdr a;
                memcpy(&a, buf, sizeof a);
                CHECK_EQ(a.magic, MAGIC_A);
                CHECK_EQ(a.client, id); /* misrouted */
                CHECK(a.question <= q);   /* never asked */
                CHECK(a.attempt < sent[a.question]);
                CHECK_EQ(a.len, qlen(id, a.question));
                CHECK_EQ(n, a.len);
                for (uint32_t i = sizeof a; i < a.len; i++)
                    CHECK_EQ(buf[i], pattern(id, a.question, i) ^ 0xa5);
                uint64_t bit = 1ull << a.attempt;
                CHECK((seen[a.question] & bit) == 0); /* duplicate */
                seen[a.question] |= bit;
                if (a.question == q) {
                    answered = true;
                    break;
                }
            }
        }
    }
    CHECK_EQ(go_close(fd), 0);
    go_wg_done(&client_wg);
}

static void stress(const char *listen_net, const char *listen_addr, const char *dial_net,
                   int clients)
{
    nclients = clients;
    client_net = dial_net;
    questions_served = retries = 0;
    server_fd = go_listen(listen_net, listen_addr, 0);
    CHECK(server_fd >= 0);
    server_addrlen = sizeof server_addr;
    CHECK_EQ(getsockname(server_fd, (struct sockaddr *)&server_addr, &server_addrlen), 0);
    go_wg_add(&server_wg, 4);
    for (int i = 0; i < 4; i++)
        CHECK_EQ(go(i % 2 ? server_msg : server_from, NULL), 0);
    go_wg_add(&client_wg, clients);
    for (int i = 0; i < clients; i++)
        CHECK_EQ(go(client, (void *)(uintptr_t)i), 0);
    go_wg_wait(&client_wg);
    CHECK_EQ(go_close(server_fd), 0); /* wakes the servers with -EBADF */
    go_wg_wait(&server_wg);
    CHECK(questions_served >= (int64_t)clients * QUESTIONS);
    printf("%s: %d clients x %d questions, %lld served, %lld retries\n", dial_net, clients,
           QUESTIONS, (long long)questions_served, (long long)retries);
}

/* ---- the calls one by one -------------------------------------------------- */

static int closer_fd;
static void close_later(void *arg)
{
    (void)arg;
    go_sleep(20000000);
    CHECK_EQ(go_close(closer_fd), 0);
}

static void unit(void)
{
    /* Bad networks and addresses. */
    CHECK_EQ(go_listen("udp5", "127.0.0.1:0", 0), -EPROTONOSUPPORT);
    CHECK_EQ(go_listen("udp", "127.0.0.1", 0), -EINVAL);
    CHECK_EQ(go_dial("unixgram", "/nonexistent/dir/sock"), -ENOENT);

    int s = go_listen("udp4", "127.0.0.1:0", 0);
    CHECK(s >= 0);
    int type = 0;
    socklen_t tl = sizeof type;
    CHECK_EQ(getsockopt(s, SOL_SOCKET, SO_TYPE, &type, &tl), 0);
    CHECK_EQ(type, SOCK_DGRAM);
    struct sockaddr_in sa;
    socklen_t sl = sizeof sa;
    CHECK_EQ(getsockname(s, (struct sockaddr *)&sa, &sl), 0);
    char addr[64];
    snprintf(addr, sizeof addr, "127.0.0.1:%u", ntohs(sa.sin_port));
    int c = go_dial("udp", addr);
    CHECK(c >= 0);

    /* Nothing queued: MSG_DONTWAIT says so, a passed deadline times out. */
    char buf[64];
    CHECK_EQ(go_recvfrom(s, buf, sizeof buf, MSG_DONTWAIT, NULL, NULL), -EAGAIN);
    CHECK_EQ(go_set_read_deadline(s, go_now() + 1000000), 0);
    CHECK_EQ(go_recvfrom(s, buf, sizeof buf, 0, NULL, NULL), -ETIMEDOUT);
    struct msghdr m0 = {0};
    struct iovec iv0 = {buf, sizeof buf};
    m0.msg_iov = &iv0;
    m0.msg_iovlen = 1;
    CHECK_EQ(go_recvmsg(s, &m0, 0), -ETIMEDOUT);
    CHECK_EQ(go_set_read_deadline(s, 0), 0);

    /* An empty datagram, then one read short with MSG_TRUNC, then one
     * peeked before it is read. */
    CHECK_EQ(go_sendto(c, "", 0, 0, NULL, 0), 0);
    struct sockaddr_in from;
    socklen_t fl = sizeof from;
    CHECK_EQ(go_recvfrom(s, buf, sizeof buf, 0, (struct sockaddr *)&from, &fl), 0);
    CHECK_EQ(fl, sizeof from);
    CHECK_EQ(from.sin_family, AF_INET);
    CHECK_EQ(go_write(c, "0123456789", 10), 10);
    CHECK_EQ(go_recvfrom(s, buf, 4, MSG_TRUNC, NULL, NULL), 10);
    CHECK(memcmp(buf, "0123", 4) == 0);
    CHECK_EQ(go_write(c, "abcdef", 6), 6);
    CHECK_EQ(go_recvfrom(s, buf, sizeof buf, MSG_PEEK, NULL, NULL), 6);
    struct iovec iv[2] = {{buf, 2}, {buf + 10, 2}};
    struct msghdr m = {.msg_iov = iv, .msg_iovlen = 2};
    CHECK_EQ(go_recvmsg(s, &m, 0), 4);
    CHECK(m.msg_flags & MSG_TRUNC);
    CHECK(memcmp(buf, "ab", 2) == 0 && memcmp(buf + 10, "cd", 2) == 0);

    /* Answer with go_sendmsg to the client's address; it reads it. */
    struct iovec ov = {(void *)"pong", 4};
    struct msghdr out = {.msg_name = &from, .msg_namelen = fl, .msg_iov = &ov, .msg_iovlen = 1};
    CHECK_EQ(go_sendmsg(s, &out, 0), 4);
    CHECK_EQ(go_read(c, buf, sizeof buf), 4);
    CHECK(memcmp(buf, "pong", 4) == 0);

    /* Argument errors. */
    CHECK_EQ(go_recvfrom(s, NULL, 5, 0, NULL, NULL), -EINVAL);
    CHECK_EQ(go_recvfrom(s, buf, 5, 0, (struct sockaddr *)&from, NULL), -EINVAL);
    CHECK_EQ(go_sendto(s, NULL, 5, 0, NULL, 0), -EINVAL);
    CHECK_EQ(go_recvmsg(s, NULL, 0), -EINVAL);
    CHECK_EQ(go_sendmsg(s, NULL, 0), -EINVAL);
    CHECK_EQ(go_sendto(s, "x", 1, 0, NULL, 0), -EDESTADDRREQ);
    int p[2];
    CHECK_EQ(pipe(p), 0);
    CHECK_EQ(go_recvfrom(p[0], buf, 1, MSG_DONTWAIT, NULL, NULL), -ENOTSOCK);
    CHECK_EQ(go_sendto(p[1], "x", 1, 0, NULL, 0), -ENOTSOCK);
    CHECK_EQ(go_close(p[0]), 0);
    CHECK_EQ(go_close(p[1]), 0);
    CHECK_EQ(go_recvfrom(-1, buf, 1, 0, NULL, NULL), -EBADF);

    /* go_close wakes a waiting receiver with -EBADF. */
    closer_fd = s;
    CHECK_EQ(go(close_later, NULL), 0);
    CHECK_EQ(go_recvfrom(s, buf, sizeof buf, 0, NULL, NULL), -EBADF);
    CHECK_EQ(go_close(c), 0);

    /* udp6 on ::1, where the system has IPv6. */
    int s6 = go_listen("udp6", "[::1]:0", 0);
    if (s6 >= 0) {
        struct sockaddr_in6 a6;
        socklen_t l6 = sizeof a6;
        CHECK_EQ(getsockname(s6, (struct sockaddr *)&a6, &l6), 0);
        snprintf(addr, sizeof addr, "[::1]:%u", ntohs(a6.sin6_port));
        int c6 = go_dial("udp6", addr);
        CHECK(c6 >= 0);
        CHECK_EQ(go_write(c6, "six", 3), 3);
        CHECK_EQ(go_read(s6, buf, sizeof buf), 3);
        CHECK(memcmp(buf, "six", 3) == 0);
        CHECK_EQ(go_close(c6), 0);
        CHECK_EQ(go_close(s6), 0);
    } else {
        CHECK(s6 == -EAFNOSUPPORT || s6 == -EADDRNOTAVAIL);
    }

    /* unixgram on a path: the dialled socket is autobound, so the server
     * can answer it. */
    char path[108];
    snprintf(path, sizeof path, "/tmp/go-dgram-%d", (int)getpid());
    unlink(path);
    int us = go_listen("unixgram", path, 0);
    CHECK(us >= 0);
    int uc = go_dial("unixgram", path);
    CHECK(uc >= 0);
    CHECK_EQ(go_write(uc, "hello", 5), 5);
    struct sockaddr_un ufrom;
    socklen_t ufl = sizeof ufrom;
    CHECK_EQ(go_recvfrom(us, buf, sizeof buf, 0, (struct sockaddr *)&ufrom, &ufl), 5);
    CHECK(ufl > sizeof(sa_family_t)); /* an address to answer */
    CHECK_EQ(go_sendto(us, "world", 5, 0, (struct sockaddr *)&ufrom, ufl), 5);
    CHECK_EQ(go_read(uc, buf, sizeof buf), 5);
    CHECK(memcmp(buf, "world", 5) == 0);
    CHECK_EQ(go_close(uc), 0);
    CHECK_EQ(go_close(us), 0);
    unlink(path);
}

int main(void)
{
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < 2200 && rl.rlim_max > rl.rlim_cur) {
        rl.rlim_cur = rl.rlim_max < 4096 ? rl.rlim_max : 4096;
        setrlimit(RLIMIT_NOFILE, &rl);
    }
    unit();
    int n = TEST_SANITIZED ? 200 : 1000;
    stress("udp4", "127.0.0.1:0", "udp", n);
    char ua[64];
    snprintf(ua, sizeof ua, "@go-dgram-stress-%d", (int)getpid());
    stress("unixgram", ua, "unixgram", TEST_SANITIZED ? 50 : 200);
    printf("ok\n");
    return 0;
}
