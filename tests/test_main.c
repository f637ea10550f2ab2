/*
 * test_main - go_main (Go's main goroutine) and a plain main thread as a
 * consumer of goroutines' results.
 *
 * go_main: fn runs as a goroutine with the caller's argc and argv, its
 * result comes back, a NULL fn is -EINVAL, and fn's stack takes a deep C
 * frame (a C main expects more than a goroutine's default).
 *
 * plain consumer: a worker pool's results are received and summed by a
 * loop in the plain main thread (not through go_main), through a buffered
 * and an unbuffered results channel, and a WaitGroup and a go_mutex
 * shared with the goroutines: every value checked, nothing lost.
 */
#include "test_util.h"

static int seen_argc;
static char **seen_argv;
static int64_t seen_id;

static int real_main(int argc, char **argv)
{
    seen_argc = argc;
    seen_argv = argv;
    seen_id = go_id();
    /* 2 MiB on the stack, far beyond a goroutine's default 256 KiB. */
    volatile char big[2 << 20];
    for (size_t i = 0; i < sizeof big; i += 4096)
        big[i] = (char)i;
    return 42 + big[4096];
}

/* ---- a plain thread consuming a worker pool ------------------------------ */

#define WORKERS 4
#define JOBS 50000

struct pool {
    go_chan *jobs, *results;
    go_wg workers;
    go_mutex mu;
    long locked_sum;
};

static void feeder(void *arg)
{
    struct pool *p = arg;
    for (long i = 1; i <= JOBS; i++)
        go_chan_send(p->jobs, &i);
    go_chan_close(p->jobs);
}

static void worker(void *arg)
{
    struct pool *p = arg;
    long v;
    while (go_chan_recv(p->jobs, &v)) {
        go_mutex_lock(&p->mu);
        p->locked_sum += v;
        go_mutex_unlock(&p->mu);
        long r = 3 * v;
        go_chan_send(p->results, &r);
    }
    go_wg_done(&p->workers);
}

static void closer(void *arg)
{
    struct pool *p = arg;
    go_wg_wait(&p->workers);
    go_chan_close(p->results);
}

static void consume(size_t cap)
{
    struct pool p = {.workers = GO_WG_INIT, .mu = GO_MUTEX_INIT};
    p.jobs = go_chan_make(sizeof(long), 16);
    p.results = go_chan_make(sizeof(long), cap);
    CHECK(p.jobs && p.results);
    go_wg_add(&p.workers, WORKERS);
    CHECK_EQ(go(feeder, &p), 0);
    for (int i = 0; i < WORKERS; i++)
        CHECK_EQ(go(worker, &p), 0);
    CHECK_EQ(go(closer, &p), 0);
    static char seen[JOBS + 1];
    memset(seen, 0, sizeof seen);
    long v, got = 0;
    while (go_chan_recv(p.results, &v)) {
        CHECK(v % 3 == 0 && v / 3 >= 1 && v / 3 <= JOBS);
        CHECK(!seen[v / 3]);
        seen[v / 3] = 1;
        got++;
        if (got % 1000 == 0) { /* the mutex from the plain thread too */
            go_mutex_lock(&p.mu);
            CHECK(p.locked_sum >= got);
            go_mutex_unlock(&p.mu);
        }
    }
    CHECK_EQ(got, JOBS);
    go_mutex_lock(&p.mu);
    CHECK_EQ(p.locked_sum, (long)JOBS * (JOBS + 1) / 2);
    go_mutex_unlock(&p.mu);
    go_chan_free(p.jobs);
    go_chan_free(p.results);
}

int main(int argc, char **argv)
{
    (void)argc;
    char *args[] = {argv[0], "one", "two", NULL};
    CHECK_EQ(go_main(real_main, 3, args), 42);
    CHECK_EQ(seen_argc, 3);
    CHECK(seen_argv == args && strcmp(seen_argv[2], "two") == 0);
    CHECK(seen_id > 0);
    CHECK_EQ(go_main(NULL, 0, NULL), -EINVAL);

    consume(64);
    consume(0);
    printf("ok\n");
    return 0;
}
