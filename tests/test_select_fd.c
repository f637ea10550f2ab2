/*
 * test_select_fd.c - descriptor cases in go_select (GO_READABLE,
 * GO_WRITABLE), mixed with channel cases, go_select_try and
 * go_select_timeout:
 *  - semantics one by one: ready now, not ready, negative fd, a
 *    descriptor that is not open, end of file, writable, a deadline, a
 *    regular file, nothing written for cases that did not fire;
 *  - a plain thread (main) and a goroutine blocking on a descriptor and a
 *    channel, woken by either;
 *  - go_close of a descriptor while selected: the case fires, the read
 *    after it says -EBADF, go_close waits for the select;
 *  - the choice among ready cases (a ready pipe and a ready channel) is
 *    fair;
 *  - stress: 100 consumers, each reading a numbered stream that a
 *    producer splits at random between its socket and its channel, with
 *    timeouts; every number arrives exactly once and in order per source;
 *  - stress: 64 ping-pong pairs through a pipe and a channel, 500 round
 *    trips each, a lost wake-up hangs the test;
 *  - stress: 200 goroutines selecting on their own socket and a channel,
 *    their sockets closed under them at random moments;
 *  - stress: one-case selects on a descriptor with short timeouts racing
 *    the writes that wake them (the poller's claim against the park and
 *    the timer, with no channel lock to hold the select's frame).
 */
#include "test_util.h"

#include <fcntl.h>
#include <stdint.h>
#include <sys/socket.h>

#define MS 1000000LL

static void semantics(void)
{
    int p[2];
    CHECK_EQ(pipe(p), 0);
    go_chan *c = go_chan_make(sizeof(int), 1);
    int v = 12345;
    bool ok = true;
    char b;

    /* Nothing ready: try says -1, timeout says -ETIMEDOUT, nothing written. */
    go_select_case cs[] = {GO_READABLE(p[0]), GO_RECV(c, &v, &ok)};
    CHECK_EQ(go_select_try(cs, 2), -1);
    CHECK_EQ(go_select_timeout(cs, 2, 2 * MS), -ETIMEDOUT);
    CHECK_EQ(v, 12345);
    CHECK(ok);

    /* The pipe ready: case 0, and it stays ready (level-triggered) until read. */
    CHECK_EQ(write(p[1], "x", 1), 1);
    CHECK_EQ(go_select_try(cs, 2), 0);
    CHECK_EQ(go_select(cs, 2), 0);
    CHECK_EQ(v, 12345);
    CHECK_EQ(go_read(p[0], &b, 1), 1);
    CHECK_EQ(b, 'x');
    CHECK_EQ(go_select_try(cs, 2), -1);

    /* The channel ready: case 1 and its value. */
    int one = 1;
    go_chan_send(c, &one);
    CHECK_EQ(go_select(cs, 2), 1);
    CHECK_EQ(v, 1);

    /* Writable; readable and writable of one pipe in one select. */
    go_select_case w[] = {GO_READABLE(p[0]), GO_WRITABLE(p[1])};
    CHECK_EQ(go_select(w, 2), 1);

    /* Negative descriptors never fire; a descriptor that is not open. */
    go_select_case neg[] = {GO_READABLE(-1), GO_WRITABLE(-5)};
    CHECK_EQ(go_select_try(neg, 2), -1);
    CHECK_EQ(go_select_timeout(neg, 2, MS), -ETIMEDOUT);
    int dead = dup(p[0]);
    CHECK(dead >= 0);
    close(dead);
    go_select_case bad[] = {GO_READABLE(dead)};
    CHECK_EQ(go_select_try(bad, 1), 0);
    CHECK_EQ(go_read(dead, &b, 1), -EBADF);

    /* End of file is readable. */
    CHECK_EQ(go_close(p[1]), 0);
    CHECK_EQ(go_select(cs, 2), 0);
    CHECK_EQ(go_read(p[0], &b, 1), 0);
    CHECK_EQ(go_close(p[0]), 0);

    /* A passed read deadline makes the case fire, and the read say so. */
    int s[2];
    CHECK_EQ(socketpair(AF_UNIX, SOCK_STREAM, 0, s), 0);
    go_select_case rs[] = {GO_READABLE(s[0]), GO_RECV(c, &v, NULL)};
    CHECK_EQ(go_set_read_deadline(s[0], go_now() + 5 * MS), 0);
    CHECK_EQ(go_select(rs, 2), 0);
    CHECK_EQ(go_read(s[0], &b, 1), -ETIMEDOUT);
    CHECK_EQ(go_set_read_deadline(s[0], 0), 0);
    CHECK_EQ(go_select_try(rs, 2), -1);
    /* The write deadline only concerns writable cases. */
    CHECK_EQ(go_set_write_deadline(s[0], go_now() - 1), 0);
    CHECK_EQ(go_select_try(rs, 2), -1);
    go_select_case ws[] = {GO_WRITABLE(s[0])};
    CHECK_EQ(go_select_try(ws, 1), 0);
    CHECK_EQ(go_write(s[0], "y", 1), -ETIMEDOUT);
    CHECK_EQ(go_close(s[0]), 0);
    CHECK_EQ(go_close(s[1]), 0);

    /* A regular file is always ready. */
    char path[] = "/tmp/go-selfd-XXXXXX";
    int f = mkstemp(path);
    CHECK(f >= 0);
    unlink(path);
    go_select_case fs[] = {GO_RECV(c, &v, NULL), GO_READABLE(f)};
    CHECK_EQ(go_select(fs, 2), 1);
    CHECK_EQ(go_close(f), 0);

    /* Only descriptor cases, more than 16 cases. */
    int many[20][2];
    go_select_case mc[20];
    for (int i = 0; i < 20; i++) {
        CHECK_EQ(pipe(many[i]), 0);
        mc[i] = GO_READABLE(many[i][0]);
    }
    CHECK_EQ(go_select_try(mc, 20), -1);
    CHECK_EQ(write(many[13][1], "z", 1), 1);
    CHECK_EQ(go_select(mc, 20), 13);
    for (int i = 0; i < 20; i++) {
        CHECK_EQ(go_close(many[i][0]), 0);
        CHECK_EQ(go_close(many[i][1]), 0);
    }
    go_chan_free(c);
}

