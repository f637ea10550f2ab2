/*
 * test_stats.c - go_stats() counters and GOROUTINE_DEBUG=schedtrace.
 *
 * Counters: a known workload (N goroutines, a ping-pong of K round trips
 * over unbuffered channels, a goroutine with a deep stack) must show at
 * least the events it caused: every goroutine created and, once they are
 * gone, exited; a park and a wake-up per round trip; the deep stack's
 * high-water mark; counters never going back. A goroutine spinning
 * without runtime calls is preempted (counted), and one sitting in a
 * system call loses its P to sysmon (a hand-off), each waited for by
 * polling the counter, never by time.
 *
 * schedtrace: this process re-executes itself with GOROUTINE_DEBUG set
 * and its stderr on a pipe that it reads itself, until it has seen three
 * SCHED lines, and checks each against Go's layout (and, with
 * scheddetail=1, the P, M and G lines).
 */
#include "test_util.h"

#include <regex.h>
#include <stdatomic.h>

#define N 200
#define K 20000

static go_wg wg;
static go_chan *ping, *pong;

static void nothing(void *a)
{
    (void)a;
    go_wg_done(&wg);
}

static void ponger(void *a)
{
    (void)a;
    int v;
    while (go_chan_recv(ping, &v))
        go_chan_send(pong, &v);
    go_wg_done(&wg);
}

static void pinger(void *a)
{
    (void)a;
    for (int i = 0; i < K; i++) {
        int v = i, r;
        go_chan_send(ping, &v);
        CHECK(go_chan_recv(pong, &r) && r == i);
    }
    go_chan_close(ping);
    go_wg_done(&wg);
}

static atomic_int deep_parked;
static go_chan *deep_release;

__attribute__((noinline)) static void deep(void *a)
{
    (void)a;
    volatile char big[96 * 1024];
    for (size_t i = 0; i < sizeof big; i += 512)
        big[i] = 1;
    atomic_store(&deep_parked, 1);
    int v;
    go_chan_recv(deep_release, &v);
    (void)big[0];
    go_wg_done(&wg);
}

static void check_monotonic(const go_stats_t *a, const go_stats_t *b)
{
    CHECK(b->created >= a->created);
    CHECK(b->exited >= a->exited);
    CHECK(b->switches >= a->switches);
    CHECK(b->parks >= a->parks);
    CHECK(b->wakeups >= a->wakeups);
    CHECK(b->steals >= a->steals);
    CHECK(b->handoffs >= a->handoffs);
    CHECK(b->preempt_coop >= a->preempt_coop);
    CHECK(b->preempt_signal >= a->preempt_signal);
}

static atomic_int stop_spin;

static void spinner(void *a)
{
    (void)a;
    volatile uint64_t x = 0;
    while (!atomic_load(&stop_spin))
        x++;
    go_wg_done(&wg);
}

static void syscaller(void *a)
{
    (void)a;
    go_stats_t s;
    /* sysmon takes a P from a call at its next look when nothing else
     * could run the queue, but only after the call has lasted 10 ms while
     * Ps are idle (as Go): each call here lasts longer than that. */
    do {
        go_syscall_enter();
        usleep(20000);
        go_syscall_exit();
        CHECK(go_stats(&s) == 0);
    } while (s.handoffs == 0);
    go_wg_done(&wg);
}

