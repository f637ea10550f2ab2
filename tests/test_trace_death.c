/*
 * test_trace_death - the execution trace (GOROUTINE_TRACE=FILE) is
 * finished when the process dies, not only at a normal exit.
 *
 * The process re-executes itself with GOROUTINE_TRACE set, once per way
 * of dying. The child's workload is known: main spawns NWORKERS workers;
 * each blocks receiving from an unbuffered channel (main hands each value
 * over with a non-blocking send, which succeeds only once a receiver is
 * parked), sleeps, sends its result back, and then blocks for good
 * receiving from a channel nobody sends on. Once main has every result,
 * the child dies:
 *
 *   deadlock  main blocks too: "fatal error: all goroutines are asleep -
 *             deadlock!" (found by the scheduler, with its lock just
 *             dropped), SIGABRT;
 *   misuse    go_mutex_unlock of an unlocked mutex: "fatal error: sync:
 *             unlock of unlocked mutex", SIGABRT;
 *   overflow  a goroutine recurses without end: "fatal error: stack
 *             overflow", reported from the SIGSEGV handler on its
 *             alternate stack, SIGABRT;
 *   sigquit   the process sends itself SIGQUIT: "SIGQUIT: quit", the
 *             dump, exit status 2 (finished from the signal handler).
 *
 * The parent checks the exit status and Go's message on stderr, then the
 * trace: strict JSON, balanced (complete slices with dur >= 0, no two
 * overlapping on one track, every track named), no drops; exactly the
 * workers, main (and the overflowing goroutine) spawned, and each of them
 * ran; every worker was seen blocked receiving and sleeping; in the
 * deadlock case also the final blocks of every worker and of main, which
 * happen just before the death; and one last instant, named after the
 * death ("fatal error", "SIGQUIT"), carrying its message, later than
 * every other event.
 *
 * The deadlock case is skipped under sanitizers (their helper threads
 * make deadlock detection rightly hold back: see test_deadlock.c), the
 * overflow under ASan (its own SIGSEGV handling reports it), and SIGQUIT
 * under TSan (which never delivered it to the runtime's handler here,
 * whether sent to the process, raised on a goroutine, or raised on a
 * plain thread calling usleep).
 */
#include "test_util.h"
#include "trace_json.h"

#include <signal.h>
#include <stdint.h>

#define NWORKERS 20

/* ---- the traced child ------------------------------------------------------ */

static go_chan *in, *out, *never;

static void worker(void *arg)
{
    (void)arg;
    long v;
    CHECK(go_chan_recv(in, &v));
    go_sleep(1000000);
    v *= 2;
    go_chan_send(out, &v);
    go_chan_recv(never, &v); /* blocked for good */
}


static int child_main(int argc, char **argv)
{
    const char *mode = argc > 2 ? argv[2] : "";
    in = go_chan_make(sizeof(long), 0);
    out = go_chan_make(sizeof(long), 0);
    never = go_chan_make(sizeof(long), 0);
    for (int i = 0; i < NWORKERS; i++)
        CHECK_EQ(go(worker, NULL), 0);
    trace_feed(in, out, NWORKERS);
    long v;
    if (strcmp(mode, "deadlock") == 0) {
        go_chan_recv(never, &v);
    } else if (strcmp(mode, "misuse") == 0) {
        go_mutex m = GO_MUTEX_INIT;
        go_mutex_unlock(&m);
    } else if (strcmp(mode, "overflow") == 0) {
        go_attr a = {.stack_size = 64 * 1024};
        CHECK_EQ(go_spawn(&a, test_overflower, NULL), 0);
        for (;;)
            go_sleep(1000000000);
    } else if (strcmp(mode, "sigquit") == 0) {
        kill(getpid(), SIGQUIT); /* to whichever thread takes it */
        for (;;)
            go_sleep(1000000000);
    }
    fprintf(stderr, "child survived (%s)\n", mode);
    return 0;
}

/* ---- checking the trace ----------------------------------------------------- */

struct death {
    const char *mode;
    const char *stderr_has; /* Go's words on stderr */
    int exit_status;        /* -1: killed by SIGABRT */
    const char *last_name;  /* the trace's last instant */
    const char *last_msg;
    int extra_spawns;       /* goroutines besides main and the workers */
};

