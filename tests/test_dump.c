/*
 * test_dump.c - goroutine dumps (go_dump, SIGQUIT, fatal errors) and the
 * leak report, parsed.
 *
 * A child process parks one goroutine in each state Go names (chan
 * receive, chan send, select, sleep, IO wait, sync.Mutex.Lock,
 * sync.WaitGroup.Wait, semacquire) and one in a system call, each in its
 * own static function, all spawned by one goroutine ("spawner"); then it
 * dumps one way or another. The parent parses the child's stderr: every
 * goroutine is there with its state, the static function it blocked in
 * (this file is built with -O1 and no -rdynamic, see CMakeLists.txt) with
 * this file's name, and "created by spawner in goroutine N" with the line
 * of the go() call. SIGQUIT must exit with status 2, or go on with
 * GOROUTINE_DEBUG=dumpcontinue=1; the leak report must list exactly the
 * blocked goroutines and nothing that finished.
 */
#include "test_util.h"

#include <fcntl.h>
#include <pthread.h>
#include <stdatomic.h>

enum { K_RECV, K_SEND, K_SELECT, K_SLEEP, K_IO, K_MUTEX, K_WG, K_SEMA, K_SYSCALL, NK };

static const char *const state_of[NK] = {
    "chan receive", "chan send", "select", "sleep", "IO wait",
    "sync.Mutex.Lock", "sync.WaitGroup.Wait", "semacquire", "syscall"};
static const char *const fn_of[NK] = {
    "blocked_in_recv", "blocked_in_send", "blocked_in_select", "blocked_in_sleep",
    "blocked_in_io", "blocked_in_mutex", "blocked_in_wg", "blocked_in_sema",
    "blocked_in_syscall"};

static go_chan *ch_recv, *ch_send, *ch_sel1, *ch_sel2;
static go_mutex mu;
static go_wg wg_never;
static go_sema sema;
static int io_pipe[2], sys_pipe[2];
static atomic_int in_syscall;
static int64_t spawner_id;
static int line_of[NK];
static atomic_int spawned;

__attribute__((noinline)) static void blocked_in_recv(void *a)
{
    (void)a;
    int v;
    go_chan_recv(ch_recv, &v);
}

__attribute__((noinline)) static void blocked_in_send(void *a)
{
    (void)a;
    int v = 1;
    go_chan_send(ch_send, &v);
}

__attribute__((noinline)) static void blocked_in_select(void *a)
{
    (void)a;
    int v;
    go_select_case cs[2] = {GO_RECV(ch_sel1, &v, NULL), GO_RECV(ch_sel2, &v, NULL)};
    go_select(cs, 2);
}

__attribute__((noinline)) static void blocked_in_sleep(void *a)
{
    (void)a;
    go_sleep(3600LL * 1000000000LL);
}

__attribute__((noinline)) static void blocked_in_io(void *a)
{
    (void)a;
    char b;
    go_read(io_pipe[0], &b, 1);
}

__attribute__((noinline)) static void blocked_in_mutex(void *a)
{
    (void)a;
    go_mutex_lock(&mu);
    go_mutex_unlock(&mu);
}

__attribute__((noinline)) static void blocked_in_wg(void *a)
{
    (void)a;
    go_wg_wait(&wg_never);
}

__attribute__((noinline)) static void blocked_in_sema(void *a)
{
    (void)a;
    go_sema_acquire(&sema);
}

__attribute__((noinline)) static void blocked_in_syscall(void *a)
{
    (void)a;
    char b;
    go_syscall_enter();
    atomic_store(&in_syscall, 1);
    ssize_t r = read(sys_pipe[0], &b, 1);
    (void)r;
    go_syscall_exit();
}

static void finished(void *a)
{
    (void)a;
}

static void record(int k, int line)
{
    line_of[k] = line;
}

/* Spawns them all, one go() per line, so each has its own call site. */
__attribute__((noinline)) static void spawner(void *a)
{
    bool with_syscall = a != NULL;
    spawner_id = go_id();
    CHECK(go(blocked_in_recv, NULL) == 0); record(K_RECV, __LINE__);
    CHECK(go(blocked_in_send, NULL) == 0); record(K_SEND, __LINE__);
    CHECK(go(blocked_in_select, NULL) == 0); record(K_SELECT, __LINE__);
    CHECK(go(blocked_in_sleep, NULL) == 0); record(K_SLEEP, __LINE__);
    CHECK(go(blocked_in_io, NULL) == 0); record(K_IO, __LINE__);
    CHECK(go(blocked_in_mutex, NULL) == 0); record(K_MUTEX, __LINE__);
    CHECK(go(blocked_in_wg, NULL) == 0); record(K_WG, __LINE__);
    CHECK(go(blocked_in_sema, NULL) == 0); record(K_SEMA, __LINE__);
    if (with_syscall) {
        CHECK(go(blocked_in_syscall, NULL) == 0); record(K_SYSCALL, __LINE__);
    }
    for (int i = 0; i < 20; i++)
        CHECK(go(finished, NULL) == 0);
    atomic_store(&spawned, 1);
}

