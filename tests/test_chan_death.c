/*
 * test_chan_death.c - the fatal errors of channels and select, each in a
 * child process, checked by Go's exact message:
 *
 *   panic: close of nil channel
 *   panic: close of closed channel
 *   panic: send on closed channel        (send, try-send, timed send, select
 *                                          send; and a sender blocked when
 *                                          the channel is closed, goroutine
 *                                          or plain thread, plain or select)
 *   fatal error: free of channel with blocked goroutines
 *   fatal error: all goroutines are asleep - deadlock!   (nil channels and
 *                                          select with no cases block for ever)
 *
 * Every expect_death() runs before this process starts the runtime, so
 * each child starts a fresh one.
 */
#include "test_util.h"
#include "../src/testhooks.h"

#include <pthread.h>


static void wait_senders(go_chan *c, size_t n)
{
    for (;;) {
        size_t s;
        chan_count_waiters(c, &s, NULL);
        if (s >= n)
            return;
        go_yield();
    }
}

static void close_nil(void *arg)
{
    (void)arg;
    go_chan_close(NULL);
}

static void close_closed(void *arg)
{
    size_t cap = (size_t)arg;
    go_chan *c = go_chan_make(sizeof(int), cap);
    go_chan_close(c);
    go_chan_close(c);
}

/* The ways to send; arg selects one. */
enum send_way { S_SEND, S_TRY, S_TIMED, S_TIMED0, S_SELECT, S_SELECT_TRY, S_SELECT_TIMED, S_NWAYS };

static void send_way(go_chan *c, int way)
{
    int v = 1;
    go_chan *other = go_chan_make(sizeof(int), 0);
    go_select_case sc[2] = {GO_RECV(other, NULL, NULL), GO_SEND(c, &v)};
    switch (way) {
    case S_SEND:
        go_chan_send(c, &v);
        break;
    case S_TRY:
        go_chan_try_send(c, &v);
        break;
    case S_TIMED:
        go_chan_send_timeout(c, &v, 1000000000);
        break;
    case S_TIMED0:
        go_chan_send_timeout(c, &v, 0);
        break;
    case S_SELECT:
        go_select(sc, 2);
        break;
    case S_SELECT_TRY:
        go_select_try(sc, 2);
        break;
    case S_SELECT_TIMED:
        go_select_timeout(sc, 2, 1000000000);
        break;
    }
}

static void send_on_closed(void *arg)
{
    int way = (int)(intptr_t)arg;
    go_chan *c = go_chan_make(sizeof(int), (size_t)(way % 2)); /* cap 0 or 1 */
    go_chan_close(c);
    send_way(c, way);
}

/* A sender blocked on a channel that gets closed wakes up and panics. */
struct blocked {
    go_chan *c;
    int way;
};

static void blocked_sender(void *arg)
{
    struct blocked *b = arg;
    send_way(b->c, b->way);
}

static void *blocked_sender_thread(void *arg)
{
    blocked_sender(arg);
    return NULL;
}

static void close_blocked_sender(void *arg)
{
    int how = (int)(intptr_t)arg;
    static struct blocked b;
    b.c = go_chan_make(sizeof(int), 1);
    int x = 0;
    go_chan_send(b.c, &x); /* full */
    b.way = (int[]){S_SEND, S_TIMED, S_SELECT, S_SELECT_TIMED}[how % 4];
    if (how < 4) {
        go(blocked_sender, &b);
    } else {
        pthread_t th;
        pthread_create(&th, NULL, blocked_sender_thread, &b);
    }
    wait_senders(b.c, 1);
    go_chan_close(b.c);
    /* The sender dies; we must not exit first (but do give up, and so
     * fail the test, if it does not). */
    for (int64_t t0 = go_now(); go_now() - t0 < 10 * 1000000000LL;)
        go_yield();
}

static void blocked_recv(void *arg)
{
    go_chan_recv(arg, NULL);
}

static void free_with_waiters(void *arg)
{
    int dir = (int)(intptr_t)arg;
    go_chan *c = go_chan_make(sizeof(int), 0);
    if (dir == 0) {
        go(blocked_recv, c);
        for (;;) {
            size_t r;
            chan_count_waiters(c, NULL, &r);
            if (r)
                break;
            go_yield();
        }
    } else {
        static struct blocked b;
        b.c = c;
        b.way = S_SELECT;
        go(blocked_sender, &b);
        wait_senders(c, 1);
    }
    go_chan_free(c);
}

#ifndef GO_TEST_TSAN
static void nil_forever(void *arg)
{
    int what = (int)(intptr_t)arg;
    int v = 0;
    go_select_case sc[2] = {GO_RECV(NULL, &v, NULL), GO_SEND(NULL, &v)};
    switch (what) {
    case 0:
        go_chan_recv(NULL, &v);
        break;
    case 1:
        go_chan_send(NULL, &v);
        break;
    case 2:
        go_select(NULL, 0);
        break;
    case 3:
        go_select(sc, 2);
        break;
    }
}

/* The same from a goroutine while main waits for it. */
static go_wg nil_wg;

static void nil_forever_g(void *arg)
{
    nil_forever(arg);
    go_wg_done(&nil_wg);
}

static void nil_forever_in_goroutine(void *arg)
{
    go_wg_add(&nil_wg, 1);
    go(nil_forever_g, arg);
    go_wg_wait(&nil_wg);
}
#endif

int main(void)
{
    int fails = 0;
#define EXPECT(fn, arg, msg)                                                                       \
    do {                                                                                           \
        if (!expect_death(fn, (void *)(intptr_t)(arg), msg)) {                                     \
            fprintf(stderr, "FAILED: %s(%d)\n", #fn, (int)(intptr_t)(arg));                        \
            fails++;                                                                               \
        }                                                                                          \
    } while (0)

    EXPECT(close_nil, 0, "panic: close of nil channel");
    EXPECT(close_closed, 0, "panic: close of closed channel");
    EXPECT(close_closed, 3, "panic: close of closed channel");
    for (int way = 0; way < S_NWAYS; way++)
        EXPECT(send_on_closed, way, "panic: send on closed channel");
    for (int how = 0; how < 8; how++)
        EXPECT(close_blocked_sender, how, "panic: send on closed channel");
    EXPECT(free_with_waiters, 0, "fatal error: free of channel with blocked goroutines");
    EXPECT(free_with_waiters, 1, "fatal error: free of channel with blocked goroutines");
#ifndef GO_TEST_TSAN
    /* Deadlock reports: not under TSan, whose helper thread makes the
     * detector (rightly) assume someone might still wake us (see
     * test_deadlock.c). */
    for (int what = 0; what < 4; what++) {
        EXPECT(nil_forever, what, "fatal error: all goroutines are asleep - deadlock!");
        EXPECT(nil_forever_in_goroutine, what,
               "fatal error: all goroutines are asleep - deadlock!");
    }
    /* The dump names what the goroutine waits for. */
    EXPECT(nil_forever_in_goroutine, 0, "[chan receive (nil chan)]");
    EXPECT(nil_forever_in_goroutine, 1, "[chan send (nil chan)]");
    EXPECT(nil_forever_in_goroutine, 2, "[select (no cases)]");
#endif
    if (fails) {
        fprintf(stderr, "%d death tests failed\n", fails);
        return 1;
    }
    printf("test_chan_death: ok\n");
    return 0;
}
