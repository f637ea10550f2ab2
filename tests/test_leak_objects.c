/*
 * test_leak_objects - debug builds' leak report also lists the channels,
 * go_after channels, timers, tickers and contexts never freed, each with
 * the function that created it (src/debug.c, GO_DEBUG_OBJECTS; this test
 * links a runtime built with it whatever the build type).
 *
 * The process re-executes itself with GOROUTINE_DEBUG=leaks=1. The child
 * creates and frees one of everything (none of which may be listed), then
 * leaks exactly: two channels from leak_chans (which also frees a third
 * in between), a go_after channel from leak_after, a go_timer_new and a
 * go_timer_func timer from leak_timers, a ticker from leak_ticker, and two
 * contexts (one a child of the other) from leak_ctxs; and one goroutine,
 * blocked receiving on a leaked channel. It prints go_leaks() on demand,
 * then returns from main, and the report runs again at exit. The parent
 * checks both reports: the goroutine, the header's count, and exactly
 * those eight objects, each with its kind, its address, the function that
 * created it and this file's name, in creation order.
 */
#include "test_util.h"

#include <fcntl.h>
#include <stdint.h>

#define HOUR (3600LL * 1000000000LL)

/* ---- the child ----------------------------------------------------------- */

/* Everything leaked stays reachable from here (LeakSanitizer would
 * otherwise report it: it is a leak on purpose). */
static go_chan *chans[3], *after_c;
static go_timer *timers[2];
static go_ticker *ticker;
static go_ctx *ctxs[2];

static void never_called(void *arg)
{
    (void)arg;
}

__attribute__((noinline)) void freed_all(void)
{
    go_chan *c = go_chan_make(sizeof(int), 4);
    go_chan *a = go_after(HOUR);
    go_timer *t = go_timer_new(HOUR);
    go_timer *tf = go_timer_func(HOUR, never_called, NULL);
    go_ticker *tk = go_ticker_new(HOUR);
    go_ctx *x = go_ctx_with_cancel(go_ctx_background());
    go_ctx *y = go_ctx_with_timeout(x, HOUR);
    go_ctx *z = go_ctx_with_deadline(go_ctx_background(), go_now() + HOUR);
    CHECK(c && a && t && tf && tk && x && y && z);
    go_chan_free(c);
    go_chan_free(a);
    go_timer_free(t);
    go_timer_free(tf);
    go_ticker_free(tk);
    go_ctx_free(y);
    go_ctx_free(x);
    go_ctx_free(z);
}

__attribute__((noinline)) void leak_chans(void)
{
    chans[0] = go_chan_make(sizeof(long), 0);
    chans[1] = go_chan_make(0, 1);
    chans[2] = go_chan_make(sizeof(long), 8);
    CHECK(chans[0] && chans[1] && chans[2]);
    go_chan_free(chans[1]);
    chans[1] = NULL;
}

__attribute__((noinline)) void leak_after(void)
{
    after_c = go_after(HOUR);
    CHECK(after_c);
}

__attribute__((noinline)) void leak_timers(void)
{
    timers[0] = go_timer_new(HOUR);
    timers[1] = go_timer_func(HOUR, never_called, NULL);
    CHECK(timers[0] && timers[1]);
}

__attribute__((noinline)) void leak_ticker(void)
{
    ticker = go_ticker_new(HOUR);
    CHECK(ticker);
}

__attribute__((noinline)) void leak_ctxs(void)
{
    ctxs[0] = go_ctx_with_cancel(go_ctx_background());
    ctxs[1] = go_ctx_with_timeout(ctxs[0], HOUR);
    CHECK(ctxs[0] && ctxs[1]);
}

static void blocked(void *arg)
{
    (void)arg;
    long v;
    go_chan_recv(chans[0], &v);
}

static int child_main(int argc, char **argv)
{
    (void)argc;
    (void)argv;
    freed_all();
    leak_chans();
    leak_after();
    leak_timers();
    leak_ticker();
    leak_ctxs();
    freed_all();
    CHECK_EQ(go(blocked, NULL), 0);
    int devnull = open("/dev/null", O_WRONLY);
    CHECK(devnull >= 0);
    while (go_leaks(devnull) != 1)
        go_yield();
    close(devnull);
    /* The addresses, for the parent to match. */
    fprintf(stderr, "addresses: %p %p %p %p %p %p %p %p\n", (void *)chans[0], (void *)chans[2],
            (void *)after_c, (void *)timers[0], (void *)timers[1], (void *)ticker,
            (void *)ctxs[0], (void *)ctxs[1]);
    fprintf(stderr, "=== go_leaks ===\n");
    CHECK_EQ(go_leaks(2), 1);
    fprintf(stderr, "=== exit ===\n");
    return 0;
}

