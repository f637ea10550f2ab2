/*
 * test_select_nochan.c - timed selects that have no channel to wait on:
 * go_select_timeout with no cases or only NULL-channel cases, and
 * go_chan_send_timeout / go_chan_recv_timeout on a NULL channel. Each can
 * only time out.
 *
 * Such a select parks with no channel lock held, so nothing keeps its
 * frame alive once it has published that it is parked: the timer, on
 * another M, may ready it at once, and it returns. The park's unlock
 * function must not read the frame after that point. Each goroutine
 * scribbles over the stack below it after every call, so that a late
 * read finds garbage (and ASan, which this test is meant to run under,
 * reports a use after scope).
 */
#include "test_util.h"

#define WORKERS 4
#define ITERS 200000

static go_wg done;
static long timeouts[WORKERS];

/* Overwrite the stack that the call just used. */
static __attribute__((noinline)) void scribble(void)
{
    volatile char junk[2048];
    for (size_t i = 0; i < sizeof junk; i += 8)
        junk[i] = (char)0xA5;
    (void)junk[0];
}

static void worker(void *arg)
{
    long id = (long)(intptr_t)arg, n = 0;
    int v = 7;
    bool ok = true;
    for (int i = 0; i < ITERS; i++) {
        int rc;
        switch (i % 4) {
        case 0:
            rc = go_select_timeout(NULL, 0, 1);
            break;
        case 1: {
            go_select_case cs[2] = {GO_RECV(NULL, &v, &ok), GO_SEND(NULL, &v)};
            rc = go_select_timeout(cs, 2, 1 + i % 3);
            break;
        }
        case 2:
            rc = go_chan_send_timeout(NULL, &v, 1);
            break;
        default:
            rc = go_chan_recv_timeout(NULL, &v, &ok, 1);
            break;
        }
        CHECK_EQ(rc, -ETIMEDOUT);
        CHECK_EQ(v, 7);
        CHECK(ok);
        n++;
        scribble();
    }
    timeouts[id] = n;
    go_wg_done(&done);
}

int main(void)
{
    go_wg_add(&done, WORKERS);
    for (long i = 0; i < WORKERS; i++)
        CHECK_EQ(go(worker, (void *)(intptr_t)i), 0);
    go_wg_wait(&done);
    for (int i = 0; i < WORKERS; i++)
        CHECK_EQ(timeouts[i], ITERS);
    printf("test_select_nochan: %d goroutines x %d timed waits on no channel\n", WORKERS,
           ITERS);
    return 0;
}