static void test_counters(void)
{
    CHECK(go_stats(NULL) == -EINVAL);
    go_stats_t s0, s1, s2;
    CHECK(go_stats(&s0) == 0);

    go_wg_add(&wg, N);
    for (int i = 0; i < N; i++)
        CHECK(go(nothing, NULL) == 0);
    go_wg_wait(&wg);

    ping = go_chan_make(sizeof(int), 0);
    pong = go_chan_make(sizeof(int), 0);
    go_wg_add(&wg, 2);
    CHECK(go(ponger, NULL) == 0);
    CHECK(go(pinger, NULL) == 0);
    go_wg_wait(&wg);

    deep_release = go_chan_make(sizeof(int), 0);
    go_wg_add(&wg, 1);
    CHECK(go(deep, NULL) == 0);
    while (!atomic_load(&deep_parked))
        usleep(1000);
    CHECK(go_stats(&s1) == 0);
    check_monotonic(&s0, &s1);
    CHECK(s1.created - s0.created == N + 3);
    CHECK(s1.stack_max_used >= 96 * 1024);
    CHECK(s1.stack_used >= s1.stack_max_used);
    CHECK(s1.goroutines >= 1);
    /* Two goroutines meet twice per round trip on unbuffered channels:
     * whoever comes first parks, and is woken. */
    CHECK(s1.parks - s0.parks >= 2 * K);
    CHECK(s1.wakeups - s0.wakeups >= 2 * K);
    CHECK(s1.switches - s0.switches >= 2 * K + N);
    CHECK(s1.gomaxprocs >= 1 && s1.idleprocs >= 0 && s1.idleprocs <= s1.gomaxprocs);
    CHECK(s1.threads >= 2);
    int v = 0;
    go_chan_send(deep_release, &v);
    go_wg_wait(&wg);

    /* Everybody gone: exited catches up with created. */
    do {
        CHECK(go_stats(&s2) == 0);
        check_monotonic(&s1, &s2);
    } while (s2.exited != s2.created);
    CHECK(s2.goroutines == 0);

    /* A system call that lasts: sysmon hands its P to another thread. */
    go_wg_add(&wg, 1);
    CHECK(go(syscaller, NULL) == 0);
    go_wg_wait(&wg);
    CHECK(go_stats(&s2) == 0);
    CHECK(s2.handoffs >= 1);

    /* A goroutine that never calls the runtime is preempted by signal
     * (x86-64, not under the sanitizers, not GOROUTINE_PREEMPT=off). */
#if defined(__x86_64__)
    const char *pre = getenv("GOROUTINE_PREEMPT");
    if (!TEST_SANITIZED && !(pre && strcmp(pre, "off") == 0)) {
        go_stats_t before;
        CHECK(go_stats(&before) == 0);
        go_wg_add(&wg, 1);
        CHECK(go(spinner, NULL) == 0);
        do {
            usleep(1000);
            CHECK(go_stats(&s2) == 0);
        } while (s2.preempt_signal == before.preempt_signal);
        atomic_store(&stop_spin, 1);
        go_wg_wait(&wg);
    }
#endif
    printf("counters: created %llu exited %llu switches %llu parks %llu wakeups %llu "
           "steals %llu handoffs %llu preempt %llu+%llu stack max %llu\n",
           (unsigned long long)s2.created, (unsigned long long)s2.exited,
           (unsigned long long)s2.switches, (unsigned long long)s2.parks,
           (unsigned long long)s2.wakeups, (unsigned long long)s2.steals,
           (unsigned long long)s2.handoffs, (unsigned long long)s2.preempt_coop,
           (unsigned long long)s2.preempt_signal, (unsigned long long)s1.stack_max_used);
}

/* ---- schedtrace, in a re-executed child ------------------------------------ */

static const char *const sched_re =
    "^SCHED [0-9]+ms: gomaxprocs=([0-9]+) idleprocs=[0-9]+ threads=[0-9]+ "
    "spinningthreads=[0-9]+ idlethreads=[0-9]+ runqueue=[0-9]+( \\[[0-9]+( [0-9]+)*\\])?$";

static void busy(void *a)
{
    (void)a;
    for (;;) {
        go_yield();
        go_sleep(100000);
    }
}