/* Set everything up and wait until each goroutine is parked. */
static void park_all(bool with_syscall)
{
    ch_recv = go_chan_make(sizeof(int), 0);
    ch_send = go_chan_make(sizeof(int), 0);
    ch_sel1 = go_chan_make(sizeof(int), 0);
    ch_sel2 = go_chan_make(sizeof(int), 0);
    CHECK(pipe(io_pipe) == 0 && pipe(sys_pipe) == 0);
    go_wg_add(&wg_never, 1);
    go_mutex_lock(&mu);
    CHECK(go(spawner, with_syscall ? (void *)1 : NULL) == 0);
    int devnull = open("/dev/null", O_WRONLY);
    CHECK(devnull >= 0);
    while (!atomic_load(&spawned) || go_leaks(devnull) < 8 ||
           (with_syscall && !atomic_load(&in_syscall)))
        usleep(1000);
    close(devnull);
    /* Tell the parent the call sites. */
    for (int k = 0; k < NK; k++)
        fprintf(stderr, "SITE %d %d\n", k, line_of[k]);
    fprintf(stderr, "SPAWNER %lld\n", (long long)spawner_id);
    fflush(stderr);
}

/* ---- the parent's side ---------------------------------------------------- */

static char out[1 << 18];

/* Runs fn in a child with `env` (NAME=VALUE or NULL) set, its stderr in
 * out; returns the wait status. */
static int run(void (*fn)(void), const char *env)
{
    int fds[2];
    CHECK(pipe(fds) == 0);
    fflush(stdout);
    fflush(stderr);
    pid_t pid = fork();
    CHECK(pid >= 0);
    if (pid == 0) {
        dup2(fds[1], 2);
        close(fds[0]);
        close(fds[1]);
        if (env)
            putenv((char *)env);
        fn();
        _exit(0);
    }
    close(fds[1]);
    size_t n = 0;
    ssize_t r;
    while ((r = read(fds[0], out + n, sizeof out - 1 - n)) > 0)
        n += (size_t)r;
    out[n] = 0;
    close(fds[0]);
    int st;
    CHECK(waitpid(pid, &st, 0) == pid);
    return st;
}

static int site[NK];
static long long spawner_goid;

static void read_sites(void)
{
    for (int k = 0; k < NK; k++) {
        char key[32];
        snprintf(key, sizeof key, "SITE %d ", k);
        const char *p = strstr(out, key);
        CHECK(p);
        site[k] = atoi(p + strlen(key));
    }
    const char *p = strstr(out, "SPAWNER ");
    CHECK(p);
    spawner_goid = atoll(p + 8);
    CHECK(spawner_goid > 0);
}

static void fail(const char *what, const char *block)
{
    fprintf(stderr, "dump check failed: %s\n--- block:\n%s\n--- whole output:\n%s\n", what,
            block ? block : "(none)", out);
    abort();
}

/* The block of the goroutine whose header has [state, its function in
 * the backtrace; copied into buf. */
static const char *find_block(const char *state, const char *fn, char *buf, size_t size)
{
    char hdr[64];
    snprintf(hdr, sizeof hdr, " [%s", state);
    char fnl[64];
    snprintf(fnl, sizeof fnl, "\n%s(", fn ? fn : "");
    for (const char *p = strstr(out, "goroutine "); p; p = strstr(p, "\ngoroutine ")) {
        if (*p == '\n')
            p++;
        const char *end = strstr(p, "\n\n");
        if (!end)
            end = p + strlen(p);
        size_t len = (size_t)(end - p);
        if (len >= size)
            len = size - 1;
        memcpy(buf, p, len);
        buf[len] = 0;
        const char *eol = strchr(buf, '\n');
        if (!eol)
            continue;
        char first[128];
        size_t fl = (size_t)(eol - buf) < sizeof first - 1 ? (size_t)(eol - buf) : sizeof first - 1;
        memcpy(first, buf, fl);
        first[fl] = 0;
        char *h = strstr(first, hdr);
        if (h && (h[strlen(hdr)] == ']' || h[strlen(hdr)] == ',') && (!fn || strstr(buf, fnl)))
            return buf;
    }
    return NULL;
}

/* Every goroutine in its state, with its function, file:line and
 * creator; `which` picks the kinds expected. */
