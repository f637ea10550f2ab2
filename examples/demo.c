/*
 * demo.c - libgoroutine's claims, live (`make demo`):
 *
 *   1. goroutines started and finished: time per goroutine;
 *   2. goroutines parked at once: memory per goroutine;
 *   3. a pipeline of goroutines talking over channels;
 *   4. GOMAXPROCS at work: one parallel computation at 1 P, then at all.
 *
 * Steps 1 and 2 use 100,000 goroutines, which keeps the whole demo well
 * under 1 GiB; `demo --million` (make demo MILLION=1) uses a million, as
 * Go's own demonstrations do, and needs a few GiB: every parked goroutine
 * keeps its stack's touched pages. After each step the demo prints the
 * process's peak resident memory so far (getrusage) and the current one.
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

static int n_goroutines = 100000; /* steps 1 and 2; --million: 1,000,000 */

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

/* Peak resident memory so far and now, after a step. */
static void memory(void)
{
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    printf("   memory: peak %.0f MiB so far, %.0f MiB now\n\n", ru.ru_maxrss / 1024.0,
           rss_kb() / 1024.0);
}

/* ---- 1. goroutines started and finished ------------------------------- */

static go_wg done;

static void tiny(void *arg)
{
    (void)arg;
    go_wg_done(&done);
}

static void million_spawned(void)
{
    const int n = n_goroutines;
    int64_t t0 = go_now();
    go_wg_add(&done, n);
    for (int i = 0; i < n; i++)
        if (go(tiny, NULL) != 0) {
            fprintf(stderr, "go failed\n");
            exit(1);
        }
    go_wg_wait(&done);
    double ms = ms_since(t0);
    printf("   %d goroutines started and finished in %.0f ms: %.0f ns each\n", n, ms,
           ms * 1e6 / n);
}

/* ---- 2. goroutines parked at once ---------------------------------------- */

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
    const int n = n_goroutines;
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
    printf("   %d goroutines parked at once (%d alive) after %.0f ms: "
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
    printf("   pipeline generate -> square -> sum over channels: %ld values, "
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
    printf("   parallel fib(34) with goroutines: GOMAXPROCS=1 %.0f ms, GOMAXPROCS=%d %.0f ms: "
           "%.2fx faster (%s)\n",
           t1, all, tn, t1 / tn, r1 == rn && r1 == 5702887 ? "both correct" : "WRONG");
    go_maxprocs(all);
}

int main(int argc, char **argv)
{
    setvbuf(stdout, NULL, _IOLBF, 0); /* each step as it ends, even through a pipe */
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--million") == 0) {
            n_goroutines = 1000000;
        } else {
            fprintf(stderr, "usage: %s [--million]\n"
                            "  --million  steps 1 and 2 with 1,000,000 goroutines instead of "
                            "100,000 (a few GiB of memory)\n",
                    argv[0]);
            return 2;
        }
    }
    printf("libgoroutine demo: GOMAXPROCS=%d on %ld CPUs, %d goroutines in steps 1 and 2%s\n\n",
           go_maxprocs(0), sysconf(_SC_NPROCESSORS_ONLN), n_goroutines,
           n_goroutines < 1000000 ? " (--million for a million)" : "");

    printf("1. Spawning: main starts %d goroutines that each just finish, and waits.\n"
           "   Shows what a goroutine's whole life costs: create, schedule, run, exit.\n",
           n_goroutines);
    million_spawned();
    memory();

    printf("2. Parking: %d goroutines all blocked at once on a WaitGroup, then released.\n"
           "   Shows what a blocked goroutine costs in memory (its stack's touched pages\n"
           "   and its descriptor).\n",
           n_goroutines);
    million_parked();
    memory();

    printf("3. Channels: generate -> square -> main over two channels, 100,000 values.\n"
           "   Shows goroutines handing values to each other and to a plain thread.\n");
    pipeline();
    memory();

    printf("4. Parallelism: fib(34) split into goroutines, at GOMAXPROCS=1 and at all CPUs.\n"
           "   Shows goroutines spread over threads: the speedup is bounded by the cores.\n");
    maxprocs();
    memory();
    return 0;
}
