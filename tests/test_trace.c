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
    for (long i = 1; i <= NWORKERS; i++)
        while (!go_chan_try_send(in, &i))
            go_yield();
    long sum = 0;
    for (int i = 0; i < NWORKERS; i++) {
        long v;
        CHECK(go_chan_recv(out, &v));
        sum += v;
    }
    CHECK_EQ(sum, NWORKERS * (NWORKERS + 1));
    /* Every worker's exit is in the trace; main's own may not be (the
     * process may exit before main's goroutine has switched away). */
    WAIT_UNTIL(go_num_goroutine() == 1);
    return 0;
}

static void check_trace(const char *path)
{
    FILE *f = fopen(path, "r");
    CHECK(f != NULL);
    fseek(f, 0, SEEK_END);
    long size = ftell(f);
    rewind(f);
    CHECK(size > 0);
    char *all = malloc((size_t)size + 1);
    CHECK(all != NULL);
    CHECK_EQ(fread(all, 1, (size_t)size, f), size);
    all[size] = 0;
    fclose(f);
    CHECK(json_valid(all, (size_t)size));

    memset(spawned, 0, sizeof spawned);
    memset(ran, 0, sizeof ran);
    memset(blocks, 0, sizeof blocks);
    memset(unblocks, 0, sizeof unblocks);
    nnamed = nused = nslices = 0;
    int nspawn = 0, nrecv = 0, nsleep = 0, nsysenter = 0, nsysexit = 0, nexit = 0;
    bool dropped_seen = false;
    for (char *line = strtok(all, "\n"); line; line = strtok(NULL, "\n")) {
        if (line[0] != '{' || strncmp(line, "{\"traceEvents\"", 14) == 0)
            continue;
        char ph[8], name[128];
        double tid = -1, ts = -1, g = -1;
        CHECK(str_field(line, "ph", ph, sizeof ph));
        CHECK(str_field(line, "name", name, sizeof name));
        num_field(line, "tid", &tid);
        if (strcmp(ph, "M") == 0) {
            if (strcmp(name, "thread_name") == 0)
                note_tid(named_tids, &nnamed, (long)tid);
            if (strcmp(name, "trace_dropped") == 0) {
                double d = -1;
                CHECK(num_field(line, "dropped_events", &d));
                CHECK_EQ(d, 0);
                dropped_seen = true;
            }
            continue;
        }
        CHECK(num_field(line, "ts", &ts));
        CHECK(ts >= 0);
        CHECK(tid >= 0);
        note_tid(used_tids, &nused, (long)tid);
        if (strcmp(ph, "X") == 0) {
            double dur = -1;
            CHECK(num_field(line, "dur", &dur));
            CHECK(dur >= 0);
            CHECK(num_field(line, "g", &g));
            CHECK(g > 0 && g < MAXG);
            ran[(int)g]++;
            CHECK(name[0] == 'G');
            CHECK(nslices < MAXSLICES);
            slices[nslices++] = (struct slice){ts, dur, (long)tid};
            continue;
        }
        CHECK(strcmp(ph, "i") == 0);
        if (strcmp(name, "spawn") == 0) {
            CHECK(num_field(line, "child", &g));
            CHECK(g > 0 && g < MAXG);
            CHECK_EQ(spawned[(int)g], 0);
            spawned[(int)g] = 1;
            nspawn++;
        } else if (strcmp(name, "block") == 0) {
            char reason[64];
            CHECK(num_field(line, "g", &g));
            CHECK(g > 0 && g < MAXG);
            blocks[(int)g]++;
            CHECK(str_field(line, "reason", reason, sizeof reason));
            nrecv += strcmp(reason, "chan receive") == 0;
            nsleep += strcmp(reason, "sleep") == 0;
        } else if (strcmp(name, "unblock") == 0) {
            CHECK(num_field(line, "g", &g));
            CHECK(g > 0 && g < MAXG);
            unblocks[(int)g]++;
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