/* ---- blocking, woken by the descriptor or the channel --------------------------- */

struct wake_arg {
    int fd;
    go_chan *c;
    int how; /* 0: write the descriptor, 1: send on the channel, 2: go_close */
    go_wg done;
};

static void waker(void *arg)
{
    struct wake_arg *a = arg;
    go_sleep(3 * MS);
    if (a->how == 0) {
        CHECK_EQ(go_write(a->fd, "w", 1), 1);
    } else if (a->how == 1) {
        int x = 77;
        go_chan_send(a->c, &x);
    } else {
        CHECK_EQ(go_close(a->fd), 0);
    }
    go_wg_done(&a->done);
}

static go_wg blockers;

/* Block on {READABLE(s[0]), RECV(c)} and check what woke us. alone: no
 * other goroutine opens descriptors meanwhile, so the number s[0] is not
 * handed out again once go_close has returned. */
static void block_once(int how, bool timed, bool alone)
{
    int s[2];
    CHECK_EQ(socketpair(AF_UNIX, SOCK_STREAM, 0, s), 0);
    go_chan *c = go_chan_make(sizeof(int), 0);
    struct wake_arg a = {how == 0 ? s[1] : s[0], c, how, GO_WG_INIT};
    go_wg_add(&a.done, 1);
    CHECK_EQ(go(waker, &a), 0);
    int v = -1;
    bool ok = false;
    go_select_case cs[] = {GO_RECV(c, &v, &ok), GO_READABLE(s[0])};
    int r = timed ? go_select_timeout(cs, 2, 60000 * MS) : go_select(cs, 2);
    char b;
    if (how == 0) {
        CHECK_EQ(r, 1);
        CHECK_EQ(v, -1);
        CHECK(!ok);
        CHECK_EQ(go_read(s[0], &b, 1), 1);
        CHECK_EQ(b, 'w');
    } else if (how == 1) {
        CHECK_EQ(r, 0);
        CHECK_EQ(v, 77);
        CHECK(ok);
        CHECK_EQ(go_read_timeout(s[0], &b, 1, 0), -ETIMEDOUT); /* nothing there */
    } else {
        CHECK_EQ(r, 1);
        CHECK_EQ(v, -1);
        /* The select returns once go_close has begun; the read, once it
         * has returned (a call that starts while go_close is finishing
         * races it, as any call does). */
        go_wg_wait(&a.done);
        if (alone)
            CHECK_EQ(go_read(s[0], &b, 1), -EBADF);
    }
    go_wg_wait(&a.done); /* the waker is done with a */
    if (how != 2)
        CHECK_EQ(go_close(s[0]), 0);
    CHECK_EQ(go_close(s[1]), 0);
    go_chan_free(c);
}

