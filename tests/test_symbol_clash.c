/*
 * test_symbol_clash.c - a program may use any name outside go_/GO_ for
 * itself: it defines, with types of its own, names the runtime uses
 * internally (sched, netpoll, allp, nanotime and a few more), links the
 * installed static archive (libgoroutine.a), and checks that both its own
 * definitions and the runtime's work: the program's functions and
 * variables are the ones it calls, while goroutines, channels, timers and
 * the netpoller still run on the runtime's.
 *
 * Against an archive that left those names global this program does not
 * link ("multiple definition of `sched'"); that failure is the test.
 */
#include "test_util.h"

#include <sys/socket.h>

/* The program's own, deliberately unlike the runtime's. */
int sched = 7;
long allp[4] = {1, 2, 3, 4};
int netpoll_calls;
int netpoll(int x)
{
    netpoll_calls++;
    return x * 3;
}
double nanotime(void)
{
    return 42.5;
}
int futex_wait(int a)
{
    return a + 1;
}
const char *debug_fatal = "mine";
int timer_start, sema_acquire, stack_init, mctx_make, rt_init, proc_init;

static go_wg wg = GO_WG_INIT;

static void worker(void *arg)
{
    go_chan *c = arg;
    for (int i = 0; i < 1000; i++) {
        go_chan_send(c, &i);
        if (i % 100 == 0)
            go_sleep(10000); /* timers */
    }
    go_wg_done(&wg);
}

/* The netpoller: a goroutine blocked reading a socket pair. */
static void reader(void *arg)
{
    int fd = *(int *)arg;
    char b = 0;
    CHECK_EQ(go_read(fd, &b, 1), 1);
    CHECK_EQ(b, 'x');
    go_wg_done(&wg);
}

int main(void)
{
    go_chan *c = go_chan_make(sizeof(int), 0);
    CHECK(c != NULL);
    int sv[2];
    CHECK_EQ(socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0, sv), 0);
    go_wg_add(&wg, 5);
    for (int i = 0; i < 4; i++)
        CHECK_EQ(go(worker, c), 0);
    CHECK_EQ(go(reader, &sv[0]), 0);
    go_sleep(1000000);
    CHECK_EQ(go_write(sv[1], "x", 1), 1);
    long sum = 0;
    for (int i = 0; i < 4000; i++) {
        int v;
        CHECK(go_chan_recv(c, &v));
        sum += v;
    }
    go_wg_wait(&wg);
    CHECK_EQ(sum, 4L * 999 * 1000 / 2);
    go_chan_free(c);
    close(sv[0]);
    close(sv[1]);

    /* The program's definitions are untouched and its own. */
    CHECK_EQ(sched, 7);
    CHECK_EQ(allp[3], 4);
    CHECK_EQ(netpoll(5), 15);
    CHECK_EQ(netpoll_calls, 1);
    CHECK(nanotime() == 42.5);
    CHECK_EQ(futex_wait(1), 2);
    CHECK(strcmp(debug_fatal, "mine") == 0);
    CHECK_EQ(timer_start + sema_acquire + stack_init + mctx_make + rt_init + proc_init, 0);
    printf("test_symbol_clash: ok\n");
    return 0;
}