/* Runs with its stderr on a pipe it reads: returns the exit status. */
static int trace_child(bool detail)
{
    int fds[2];
    CHECK(pipe(fds) == 0);
    int err = dup(2);
    CHECK(err >= 0);
    dup2(fds[1], 2);
    close(fds[1]);
    FILE *errf = fdopen(err, "w");
    for (int i = 0; i < 4; i++)
        CHECK(go(busy, NULL) == 0);
    /* Lines written before the goroutines existed are skipped: up to our
     * marker, and then up to the first SCHED line after it. */
    const char mark[] = "MARK\n";
    CHECK(write(2, mark, sizeof mark - 1) == (ssize_t)(sizeof mark - 1));
    regex_t re;
    CHECK(regcomp(&re, sched_re, REG_EXTENDED) == 0);
    FILE *in = fdopen(fds[0], "r");
    char line[4096];
    int sched_lines = 0, p_lines = 0, m_lines = 0, g_lines = 0, gomaxprocs = -1;
    bool marked = false;
    while (sched_lines < 3 && fgets(line, sizeof line, in)) {
        /* The marker may land inside a line written at the same time. */
        char *mk = strstr(line, "MARK");
        if (mk && !marked) {
            marked = true;
            memmove(mk, mk + 5, strlen(mk + 5) + 1);
            continue;
        }
        if (!marked || (sched_lines == 0 && strncmp(line, "SCHED ", 6) != 0))
            continue;
        line[strcspn(line, "\n")] = 0;
        regmatch_t m[4];
        if (strncmp(line, "SCHED ", 6) == 0) {
            if (regexec(&re, line, 4, m, 0) != 0) {
                fprintf(errf, "bad SCHED line: '%s'\n", line);
                return 1;
            }
            gomaxprocs = atoi(line + m[1].rm_so);
            bool has_list = m[2].rm_so >= 0;
            if (has_list == detail) {
                fprintf(errf, "SCHED line %s a P list: '%s'\n", detail ? "with" : "without", line);
                return 1;
            }
            if (has_list) {
                int n = 1;
                for (const char *c = line + m[2].rm_so; c < line + m[2].rm_eo; c++)
                    n += *c == ' ';
                n--; /* the space before '[' */
                if (n != gomaxprocs) {
                    fprintf(errf, "%d queue lengths for gomaxprocs=%d: '%s'\n", n, gomaxprocs, line);
                    return 1;
                }
            }
            sched_lines++;
        } else if (detail && strncmp(line, "  P", 3) == 0 && strstr(line, ": status=") &&
                   strstr(line, " schedtick=") && strstr(line, " runqsize=")) {
            p_lines++;
        } else if (detail && strncmp(line, "  M", 3) == 0 && strstr(line, ": p=") &&
                   strstr(line, " curg=")) {
            m_lines++;
        } else if (detail && strncmp(line, "  G", 3) == 0 && strstr(line, ": status=")) {
            g_lines++;
        } else {
            fprintf(errf, "unexpected line: '%s'\n", line);
            return 1;
        }
    }
    if (sched_lines < 3)
        return 1;
    /* Every SCHED line but the last is followed by its detail. */
    if (detail && (p_lines < 2 * gomaxprocs || m_lines < 2 || g_lines < 2 * 4)) {
        fprintf(errf, "detail lines: %d P, %d M, %d G\n", p_lines, m_lines, g_lines);
        return 1;
    }
    fprintf(errf, "schedtrace%s: 3 lines in Go's layout\n", detail ? " with scheddetail" : "");
    fflush(errf);
    _exit(0);
}

static void run_trace(const char *self, const char *env)
{
    pid_t pid = fork();
    CHECK(pid >= 0);
    if (pid == 0) {
        setenv("GOROUTINE_DEBUG", env, 1);
        execl(self, self, strstr(env, "scheddetail") ? "detail" : "trace", (char *)NULL);
        _exit(127);
    }
    int st;
    CHECK(waitpid(pid, &st, 0) == pid);
    CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 0);
}

int main(int argc, char **argv)
{
    if (argc > 1)
        return trace_child(strcmp(argv[1], "detail") == 0);
    run_trace("/proc/self/exe", "schedtrace=10");
    run_trace("/proc/self/exe", "schedtrace=10,scheddetail=1");
    test_counters();
    return 0;
}