static void blocker(void *arg)
{
    int how = (int)(intptr_t)arg;
    block_once(how % 3, how >= 3, false);
    go_wg_done(&blockers);
}

/* ---- fairness -------------------------------------------------------------------- */

static void fairness(void)
{
    int p[2];
    CHECK_EQ(pipe(p), 0);
    CHECK_EQ(write(p[1], "r", 1), 1);
    go_chan *c = go_chan_make(sizeof(int), 1);
    int x = 5;
    go_chan_send(c, &x);
    int counts[3] = {0, 0, 0};
    int v;
    for (int i = 0; i < 9000; i++) {
        /* The channel case is put back each time it fires. */
        go_select_case cs[] = {GO_READABLE(p[0]), GO_RECV(c, &v, NULL), GO_WRITABLE(p[1])};
        int r = go_select_try(cs, 3);
        CHECK(r >= 0 && r < 3);
        counts[r]++;
        if (r == 1)
            go_chan_send(c, &x);
    }
    /* Each is 1/3: 3,000 expected, sd ~45; 2,700-3,300 is over 6 sd. */
    for (int i = 0; i < 3; i++)
        CHECK(counts[i] > 2700 && counts[i] < 3300);
    CHECK_EQ(go_close(p[0]), 0);
    CHECK_EQ(go_close(p[1]), 0);
    go_chan_free(c);
}

/* ---- stress: numbered streams split between a socket and a channel --------------- */

#define STREAMS 100
#define PER_STREAM 600

struct stream {
    int s[2];
    go_chan *c;
};
static struct stream streams[STREAMS];
static go_wg stream_wg;

static uint64_t rnd(uint64_t *s)
{
    *s ^= *s << 13;
    *s ^= *s >> 7;
    *s ^= *s << 17;
    return *s;
}

static void producer(void *arg)
{
    struct stream *st = arg;
    uint64_t seed = (uint64_t)(uintptr_t)arg | 1;
    uint32_t next_fd = 0, next_ch = 0;
    for (uint32_t i = 0; i < PER_STREAM; i++) {
        if (rnd(&seed) & 1) {
            uint32_t x = next_fd++;
            CHECK_EQ(go_write(st->s[1], &x, sizeof x), (ssize_t)sizeof x);
        } else {
            uint32_t x = next_ch++;
            go_chan_send(st->c, &x);
        }
        if ((rnd(&seed) & 63) == 0)
            go_yield();
    }
    uint32_t end = UINT32_MAX;
    CHECK_EQ(go_write(st->s[1], &end, sizeof end), (ssize_t)sizeof end);
    go_chan_close(st->c);
    go_wg_done(&stream_wg);
}

static void consumer(void *arg)
{
    struct stream *st = arg;
    uint64_t seed = (uint64_t)(uintptr_t)arg * 7 | 1;
    uint32_t want_fd = 0, want_ch = 0;
    bool fd_done = false, ch_done = false;
    uint8_t buf[sizeof(uint32_t)];
    size_t have = 0;
    while (!fd_done || !ch_done) {
        uint32_t v = 0xdeadbeef;
        bool ok = true;
        /* A finished source becomes a case that never fires. */
        go_select_case cs[] = {GO_READABLE(fd_done ? -1 : st->s[0]),
                               GO_RECV(ch_done ? NULL : st->c, &v, &ok)};
        int r;
        switch (rnd(&seed) % 3) {
        case 0:
            r = go_select(cs, 2);
            break;
        case 1:
            r = go_select_timeout(cs, 2, (int64_t)(rnd(&seed) % 200000));
            break;
        default:
            r = go_select_try(cs, 2);
            if (r == -1)
                go_yield();
            break;
        }
        if (r == -1 || r == -ETIMEDOUT) {
            CHECK_EQ(v, 0xdeadbeef); /* nothing written */
            continue;
        }
        if (r == 1) {
            CHECK(!ch_done);
            if (!ok) {
                ch_done = true;
                CHECK_EQ(v, 0); /* a closed channel's receive zeroes */
                continue;
            }
            CHECK_EQ(v, want_ch);
            want_ch++;
            continue;
        }
        CHECK_EQ(r, 0);
        CHECK(!fd_done);
        CHECK_EQ(v, 0xdeadbeef);
        /* Readable: a read must not wait for long; take what is there. */
        ssize_t n = go_read_timeout(st->s[0], buf + have, sizeof buf - have, 0);
        if (n == -ETIMEDOUT)
            continue; /* not possible with one reader, but harmless */
        CHECK(n > 0);
        have += (size_t)n;
        if (have < sizeof buf)
            continue;
        have = 0;
        uint32_t x;
        memcpy(&x, buf, sizeof x);
        if (x == UINT32_MAX) {
            fd_done = true;
            continue;
        }
        CHECK_EQ(x, want_fd);
        want_fd++;
    }
    CHECK_EQ(want_fd + want_ch, PER_STREAM);
    go_wg_done(&stream_wg);
}

