/*
 * test_util.h - what every test shares: CHECK macros that say where and
 * what failed, and a way to run a function in a child process and check
 * the message it dies with (for Go's fatal errors).
 *
 * Tests never assert on time; they check semantics and invariants.
 */
#ifndef GO_TEST_UTIL_H
#define GO_TEST_UTIL_H

#include <goroutine.h>

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#define CHECK(cond)                                                                \
    do {                                                                           \
        if (!(cond)) {                                                             \
            fprintf(stderr, "%s:%d: CHECK failed: %s\n", __FILE__, __LINE__, #cond); \
            fflush(stderr);                                                        \
            abort();                                                               \
        }                                                                          \
    } while (0)

#define CHECK_EQ(a, b)                                                             \
    do {                                                                           \
        long long a_ = (long long)(a), b_ = (long long)(b);                        \
        if (a_ != b_) {                                                            \
            fprintf(stderr, "%s:%d: CHECK_EQ failed: %s == %s (%lld vs %lld)\n",   \
                    __FILE__, __LINE__, #a, #b, a_, b_);                           \
            fflush(stderr);                                                        \
            abort();                                                               \
        }                                                                          \
    } while (0)

/* Yield until cond holds: for a state another goroutine reaches without
 * telling us (a waiter queued, a counter moved). From a goroutine. */
#define WAIT_UNTIL(cond)                                                           \
    do {                                                                           \
        while (!(cond))                                                            \
            go_yield();                                                            \
    } while (0)

/* Exit code that makes CTest report the test as skipped. */
#define TEST_SKIP 77

#if defined(GO_TEST_ASAN) || defined(GO_TEST_TSAN)
#define TEST_SANITIZED 1
#else
#define TEST_SANITIZED 0
#endif

/* Recursion without end, 512 bytes a frame: a goroutine running
 * test_overflower dies by Go's "stack overflow". The limit is never
 * reached; being volatile, it keeps the compiler from proving that. */
static volatile int test_recurse_limit = -1;

__attribute__((noinline, unused)) static int test_recurse(int n)
{
    volatile char frame[512];
    frame[0] = (char)n;
    if (n == test_recurse_limit)
        return 0;
    return test_recurse(n + 1) + frame[0];
}

__attribute__((unused)) static void test_overflower(void *arg)
{
    (void)arg;
    test_recurse(0);
}

/*
 * Run fn(arg) in a forked child with stderr captured; return 1 if the
 * child died abnormally (signal or non-zero exit) and its stderr contains
 * `want`, else print what happened and return 0. The child gets a fresh
 * runtime only if the parent has not started one: call this before the
 * parent uses the runtime, or make fn exec-safe.
 */
static inline int expect_death(void (*fn)(void *), void *arg, const char *want)
{
    int fds[2];
    if (pipe(fds) != 0)
        return 0;
    fflush(NULL);
    pid_t pid = fork();
    if (pid < 0)
        return 0;
    if (pid == 0) {
        close(fds[0]);
        dup2(fds[1], 2);
        fn(arg);
        _exit(0); /* survived: the caller sees exit status 0 */
    }
    close(fds[1]);
    static char buf[1 << 16];
    size_t n = 0;
    ssize_t r;
    while ((r = read(fds[0], buf + n, sizeof buf - 1 - n)) > 0)
        n += (size_t)r;
    buf[n] = 0;
    close(fds[0]);
    int st;
    waitpid(pid, &st, 0);
    int died = WIFSIGNALED(st) || (WIFEXITED(st) && WEXITSTATUS(st) != 0);
    int found = strstr(buf, want) != NULL;
    if (!died || !found) {
        fprintf(stderr, "expect_death: wanted death with \"%s\"; child %s %d; stderr:\n%s\n",
                want, WIFSIGNALED(st) ? "signal" : "exit",
                WIFSIGNALED(st) ? WTERMSIG(st) : WEXITSTATUS(st), buf);
        return 0;
    }
    return 1;
}

#endif /* GO_TEST_UTIL_H */