static void check_trace(const char *path, const struct death *d)
{
    long size;
    char *all = trace_read(path, &size);
    if (!all)
        fprintf(stderr, "%s: the trace file is empty\n", d->mode);
    CHECK(all != NULL);

    trace_reset();
    int nlast = 0;
    double max_ts = -1, last_ts = -1;
    bool dropped_seen = false;
    for (char *line = strtok(all, "\n"); line; line = strtok(NULL, "\n")) {
        struct trace_ev ev;
        int kind = trace_line(line, &ev, &dropped_seen);
        if (kind == 'X' && ev.ts + ev.dur > max_ts)
            max_ts = ev.ts + ev.dur;
        if (kind != 'i')
            continue;
        const char *name = ev.name;
        double ts = ev.ts;
        if (strcmp(name, d->last_name) == 0) {
            char msg[128];
            CHECK(str_field(line, "message", msg, sizeof msg));
            if (strcmp(msg, d->last_msg) != 0)
                fprintf(stderr, "%s: last instant says \"%s\"\n", d->mode, msg);
            CHECK(strcmp(msg, d->last_msg) == 0);
            last_ts = ts;
            nlast++;
            continue;
        }
        if (ts > max_ts)
            max_ts = ts;
        trace_g_instant(line, name);
    }
    free(all);

    CHECK(dropped_seen);
    CHECK_EQ(nlast, 1);
    CHECK(last_ts >= max_ts - 0.002); /* printed to 1 ns: allow rounding */
    CHECK_EQ(nspawn, NWORKERS + 1 + d->extra_spawns);
    for (int i = 0; i < MAXG; i++) {
        if (ran[i])
            CHECK(spawned[i]);
        if (spawned[i])
            CHECK(ran[i]);
        /* A goroutine blocked at the death has one block more. */
        CHECK(blocks[i] == unblocks[i] || blocks[i] == unblocks[i] + 1);
    }
    CHECK(nsleep >= NWORKERS);
    if (strcmp(d->mode, "deadlock") == 0) {
        /* Each worker's two receives and main's last one: all recorded
         * just before the scheduler found the deadlock. */
        CHECK(nrecv >= 2 * NWORKERS + 1);
        int stuck = 0;
        for (int i = 0; i < MAXG; i++)
            stuck += spawned[i] && blocks[i] == unblocks[i] + 1;
        CHECK_EQ(stuck, NWORKERS + 1);
    } else {
        CHECK(nrecv >= NWORKERS);
    }
    for (int i = 0; i < nused; i++)
        CHECK(has_tid(named_tids, nnamed, used_tids[i]));
    qsort(slices, (size_t)nslices, sizeof slices[0], by_tid_ts);
    for (int i = 1; i < nslices; i++)
        if (slices[i].tid == slices[i - 1].tid)
            CHECK(slices[i - 1].ts + slices[i - 1].dur <= slices[i].ts + 0.002);
    printf("%s: trace of %ld bytes: %d slices, %d spawns, %d receive blocks, %d sleeps, "
           "%d tracks, last instant \"%s\"\n",
           d->mode, size, nslices, nspawn, nrecv, nsleep, nnamed, d->last_name);
}

static char errbuf[1 << 20];

static void run_death(const struct death *d)
{
    char path[] = "/tmp/test_trace_death.XXXXXX";
    int fd = mkstemp(path);
    CHECK(fd >= 0);
    close(fd);
    int p[2];
    CHECK(pipe(p) == 0);
    fflush(NULL);
    pid_t pid = fork();
    CHECK(pid >= 0);
    if (pid == 0) {
        close(p[0]);
        dup2(p[1], 2);
        setenv("GOROUTINE_TRACE", path, 1);
        execl("/proc/self/exe", "test_trace_death", "child", d->mode, (char *)NULL);
        _exit(127);
    }
    close(p[1]);
    size_t n = 0;
    ssize_t r;
    while ((r = read(p[0], errbuf + n, sizeof errbuf - 1 - n)) > 0)
        n += (size_t)r;
    errbuf[n] = 0;
    close(p[0]);
    int st;
    CHECK_EQ(waitpid(pid, &st, 0), pid);
    bool status_ok = d->exit_status < 0 ? WIFSIGNALED(st) && WTERMSIG(st) == SIGABRT
                                        : WIFEXITED(st) && WEXITSTATUS(st) == d->exit_status;
    if (!status_ok || !strstr(errbuf, d->stderr_has)) {
        fprintf(stderr, "%s: wanted %s and \"%s\"; child %s %d; stderr:\n%s\n", d->mode,
                d->exit_status < 0 ? "SIGABRT" : "exit status 2", d->stderr_has,
                WIFSIGNALED(st) ? "signal" : "exit", WIFSIGNALED(st) ? WTERMSIG(st) : WEXITSTATUS(st),
                errbuf);
        CHECK(0);
    }
    check_trace(path, d);
    unlink(path);
}

int main(int argc, char **argv)
{
    if (argc > 1 && strcmp(argv[1], "child") == 0)
        return go_main(child_main, argc, argv);
    static const struct death deaths[] = {
        {"deadlock", "fatal error: all goroutines are asleep - deadlock!\n", -1, "fatal error",
         "all goroutines are asleep - deadlock!", 0},
        {"misuse", "fatal error: sync: unlock of unlocked mutex\n", -1, "fatal error",
         "sync: unlock of unlocked mutex", 0},
        {"overflow", "fatal error: stack overflow\n", -1, "fatal error", "stack overflow", 1},
        {"sigquit", "SIGQUIT: quit\n", 2, "SIGQUIT", "quit", 0},
    };
    for (size_t i = 0; i < sizeof deaths / sizeof deaths[0]; i++) {
        const struct death *d = &deaths[i];
#if defined(GO_TEST_ASAN) || defined(GO_TEST_TSAN)
        if (strcmp(d->mode, "deadlock") == 0) {
            printf("deadlock: skipped under a sanitizer\n");
            continue;
        }
#endif
#ifdef GO_TEST_TSAN
        if (strcmp(d->mode, "sigquit") == 0) {
            printf("sigquit: skipped under TSan\n");
            continue;
        }
#endif
#ifdef GO_TEST_ASAN
        if (strcmp(d->mode, "overflow") == 0) {
            printf("overflow: skipped under ASan\n");
            continue;
        }
#endif
        run_death(d);
    }
    return 0;
}