static void check_dump(int nk)
{
    read_sites();
    char buf[4096];
    for (int k = 0; k < nk; k++) {
        const char *b = find_block(state_of[k], fn_of[k], buf, sizeof buf);
#ifdef GO_TEST_TSAN
        if (!b && k == K_SYSCALL)
            b = find_block(state_of[k], NULL, buf, sizeof buf);
#endif
        if (!b) {
            char what[128];
            snprintf(what, sizeof what, "no goroutine [%s] in %s", state_of[k], fn_of[k]);
            fail(what, NULL);
        }
        if (k == K_SYSCALL && strstr(b, "goroutine running on other thread; stack unavailable")) {
#ifndef GO_TEST_TSAN
            /* Sampled by signal from its own thread; TSan holds back
             * signals to a thread blocked in read(2), so there the dump
             * says it could not, as Go does. */
            fail("the goroutine in a system call was not sampled", b);
#endif
        } else {
            /* The frame after the function line names this file. */
            char fnl[64];
            snprintf(fnl, sizeof fnl, "\n%s(...)\n\t", fn_of[k]);
            const char *f = strstr(b, fnl);
            if (!f || !strstr(f, "test_dump.c:"))
                fail("blocked function without test_dump.c:LINE", b);
        }
        char created[96];
        snprintf(created, sizeof created, "created by spawner in goroutine %lld\n\t",
                 spawner_goid);
        const char *c = strstr(b, created);
        if (!c)
            fail("no 'created by spawner in goroutine N'", b);
        char where[48];
        snprintf(where, sizeof where, "test_dump.c:%d +0x", site[k]);
        if (!strstr(c, where))
            fail("creation site is not the go() line", b);
        if (!strstr(b, "\nstack: ") || !strstr(b, " bytes used"))
            fail("no stack high-water line", b);
    }
}

static void child_dump(void)
{
    park_all(true);
    CHECK(go_dump(2) == 0);
    _exit(0);
}

static void child_sigquit(void)
{
    park_all(true);
    kill(getpid(), SIGQUIT);
    /* Not reached unless dumpcontinue. */
    fprintf(stderr, "CONTINUED\n");
    _exit(0);
}

static void child_fatal(void)
{
    park_all(true);
    go_chan *c = go_chan_make(1, 0);
    go_chan_close(c);
    go_chan_close(c); /* panic: close of closed channel */
    _exit(0);
}

static go_chan *leak_done;

static void child_leaks(void)
{
    park_all(false);
    /* main returns: exit() runs the report. */
    exit(0);
}

int main(void)
{
    (void)leak_done;
#ifdef GO_TEST_NO_SYMBOLS
    printf("skipped: built without libunwind and libbacktrace (frame pointers and dladdr "
           "cannot name this -O1 file's static functions)\n");
    return TEST_SKIP;
#endif

    int st = run(child_dump, NULL);
    if (!WIFEXITED(st) || WEXITSTATUS(st) != 0)
        fail("go_dump child did not exit 0", NULL);
    check_dump(NK);
    printf("go_dump: %d goroutines found with state, function, file:line, creator\n", NK);

    st = run(child_sigquit, NULL);
    if (!WIFEXITED(st) || WEXITSTATUS(st) != 2)
        fail("SIGQUIT did not exit with status 2", NULL);
    if (!strstr(out, "SIGQUIT: quit\n") || strstr(out, "CONTINUED"))
        fail("SIGQUIT output", NULL);
    check_dump(NK);
    printf("SIGQUIT: dump and exit status 2\n");

    st = run(child_sigquit, "GOROUTINE_DEBUG=dumpcontinue=1");
    if (!WIFEXITED(st) || WEXITSTATUS(st) != 0 || !strstr(out, "CONTINUED"))
        fail("dumpcontinue=1 did not go on", NULL);
    check_dump(NK);
    printf("SIGQUIT with dumpcontinue=1: dump and the program went on\n");

    st = run(child_fatal, NULL);
    if (!WIFSIGNALED(st) || !strstr(out, "panic: close of closed channel"))
        fail("fatal error did not die with its message", NULL);
    check_dump(NK);
    /* The panicking goroutine is the thread itself here (main): its
     * own stack, with this function. */
    if (!strstr(out, "\nchild_fatal(...)\n\t"))
        fail("the dying thread's own stack is missing", NULL);
    printf("fatal error: message and dump\n");

    st = run(child_leaks, "GOROUTINE_DEBUG=leaks=1");
    if (!WIFEXITED(st) || WEXITSTATUS(st) != 0)
        fail("leaks child did not exit 0", NULL);
    if (!strstr(out, "libgoroutine: 8 goroutines leaked (still blocked at exit)\n"))
        fail("leak report header", NULL);
    check_dump(NK - 1);
    /* Exactly the eight: no other goroutine blocks ("finished" ones and
     * the spawner are gone). */
    const char *rep = strstr(out, "leaked (still blocked at exit)");
    int n = 0;
    for (const char *p = strstr(rep, "\ngoroutine "); p; p = strstr(p + 1, "\ngoroutine "))
        n++;
    CHECK_EQ(n, 8);
    printf("leak report: exactly the 8 blocked goroutines\n");
    return 0;
}
