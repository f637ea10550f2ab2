/*
 * goroutine.h - Go's goroutines, scheduler and channels for C.
 *
 * This is the only public header of libgoroutine. Every symbol it declares
 * starts with `go` (functions, types) or `GO_` (macros); nothing else is
 * exported from the library.
 *
 * Conventions that hold for every function below unless its comment says
 * otherwise:
 *
 *  - Nothing needs initialising: the runtime starts on first use.
 *  - Functions that can fail return 0 (or a non-negative value) on success
 *    and a negative errno on failure, or NULL with errno set for functions
 *    that return a pointer. A failed call changes nothing.
 *  - "Blocks" means: called from a goroutine, the goroutine parks and its OS
 *    thread runs other goroutines; called from a plain thread (main, or any
 *    thread the library did not create) the thread sleeps on a futex.
 *  - What Go treats as a fatal programming error (a negative WaitGroup
 *    counter, close of a closed channel, all goroutines asleep...) prints
 *    Go's own message and a goroutine dump on stderr, then aborts.
 *  - A goroutine may resume on another OS thread after any call that can
 *    block or yield. Do not hold the address of a thread-local variable
 *    (including errno's) or a pthread mutex across such a call; use
 *    go_mutex, or go_lock_thread(). errno itself is saved and restored per
 *    goroutine, so reading errno right after a libc call is always safe.
 *
 * Durations are signed 64-bit nanoseconds; zero or negative means "now".
 */
#ifndef GOROUTINE_H
#define GOROUTINE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#if defined(__GNUC__)
#define GO_API __attribute__((visibility("default")))
#define GO_NORETURN __attribute__((noreturn))
#else
#define GO_API
#define GO_NORETURN
#endif

/* Library version: major * 10000 + minor * 100 + patch. */
#define GO_VERSION 100

/* ------------------------------------------------------------------------
 * Goroutines
 * ---------------------------------------------------------------------- */

/* The function a goroutine runs. When it returns, the goroutine exits. */
typedef void (*go_func)(void *arg);

/* Largest argument block go_copy() and go_spawn() copy into a goroutine. */
#define GO_COPY_MAX 1024

/* Smallest and largest per-goroutine stack size accepted by go_spawn(). */
#define GO_STACK_MIN 16384
#define GO_STACK_MAX ((size_t)1 << 30)

/* Largest value go_maxprocs() accepts. */
#define GO_MAXPROCS_MAX 1024

/*
 * go - start fn(arg) in a new goroutine (Go's `go fn(arg)`).
 *
 * The goroutine runs on the default stack size (256 KiB of address space,
 * committed page by page as it is touched; set GOROUTINE_STACK_SIZE in the
 * environment, in bytes, to change the default at start-up). Does not block.
 *
 * Returns 0, or:
 *   -EINVAL  fn is NULL.
 *   -ENOMEM  no memory or address space for the goroutine's stack.
 *   -EAGAIN  the kernel refused a new thread or mapping (resource limit).
 */
GO_API int go(go_func fn, void *arg);

/*
 * go_copy - start fn in a new goroutine with a private copy of an argument
 * block, so the caller needs no malloc: fn receives a pointer to a copy of
 * the `size` bytes at `arg`, aligned to 16 bytes, living on the new
 * goroutine's own stack until fn returns. Does not block.
 *
 * Returns 0, or -EINVAL (fn NULL, arg NULL with size > 0, or size greater
 * than GO_COPY_MAX), -ENOMEM, -EAGAIN as go().
 */
GO_API int go_copy(go_func fn, const void *arg, size_t size);

/* Attributes for go_spawn(); zero-initialise, then set what you need. */
typedef struct go_attr {
    size_t stack_size;  /* bytes of stack; 0 = the default */
    const char *name;   /* shown in goroutine dumps; copied (31 chars kept) */
    size_t arg_size;    /* 0: pass arg as is; > 0: copy as go_copy() does */
} go_attr;

/*
 * go_spawn - start fn(arg) in a new goroutine with attributes. attr may be
 * NULL (same as go()). The stack size is rounded up to whole pages.
 * Does not block.
 *
 * Returns 0, or:
 *   -EINVAL  fn NULL; stack_size non-zero and below GO_STACK_MIN or above
 *            GO_STACK_MAX; arg_size above GO_COPY_MAX; arg NULL with
 *            arg_size > 0.
 *   -ENOMEM, -EAGAIN as go().
 */
GO_API int go_spawn(const go_attr *attr, go_func fn, void *arg);

/*
 * go_yield - let other goroutines run (Go's runtime.Gosched). The caller
 * stays runnable and continues later. From a plain thread it calls
 * sched_yield(). Never fails.
 */
GO_API void go_yield(void);

/*
 * go_exit - end the calling goroutine at once (Go's runtime.Goexit). Its
 * function does not return; other goroutines are unaffected. Called from a
 * plain thread (not a goroutine), it is a fatal error.
 */
GO_API GO_NORETURN void go_exit(void);

/*
 * go_maxprocs - set how many OS threads may run goroutines at once (Go's
 * runtime.GOMAXPROCS). n <= 0 only queries. At start-up the value is the
 * GOMAXPROCS environment variable if set to a valid number, else the
 * number of CPUs in the process's affinity mask. A change takes effect at
 * each thread's next scheduling point; no runnable goroutine is lost.
 *
 * Returns the previous value, or -EINVAL if n > GO_MAXPROCS_MAX.
 */
GO_API int go_maxprocs(int n);

/*
 * go_num_goroutine - the number of goroutines that exist: started by go()
 * and not yet exited (Go's runtime.NumGoroutine, except that main and plain
 * threads are not goroutines and are not counted).
 */
GO_API int go_num_goroutine(void);

/*
 * go_id - the calling goroutine's id (1, 2, 3, ... in start order, never
 * reused), or 0 when called from a plain thread.
 */
GO_API int64_t go_id(void);

/*
 * go_lock_thread - wire the calling goroutine to its current OS thread
 * (Go's runtime.LockOSThread): until a matching go_unlock_thread() it runs
 * only on this thread, and no other goroutine runs on it. Calls nest, as in
 * Go. Use it around code that keeps thread-local state across blocking
 * calls. From a plain thread it does nothing. Returns 0.
 */
GO_API int go_lock_thread(void);

/*
 * go_unlock_thread - undo one go_lock_thread(). Unlocking a goroutine that
 * is not locked does nothing. Returns 0.
 */
GO_API int go_unlock_thread(void);

/* ------------------------------------------------------------------------
 * WaitGroup (Go's sync.WaitGroup)
 * ---------------------------------------------------------------------- */

/* Zero-initialised is a valid empty WaitGroup, as is GO_WG_INIT. */
typedef struct go_wg {
    uint64_t opaque_[2];
} go_wg;
#define GO_WG_INIT {{0, 0}}

/*
 * go_wg_add - add delta (which may be negative) to the counter. When the
 * counter reaches zero every goroutine or thread blocked in go_wg_wait() is
 * released. A negative counter is Go's fatal error
 * "sync: negative WaitGroup counter". Does not block.
 */
GO_API void go_wg_add(go_wg *wg, int64_t delta);

/* go_wg_done - go_wg_add(wg, -1). */
GO_API void go_wg_done(go_wg *wg);

/*
 * go_wg_wait - block until the counter is zero. Returns at once if it is
 * already zero. The WaitGroup may be reused, or go out of scope, as soon as
 * every waiter has returned.
 */
GO_API void go_wg_wait(go_wg *wg);

#ifdef __cplusplus
}
#endif

#endif /* GOROUTINE_H */
