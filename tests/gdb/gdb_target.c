/*
 * gdb_target.c - a program for test_gdb.sh: goroutines parked in known
 * states, each in its own function, spawned by one goroutine; prints
 * "G <id> <function>" for each and "READY", then waits to be inspected.
 */
#include <goroutine.h>

#include <stdatomic.h>
#include <stdio.h>
#include <unistd.h>

static go_chan *c_recv, *c_send, *c_sel;
static go_mutex mu;
static go_wg never;
static atomic_int nready;

#define BLOCKER(fn, body)                        \
    __attribute__((noinline)) static void fn(void *a) \
    {                                            \
        (void)a;                                 \
        atomic_fetch_add(&nready, 1);            \
        body;                                    \
    }

BLOCKER(gdb_in_recv, { int v; go_chan_recv(c_recv, &v); })
BLOCKER(gdb_in_send, { int v = 1; go_chan_send(c_send, &v); })
BLOCKER(gdb_in_select, {
    int v;
    go_select_case cs[1] = {GO_RECV(c_sel, &v, NULL)};
    go_select(cs, 1);
})
BLOCKER(gdb_in_sleep, { go_sleep(3600LL * 1000000000LL); })
BLOCKER(gdb_in_mutex, { go_mutex_lock(&mu); })
BLOCKER(gdb_in_wg, { go_wg_wait(&never); })

static go_func fns[] = {gdb_in_recv, gdb_in_send, gdb_in_select, gdb_in_sleep, gdb_in_mutex,
                        gdb_in_wg};
static const char *names[] = {"gdb_in_recv", "gdb_in_send", "gdb_in_select", "gdb_in_sleep",
                              "gdb_in_mutex", "gdb_in_wg"};
#define NB (int)(sizeof fns / sizeof fns[0])
static go_chan *ids;

__attribute__((noinline)) static void gdb_spawner(void *a)
{
    (void)a;
    for (int i = 0; i < NB; i++) {
        go(fns[i], NULL);
    }
    int64_t me = go_id();
    go_chan_send(ids, &me);
}

int main(void)
{
    c_recv = go_chan_make(sizeof(int), 0);
    c_send = go_chan_make(sizeof(int), 0);
    c_sel = go_chan_make(sizeof(int), 0);
    ids = go_chan_make(sizeof(int64_t), 1);
    go_wg_add(&never, 1);
    go_mutex_lock(&mu);
    go(gdb_spawner, NULL);
    int64_t spawner;
    go_chan_recv(ids, &spawner);
    while (atomic_load(&nready) < NB)
        usleep(1000);
    /* Wait until all are parked: go_leaks counts the blocked ones. */
    FILE *null = fopen("/dev/null", "w");
    while (go_leaks(fileno(null)) < NB)
        usleep(1000);
    /* Goroutine ids are spawner + 1.. in spawn order (one P's id batch is
     * not guaranteed, so ask the dump instead): print them from go_leaks. */
    printf("SPAWNER %lld\n", (long long)spawner);
    for (int i = 0; i < NB; i++)
        printf("F %s\n", names[i]);
    printf("READY\n");
    fflush(stdout);
    for (;;)
        pause();
}