static void streams_stress(void)
{
    go_wg_add(&stream_wg, 2 * STREAMS);
    for (int i = 0; i < STREAMS; i++) {
        CHECK_EQ(socketpair(AF_UNIX, SOCK_STREAM, 0, streams[i].s), 0);
        streams[i].c = go_chan_make(sizeof(uint32_t), (size_t)(i % 3));
        CHECK_EQ(go(consumer, &streams[i]), 0);
        CHECK_EQ(go(producer, &streams[i]), 0);
    }
    go_wg_wait(&stream_wg);
    for (int i = 0; i < STREAMS; i++) {
        CHECK_EQ(go_close(streams[i].s[0]), 0);
        CHECK_EQ(go_close(streams[i].s[1]), 0);
        go_chan_free(streams[i].c);
    }
}

/* ---- stress: ping-pong through a pipe and a channel ------------------------------- */

#define PAIRS 64
#define ROUNDS 500

struct pair {
    int p[2];
    go_chan *ack;
};
static struct pair pairs[PAIRS];
static go_wg pair_wg;

/* Wait for the byte with a select (alone, or beside a channel that never
 * fires), read it, acknowledge it on the channel. */
static void ponger(void *arg)
{
    struct pair *pr = arg;
    go_chan *never = go_chan_make(sizeof(int), 0);
    for (int i = 0; i < ROUNDS; i++) {
        int dummy;
        go_select_case cs[] = {GO_RECV(never, &dummy, NULL), GO_READABLE(pr->p[0])};
        int r = (i & 1) ? go_select(cs + 1, 1) + 1 : go_select(cs, 2);
        CHECK_EQ(r, 1);
        uint8_t b;
        CHECK_EQ(go_read(pr->p[0], &b, 1), 1);
        CHECK_EQ(b, (uint8_t)i);
        go_chan_send(pr->ack, &i);
    }
    go_chan_free(never);
    go_wg_done(&pair_wg);
}

static void pinger(void *arg)
{
    struct pair *pr = arg;
    for (int i = 0; i < ROUNDS; i++) {
        uint8_t b = (uint8_t)i;
        CHECK_EQ(go_write(pr->p[1], &b, 1), 1);
        int got;
        CHECK(go_chan_recv(pr->ack, &got));
        CHECK_EQ(got, i);
    }
    go_wg_done(&pair_wg);
}

static void pingpong(void)
{
    go_wg_add(&pair_wg, 2 * PAIRS);
    for (int i = 0; i < PAIRS; i++) {
        CHECK_EQ(pipe2(pairs[i].p, O_NONBLOCK), 0);
        pairs[i].ack = go_chan_make(sizeof(int), 0);
        CHECK_EQ(go(ponger, &pairs[i]), 0);
        CHECK_EQ(go(pinger, &pairs[i]), 0);
    }
    go_wg_wait(&pair_wg);
    for (int i = 0; i < PAIRS; i++) {
        CHECK_EQ(go_close(pairs[i].p[0]), 0);
        CHECK_EQ(go_close(pairs[i].p[1]), 0);
        go_chan_free(pairs[i].ack);
    }
}

/* ---- stress: descriptors closed while selected ------------------------------------ */

#define CLOSERS 200

struct victim {
    int s[2];
    go_chan *c;
    go_chan *closed; /* closed once go_close(s[0]) has returned */
    int closed_seen; /* the select fired the descriptor case and the read said -EBADF */
};
static struct victim victims[CLOSERS];
static go_wg victim_wg;

static void victim(void *arg)
{
    struct victim *vi = arg;
    int v;
    for (;;) {
        go_select_case cs[] = {GO_RECV(vi->c, &v, NULL), GO_READABLE(vi->s[0])};
        int r = go_select(cs, 2);
        if (r == 0) {
            CHECK_EQ(v, 1); /* keep-alive pokes */
            continue;
        }
        CHECK_EQ(r, 1);
        CHECK(!go_chan_recv(vi->closed, NULL)); /* go_close has returned */
        char b;
        ssize_t n = go_read(vi->s[0], &b, 1);
        CHECK_EQ(n, -EBADF); /* nothing is ever written: only the close wakes it */
        vi->closed_seen = 1;
        break;
    }
    go_wg_done(&victim_wg);
}

