/*
 * test_misuse_death.c - misuse of the API dies with a Go-style fatal error
 * naming the mistake, instead of hanging or crashing without a word. Each
 * case runs in a child process (expect_death) and its message is checked:
 *
 *   fatal error: go_chan_free of freed or invalid channel   (double free)
 *   fatal error: use of freed or invalid channel    (send, receive, their
 *                                    try and timed forms, close, select,
 *                                    len, cap after free; a pointer that is
 *                                    not a channel)
 *   fatal error: blocking call between go_syscall_enter and go_syscall_exit
 *   fatal error: go_yield between go_syscall_enter and go_syscall_exit
 *   fatal error: go between go_syscall_enter and go_syscall_exit
 *   fatal error: goroutine exit between go_syscall_enter and go_syscall_exit
 *                                   (return from the goroutine, or go_exit)
 *   fatal error: go_syscall_exit without go_syscall_enter  (also one exit
 *                                   too many after nested enters)
 *
 * and go_chan_make(0, (size_t)-1) returns NULL with EINVAL (no death).
 *
 * Under ASan a use after free is ASan's own report ("heap-use-after-free"),
 * which comes first: the magic word is read from freed memory.
 */
#include "test_util.h"

#include <stdint.h>

#ifdef GO_TEST_ASAN
#define FREED_USE "heap-use-after-free"
#define FREED_FREE "heap-use-after-free"
#else
#define FREED_USE "fatal error: use of freed or invalid channel"
#define FREED_FREE "fatal error: go_chan_free of freed or invalid channel"
#endif

/* ---- channels after go_chan_free ------------------------------------------ */

enum use {
    U_SEND,
    U_RECV,
    U_TRY_SEND,
    U_TRY_RECV,
    U_SEND_TIMED,
    U_RECV_TIMED,
    U_SELECT,
    U_SELECT_TRY,
    U_CLOSE,
    U_LEN,
    U_CAP,
    U_FREE,
    U_NUSES
};

static void use_chan(go_chan *c, int use)
{
    int v = 1;
    bool ok;
    go_select_case sc[2] = {GO_RECV(NULL, NULL, NULL), GO_RECV(c, &v, &ok)};
    switch (use) {
    case U_SEND:
        go_chan_send(c, &v);
        break;
    case U_RECV:
        go_chan_recv(c, &v);
        break;
    case U_TRY_SEND:
        go_chan_try_send(c, &v);
        break;
    case U_TRY_RECV:
        go_chan_try_recv(c, &v, &ok);
        break;
    case U_SEND_TIMED:
        go_chan_send_timeout(c, &v, 1000000);
        break;
    case U_RECV_TIMED:
        go_chan_recv_timeout(c, &v, &ok, 1000000);
        break;
    case U_SELECT:
        go_select(sc, 2);
        break;
    case U_SELECT_TRY:
        go_select_try(sc, 2);
        break;
    case U_CLOSE:
        go_chan_close(c);
        break;
    case U_LEN:
        (void)go_chan_len(c);
        break;
    case U_CAP:
        (void)go_chan_cap(c);
        break;
    case U_FREE:
        go_chan_free(c);
        break;
    }
}

/* arg: use * 4 + cap (0..3) * 2 + in_goroutine. */
static go_wg g_wg;

static void use_after_free_body(void *arg)
{
    int a = (int)(intptr_t)arg;
    go_chan *c = go_chan_make(sizeof(int), (size_t)((a >> 1) & 1) * 4);
    if (!c)
        _exit(3);
    go_chan_free(c);
    use_chan(c, a >> 2);
    go_wg_done(&g_wg);
}

static void use_after_free(void *arg)
{
    int a = (int)(intptr_t)arg;
    go_wg_add(&g_wg, 1);
    if (a & 1) {
        if (go(use_after_free_body, arg) != 0)
            _exit(3);
    } else {
        use_after_free_body(arg);
    }
    go_wg_wait(&g_wg);
}

/* A pointer that never was a channel (zeroed memory, as a forgotten
 * initialisation would leave it). */
static void not_a_channel(void *arg)
{
    static uint64_t junk[32];
    use_chan((go_chan *)junk, (int)(intptr_t)arg);
}

/* ---- go_syscall_enter / go_syscall_exit ----------------------------------- */

enum inside {
    I_RECV,    /* a blocking receive */
    I_SLEEP,   /* go_sleep */
    I_MUTEX,   /* a contended mutex */
    I_YIELD,   /* go_yield */
    I_GO,      /* go() */
    I_RETURN,  /* the goroutine returns */
    I_EXIT,    /* go_exit */
    I_NINSIDE
};

