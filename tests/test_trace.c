/*
 * test_trace - the execution trace (GOROUTINE_TRACE=FILE, src/trace.c).
 *
 * The process re-executes itself with GOROUTINE_TRACE set; the child runs
 * a workload whose events are known: main spawns NWORKERS workers; each
 * blocks receiving from an unbuffered channel (main hands each value over
 * with a non-blocking send, which succeeds only once a receiver is
 * parked, so every worker is seen blocked in "chan receive"), sleeps
 * (blocked in "sleep"), makes a system call between go_syscall_enter and
 * go_syscall_exit, and sends its result back. The parent then checks the
 * file: strict JSON (a small parser below), the trace-event structure
 * (every complete slice has dur >= 0, slices on one track never overlap,
 * every track is named), goroutine ids (every goroutine that ran was
 * spawned; spawns: exactly the workers and main), the block reasons, one
 * unblock per block for each goroutine, the system calls, and no drops.
 */
#include "test_util.h"
#include "trace_json.h"

#include <stdint.h>

#define NWORKERS 40

/* ---- the traced child ------------------------------------------------------ */

static go_chan *in, *out;

static void worker(void *arg)
{
    (void)arg;
    long v;
    CHECK(go_chan_recv(in, &v));
    go_sleep(1000000);
    go_syscall_enter();
    usleep(100);
    go_syscall_exit();
    v *= 2;
    go_chan_send(out, &v);
}

static int child_main(int argc, char **argv)
{
    (void)argc;
    (void)argv;
    in = go_chan_make(sizeof(long), 0);
    out = go_chan_make(sizeof(long), 0);
    for (int i = 0; i < NWORKERS; i++)
        CHECK_EQ(go(worker, NULL), 0);
    trace_feed(in, out, NWORKERS);
    /* Every worker's exit is in the trace; main's own may not be (the
     * process may exit before main's goroutine has switched away). */
    WAIT_UNTIL(go_num_goroutine() == 1);
    return 0;
}

static void check_trace(const char *path)
{
    long size;
    char *all = trace_read(path, &size);
    CHECK(all != NULL);

    trace_reset();
    int nsysenter = 0, nsysexit = 0, nexit = 0;
    bool dropped_seen = false;
    for (char *line = strtok(all, "\n"); line; line = strtok(NULL, "\n")) {
        struct trace_ev ev;
        int kind = trace_line(line, &ev, &dropped_seen);
        if (kind != 'i')
            continue;
        const char *name = ev.name;
        if (trace_g_instant(line, name)) {
        } else if (strcmp(name, "syscall enter") == 0) {
            nsysenter++;
        } else if (strcmp(name, "syscall exit") == 0) {
            nsysexit++;
        } else if (strcmp(name, "exit") == 0) {
            nexit++;
        }
    }
    free(all);

    CHECK(dropped_seen);
    /* The workers and main; nothing else spawns in the child. */
    CHECK_EQ(nspawn, NWORKERS + 1);
    CHECK(nexit == NWORKERS || nexit == NWORKERS + 1);
    for (int i = 0; i < MAXG; i++) {
        if (ran[i])
            CHECK(spawned[i]); /* every goroutine that ran was spawned */
        if (spawned[i])
            CHECK(ran[i]);
        if (blocks[i] != unblocks[i])
            fprintf(stderr, "goroutine %d: %d blocks, %d unblocks\n", i, blocks[i], unblocks[i]);
        CHECK_EQ(blocks[i], unblocks[i]);
    }
    CHECK(nrecv >= NWORKERS);
    CHECK(nsleep >= NWORKERS);
    CHECK_EQ(nsysenter, NWORKERS);
    CHECK_EQ(nsysexit, NWORKERS);
    for (int i = 0; i < nused; i++)
        CHECK(has_tid(named_tids, nnamed, used_tids[i]));
    /* One goroutine at a time per M: slices on one track never overlap
     * (ts and dur are printed to 1 ns; allow for their rounding). */
    qsort(slices, (size_t)nslices, sizeof slices[0], by_tid_ts);
    for (int i = 1; i < nslices; i++)
        if (slices[i].tid == slices[i - 1].tid)
            CHECK(slices[i - 1].ts + slices[i - 1].dur <= slices[i].ts + 0.002);
    printf("trace: %d slices, %d spawns, %d receive blocks, %d sleeps, %d system calls, %d tracks\n",
           nslices, nspawn, nrecv, nsleep, nsysenter, nnamed);
}

int main(int argc, char **argv)
{
    if (argc > 1 && strcmp(argv[1], "child") == 0)
        return go_main(child_main, argc, argv);
    char path[] = "/tmp/test_trace.XXXXXX";
    int fd = mkstemp(path);
    CHECK(fd >= 0);
    close(fd);
    pid_t pid = fork();
    CHECK(pid >= 0);
    if (pid == 0) {
        setenv("GOROUTINE_TRACE", path, 1);
        execl("/proc/self/exe", "test_trace", "child", (char *)NULL);
        _exit(127);
    }
    int st;
    CHECK_EQ(waitpid(pid, &st, 0), pid);
    CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 0);
    check_trace(path);
    unlink(path);
    return 0;
}