static void close_stress(void)
{
    go_wg_add(&victim_wg, CLOSERS);
    for (int i = 0; i < CLOSERS; i++) {
        CHECK_EQ(socketpair(AF_UNIX, SOCK_STREAM, 0, victims[i].s), 0);
        victims[i].c = go_chan_make(sizeof(int), 0);
        victims[i].closed = go_chan_make(0, 0);
        CHECK_EQ(go(victim, &victims[i]), 0);
    }
    uint64_t seed = 99;
    for (int i = 0; i < CLOSERS; i++) {
        int one = 1;
        for (int k = (int)(rnd(&seed) % 4); k > 0; k--)
            go_chan_send(victims[i].c, &one);
        if (rnd(&seed) & 1)
            go_yield();
        CHECK_EQ(go_close(victims[i].s[0]), 0); /* waits for a select under way */
        go_chan_close(victims[i].closed);
    }
    go_wg_wait(&victim_wg);
    for (int i = 0; i < CLOSERS; i++) {
        CHECK_EQ(victims[i].closed_seen, 1);
        CHECK_EQ(go_close(victims[i].s[1]), 0);
        go_chan_free(victims[i].c);
        go_chan_free(victims[i].closed);
    }
}

/* ---- stress: timeouts racing readiness, no channel at all -------------------------- */

#define RACERS 50
#define RACES 400

static int racer_pipes[RACERS][2];
static go_wg race_wg;

static void race_reader(void *arg)
{
    int i = (int)(intptr_t)arg;
    int got = 0, timeouts = 0;
    uint64_t seed = (uint64_t)i * 31 + 7;
    while (got < RACES) {
        go_select_case cs[] = {GO_READABLE(racer_pipes[i][0])};
        int r = go_select_timeout(cs, 1, (int64_t)(rnd(&seed) % 50000));
        if (r == -ETIMEDOUT) {
            timeouts++;
            continue;
        }
        CHECK_EQ(r, 0);
        uint8_t b[64];
        ssize_t n = go_read(racer_pipes[i][0], b, sizeof b);
        CHECK(n > 0);
        for (ssize_t k = 0; k < n; k++)
            CHECK_EQ(b[k], (uint8_t)(got + k));
        got += (int)n;
    }
    CHECK_EQ(got, RACES);
    go_wg_done(&race_wg);
}

static void race_writer(void *arg)
{
    int i = (int)(intptr_t)arg;
    uint64_t seed = (uint64_t)i * 17 + 3;
    for (int k = 0; k < RACES; k++) {
        uint8_t b = (uint8_t)k;
        CHECK_EQ(go_write(racer_pipes[i][1], &b, 1), 1);
        if (rnd(&seed) & 1)
            go_sleep((int64_t)(rnd(&seed) % 40000));
    }
    go_wg_done(&race_wg);
}

static void timeout_race(void)
{
    go_wg_add(&race_wg, 2 * RACERS);
    for (int i = 0; i < RACERS; i++) {
        CHECK_EQ(pipe2(racer_pipes[i], O_NONBLOCK), 0);
        CHECK_EQ(go(race_reader, (void *)(intptr_t)i), 0);
        CHECK_EQ(go(race_writer, (void *)(intptr_t)i), 0);
    }
    go_wg_wait(&race_wg);
    for (int i = 0; i < RACERS; i++) {
        CHECK_EQ(go_close(racer_pipes[i][0]), 0);
        CHECK_EQ(go_close(racer_pipes[i][1]), 0);
    }
}

int main(void)
{
    semantics();

    /* main is a plain thread: blocked on a descriptor and a channel. */
    for (int how = 0; how < 3; how++) {
        block_once(how, false, true);
        block_once(how, true, true);
    }
    /* The same from goroutines, many at once. */
    go_wg_add(&blockers, 60);
    for (int i = 0; i < 60; i++)
        CHECK_EQ(go(blocker, (void *)(intptr_t)(i % 6)), 0);
    go_wg_wait(&blockers);

    fairness();
    streams_stress();
    pingpong();
    close_stress();
    timeout_race();
    printf("ok\n");
    return 0;
}