static go_mutex mu;

static void inside_body(void *arg)
{
    int what = (int)(intptr_t)arg;
    go_chan *c = go_chan_make(sizeof(int), 0);
    int v;
    go_syscall_enter();
    switch (what) {
    case I_RECV:
        go_chan_recv(c, &v);
        break;
    case I_SLEEP:
        go_sleep(1000);
        break;
    case I_MUTEX:
        go_mutex_lock(&mu); /* held by the caller of inside_syscall */
        break;
    case I_YIELD:
        go_yield();
        break;
    case I_GO:
        go(inside_body, (void *)(intptr_t)I_RECV);
        break;
    case I_RETURN:
        return;
    case I_EXIT:
        go_exit();
    }
    go_syscall_exit();
}

static void inside_syscall(void *arg)
{
    if ((int)(intptr_t)arg == I_MUTEX)
        go_mutex_lock(&mu);
    if (go(inside_body, arg) != 0)
        _exit(3);
    /* The goroutine dies; if it does not, give up after 10 s (and so fail
     * the test with exit status 0). */
    for (int64_t t0 = go_now(); go_now() - t0 < 10 * 1000000000LL;)
        go_sleep(1000000);
}

/* arg: number of enters before the exits; one exit more than that. */
static void exit_without_enter_body(void *arg)
{
    int n = (int)(intptr_t)arg;
    for (int i = 0; i < n; i++)
        go_syscall_enter();
    for (int i = 0; i < n; i++)
        go_syscall_exit();
    go_yield(); /* out of syscall mode: the runtime works */
    go_syscall_exit();
}

static void exit_without_enter(void *arg)
{
    if (go(exit_without_enter_body, arg) != 0)
        _exit(3);
    for (int64_t t0 = go_now(); go_now() - t0 < 10 * 1000000000LL;)
        go_sleep(1000000);
}

int main(void)
{
    int fails = 0, n = 0;
#define EXPECT(fn, arg, msg)                                                                       \
    do {                                                                                           \
        n++;                                                                                       \
        if (!expect_death(fn, (void *)(intptr_t)(arg), msg)) {                                     \
            fprintf(stderr, "FAILED: %s(%d)\n", #fn, (int)(intptr_t)(arg));                        \
            fails++;                                                                               \
        }                                                                                          \
    } while (0)

    for (int use = 0; use < U_NUSES; use++)
        for (int k = 0; k < 4; k++) /* cap 0 or 4, from main or a goroutine */
            EXPECT(use_after_free, use * 4 + k, use == U_FREE ? FREED_FREE : FREED_USE);
    for (int use = 0; use < U_NUSES; use++)
        EXPECT(not_a_channel, use,
               use == U_FREE ? "fatal error: go_chan_free of freed or invalid channel"
                             : "fatal error: use of freed or invalid channel");

    EXPECT(inside_syscall, I_RECV,
           "fatal error: blocking call between go_syscall_enter and go_syscall_exit");
    EXPECT(inside_syscall, I_SLEEP,
           "fatal error: blocking call between go_syscall_enter and go_syscall_exit");
    EXPECT(inside_syscall, I_MUTEX,
           "fatal error: blocking call between go_syscall_enter and go_syscall_exit");
    EXPECT(inside_syscall, I_YIELD,
           "fatal error: go_yield between go_syscall_enter and go_syscall_exit");
    EXPECT(inside_syscall, I_GO, "fatal error: go between go_syscall_enter and go_syscall_exit");
    EXPECT(inside_syscall, I_RETURN,
           "fatal error: goroutine exit between go_syscall_enter and go_syscall_exit");
    EXPECT(inside_syscall, I_EXIT,
           "fatal error: goroutine exit between go_syscall_enter and go_syscall_exit");
    for (int k = 0; k < 3; k++)
        EXPECT(exit_without_enter, k, "fatal error: go_syscall_exit without go_syscall_enter");

    /* A capacity that is a negative number in disguise is refused. */
    errno = 0;
    CHECK(go_chan_make(0, (size_t)-1) == NULL);
    CHECK_EQ(errno, EINVAL);
    errno = 0;
    CHECK(go_chan_make(sizeof(int), (size_t)-1) == NULL);
    CHECK_EQ(errno, EINVAL);

    if (fails) {
        fprintf(stderr, "%d of %d death tests failed\n", fails, n);
        return 1;
    }
    printf("test_misuse_death: ok (%d death tests)\n", n);
    return 0;
}
