/*
 * demo.c - libgoroutine's claims, live (`make demo`):
 *
 *   1. a million goroutines started and finished: time per goroutine;
 *   2. a million goroutines parked at once: memory per goroutine;
 *   3. a pipeline of goroutines talking over channels;
 *   4. GOMAXPROCS at work: one parallel computation at 1 P, then at all.
 */
#include <goroutine.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

static double ms_since(int64_t t0)
{
    return (double)(go_now() - t0) / 1e6;
}

static long rss_kb(void)
{
    /* Current resident set, from /proc/self/statm (pages). */
    long pages = 0, resident = 0;
    FILE *f = fopen("/proc/self/statm", "r");
    if (f) {
        if (fscanf(f, "%ld %ld", &pages, &resident) != 2)
            resident = 0;
        fclose(f);
    }
    return resident * (sysconf(_SC_PAGESIZE) / 1024);
}

/* ---- 1. a million goroutines ------------------------------------------ */

static go_wg done;

static void tiny(void *arg)
{
    (void)arg;
    go_wg_done(&done);
}

static void million_spawned(void)
{
    const int n = 1000000;
    int64_t t0 = go_now();
    go_wg_add(&done, n);
    for (int i = 0; i < n; i++)
        if (go(tiny, NULL) != 0) {
            fprintf(stderr, "go failed\n");
            exit(1);
        }
    go_wg_wait(&done);
    double ms = ms_since(t0);
    printf("1. %d goroutines started and finished in %.0f ms: %.0f ns each\n", n, ms,
           ms * 1e6 / n);
}

/* ---- 2. a million parked ------------------------------------------------ */

static go_wg parked, gate;

static void park_at_gate(void *arg)
{
    (void)arg;
    go_wg_done(&parked);
    go_wg_wait(&gate); /* parks until main opens the gate */
    go_wg_done(&done);
}

static void million_parked(void)
{
    const int n = 1000000;
    long before = rss_kb();
    go_wg_add(&gate, 1);
    go_wg_add(&parked, n);
    go_wg_add(&done, n);
    int64_t t0 = go_now();
    for (int i = 0; i < n; i++)
        if (go(park_at_gate, NULL) != 0) {
            fprintf(stderr, "go failed\n");
            exit(1);
        }
    go_wg_wait(&parked);
    double ms = ms_since(t0);
    long after = rss_kb();
    printf("2. %d goroutines parked at once (%d alive) after %.0f ms: "
           "%.0f bytes of memory each\n",
           n, go_num_goroutine(), ms, (double)(after - before) * 1024 / n);
    go_wg_done(&gate); /* open the gate: all of them finish */
    go_wg_wait(&done);
}

/* ---- 3. a pipeline over channels ------------------------------------------- */

struct stage {
    go_chan *in, *out;
};

static void generate(void *arg)
{
    go_chan *out = arg;
    for (long i = 1; i <= 100000; i++)
        go_chan_send(out, &i);
    go_chan_close(out);
}

static void square(void *arg)
{
    struct stage *s = arg;
    long v;
    while (go_chan_recv(s->in, &v)) {
        v *= v;
        go_chan_send(s->out, &v);
    }
    go_chan_close(s->out);
}

static void pipeline(void)
{
    go_chan *nums = go_chan_make(sizeof(long), 0);
    go_chan *squares = go_chan_make(sizeof(long), 64);
    if (!nums || !squares) {
        perror("go_chan_make");
        exit(1);
    }
    struct stage sq = {nums, squares};
    int64_t t0 = go_now();
    go(generate, nums);
    go_copy(square, &sq, sizeof sq);
    long v, sum = 0, count = 0;
    while (go_chan_recv(squares, &v)) {
        sum += v;
        count++;
    }
    double ms = ms_since(t0);
    long want = 100000L * 100001 * 200001 / 6;
    printf("3. pipeline generate -> square -> sum over channels: %ld values, "
           "sum %ld (%s), %.0f ns per value through two channels\n",
           count, sum, sum == want ? "correct" : "WRONG", ms * 1e6 / (double)count);
    go_chan_free(nums);
    go_chan_free(squares);
}

/* ---- 4. GOMAXPROCS at work ------------------------------------------------- */

struct fib {
    int n, depth;
    long result;
};

/* What a spawned branch needs: copied into the goroutine by go_copy. */
struct job {
    struct fib *f;
    go_wg *wg;
};

static long fib_seq(int n)
{
    return n < 2 ? n : fib_seq(n - 1) + fib_seq(n - 2);
}

static void fib_job(void *arg);

/* One branch in a new goroutine, the other in this one, while shallow. */
static void fib_par(struct fib *f)
{
    if (f->n < 2 || f->depth >= 12) {
        f->result = fib_seq(f->n);
        return;
    }
    struct fib a = {f->n - 1, f->depth + 1, 0}, b = {f->n - 2, f->depth + 1, 0};
    go_wg wg = GO_WG_INIT;
    struct job j = {&a, &wg};
    go_wg_add(&wg, 1);
    if (go_copy(fib_job, &j, sizeof j) != 0) {
        fprintf(stderr, "go_copy failed\n");
        exit(1);
    }
    fib_par(&b);
    go_wg_wait(&wg);
    f->result = a.result + b.result;
}

static void fib_job(void *arg)
{
    struct job *j = arg;
    fib_par(j->f);
    go_wg_done(j->wg);
}

static double time_fib(int procs, long *result)
{
    go_maxprocs(procs);
    struct fib f = {34, 0, 0};
    int64_t t0 = go_now();
    fib_par(&f);
    *result = f.result;
    return ms_since(t0);
}

static void maxprocs(void)
{
    int all = go_maxprocs(0);
    long r1, rn;
    double t1 = time_fib(1, &r1);
    double tn = time_fib(all, &rn);
    printf("4. parallel fib(34) with goroutines: GOMAXPROCS=1 %.0f ms, GOMAXPROCS=%d %.0f ms: "
           "%.2fx faster (%s)\n",
           t1, all, tn, t1 / tn, r1 == rn && r1 == 5702887 ? "both correct" : "WRONG");
    go_maxprocs(all);
}

int main(void)
{
    printf("libgoroutine demo: GOMAXPROCS=%d on %ld CPUs\n\n", go_maxprocs(0),
           sysconf(_SC_NPROCESSORS_ONLN));
    million_spawned();
    million_parked();
    pipeline();
    maxprocs();
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    printf("\npeak memory of this whole demo: %.0f MiB\n", ru.ru_maxrss / 1024.0);
    return 0;
}
