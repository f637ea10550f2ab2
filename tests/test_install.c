/*
 * test_install.c - the program tests/install/test_install.sh builds against
 * an installed libgoroutine (pkg-config, static and shared; CMake
 * find_package). It only uses the public header, must compile cleanly as
 * strict C99 with warnings as errors, and checks that what it ran is
 * really there: goroutines, a WaitGroup, a channel, go_copy.
 */
#include <goroutine.h>

#include <stdint.h>
#include <stdio.h>

struct job {
    int base;
    go_chan *results;
};

static go_wg wg = GO_WG_INIT;

static void worker(void *arg)
{
    const struct job *j = arg;
    int i;
    for (i = 0; i < 10; i++) {
        int v = j->base + i;
        go_chan_send(j->results, &v);
        go_yield();
    }
    go_wg_done(&wg);
}

static void closer(void *arg)
{
    go_wg_wait(&wg);
    go_chan_close((go_chan *)arg);
}

int main(void)
{
    go_chan *results = go_chan_make(sizeof(int), 4);
    long sum = 0, n = 0;
    int v, i;
    if (!results)
        return 2;
    go_wg_add(&wg, 100);
    for (i = 0; i < 100; i++) {
        struct job j;
        j.base = i * 10;
        j.results = results;
        if (go_copy(worker, &j, sizeof j) != 0)
            return 3;
    }
    if (go(closer, results) != 0)
        return 4;
    while (go_chan_recv(results, &v)) {
        sum += v;
        n++;
    }
    go_chan_free(results);
    /* 0 + 1 + ... + 999 */
    if (n != 1000 || sum != 499500L) {
        fprintf(stderr, "install test: got %ld values summing to %ld\n", n, sum);
        return 1;
    }
    printf("installed libgoroutine %d works: 1000 values from 100 goroutines, "
           "GOMAXPROCS=%d\n",
           GO_VERSION, go_maxprocs(0));
    return 0;
}