/* ---- the parent ------------------------------------------------------------ */

#define NLEAKED 8
static const char *const want_kind[NLEAKED] = {
    "channel", "channel", "go_after channel", "timer", "timer", "ticker", "context", "context",
};
static const char *const want_fn[NLEAKED] = {
    "leak_chans", "leak_chans", "leak_after", "leak_timers",
    "leak_timers", "leak_ticker", "leak_ctxs", "leak_ctxs",
};
static char addr[NLEAKED][32];

static void fail(const char *what, const char *text)
{
    fprintf(stderr, "FAIL: %s\n---\n%s\n---\n", what, text);
    exit(1);
}

/* One report (go_leaks' output, or the exit report), from its start to
 * `end` (or the end of the text). */
static void check_report(const char *name, const char *r, const char *end)
{
    size_t len = end ? (size_t)(end - r) : strlen(r);
    char *s = strndup(r, len);
    CHECK(s != NULL);
    /* The blocked goroutine, in the dump's layout. */
    if (!strstr(s, " [chan receive]:\n") || !strstr(s, "created by child_main"))
        fail("the blocked goroutine is not listed", s);
    const char *h = strstr(s, "libgoroutine: 8 objects never freed (channels, timers, tickers, "
                              "contexts):\n\n");
    if (!h)
        fail("no header saying 8 objects", s);
    /* Exactly the leaked objects, in creation order. */
    const char *p = h;
    for (int i = 0; i < NLEAKED; i++) {
        char line[512];
        snprintf(line, sizeof line, "\n%s %s created by %s\n\t", want_kind[i], addr[i],
                 want_fn[i]);
        const char *e = strstr(p, line);
        if (!e) {
            fprintf(stderr, "%s: missing, or out of order: %s", name, line + 1);
            fail("object not listed", s);
        }
        const char *eol = strchr(e + strlen(line), '\n');
        if (!eol || !memmem(e, (size_t)(eol - e), "test_leak_objects.c:", 20))
            fail("creation site is not in test_leak_objects.c", s);
        p = eol;
    }
    /* Nothing else: count the entries. */
    int entries = 0;
    for (const char *q = h; (q = strstr(q, " created by ")) != NULL; q++) {
        const char *bol = q;
        while (bol > s && bol[-1] != '\n')
            bol--;
        if (strncmp(bol, "created by ", 11) != 0) /* a goroutine's own line */
            entries++;
    }
    if (entries != NLEAKED)
        fail("more objects listed than were leaked", s);
    if (strstr(s, "freed_all"))
        fail("a freed object is listed", s);
    printf("%s: 1 goroutine and %d objects, with their creators, in order\n", name, NLEAKED);
    free(s);
}

int main(int argc, char **argv)
{
    if (argc > 1 && strcmp(argv[1], "child") == 0)
        return go_main(child_main, argc, argv);
#ifdef GO_TEST_NO_SYMBOLS
    printf("skipped: built without libunwind and libbacktrace (dladdr cannot name this "
           "file's functions)\n");
    return TEST_SKIP;
#endif
    int fds[2];
    CHECK(pipe(fds) == 0);
    fflush(NULL);
    pid_t pid = fork();
    CHECK(pid >= 0);
    if (pid == 0) {
        close(fds[0]);
        dup2(fds[1], 2);
        setenv("GOROUTINE_DEBUG", "leaks=1", 1);
        execl("/proc/self/exe", "test_leak_objects", "child", (char *)NULL);
        _exit(127);
    }
    close(fds[1]);
    static char out[1 << 20];
    size_t n = 0;
    ssize_t r;
    while ((r = read(fds[0], out + n, sizeof out - 1 - n)) > 0)
        n += (size_t)r;
    out[n] = 0;
    close(fds[0]);
    int st;
    CHECK_EQ(waitpid(pid, &st, 0), pid);
    if (!WIFEXITED(st) || WEXITSTATUS(st) != 0)
        fail("the child did not exit 0", out);
    const char *a = strstr(out, "addresses: ");
    if (!a)
        fail("no addresses", out);
    a += strlen("addresses: ");
    for (int i = 0; i < NLEAKED; i++) {
        int k = 0;
        CHECK(sscanf(a, "%31s%n", addr[i], &k) == 1);
        a += k;
    }
    const char *on_demand = strstr(out, "=== go_leaks ===\n");
    const char *at_exit = strstr(out, "=== exit ===\n");
    if (!on_demand || !at_exit || at_exit < on_demand)
        fail("markers", out);
    check_report("go_leaks", on_demand, at_exit);
    if (!strstr(at_exit, "libgoroutine: 1 goroutine leaked (still blocked at exit)\n"))
        fail("no exit report", at_exit);
    check_report("at exit", at_exit, NULL);
    return 0;
}
