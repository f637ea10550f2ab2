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
 *    go_mutex, or go_lock_thread(). errno's value is saved and restored per
 *    goroutine at every switch, but its address is per thread, and C
 *    compilers may compute that address once per function (glibc declares
 *    __errno_location() const). In a function that uses errno both before
 *    and after a call that may block or yield, read it with go_errno()
 *    (or in a separate function that is not inlined); otherwise the later
 *    read may see the errno of the thread the goroutine left.
 *
 * Durations are signed 64-bit nanoseconds; zero or negative means "now".
 *
 * Async-signal-safety. A signal handler may interrupt a goroutine or a
 * plain thread anywhere, including inside the runtime while it holds a
 * lock or is half-way through updating a run queue, so nearly nothing here
 * may be called from one: not the blocking calls, and not the
 * non-blocking ones either (go_chan_try_send and go_chan_try_recv take the
 * channel's lock and may ready a goroutine; go() and go_ctx_cancel()
 * allocate and lock; go_sema_release, go_mutex_unlock and go_wg_done may
 * wake a waiter). The exceptions are the calls that only read: go_now(),
 * go_id(), go_errno(), go_num_goroutine(), go_ctx_err(), go_chan_len() and
 * go_chan_cap(); and the fatal errors themselves (written with write(2),
 * no allocation). To act on a signal, write(2) a byte to a pipe from the
 * handler and have a goroutine go_read() the other end, or read a
 * signalfd(2) with go_read() and install no handler at all.
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
 * The goroutine runs on a stack of the default size, 240 KiB (245,760
 * bytes; set GOROUTINE_STACK_SIZE in the environment, in bytes, to change
 * it at start-up). Stacks do not grow. The stack size, the default or
 * go_attr.stack_size, is the one figure a stack-overflow report and a
 * goroutine dump state; it holds the goroutine's frames and, in its top
 * few hundred bytes, its descriptor and any go_copy() block. Below it lies
 * a 16 KiB guard, so a default stack reserves 256 KiB of address space,
 * of which only the pages touched are committed; once the goroutine has
 * been parked a while, the committed pages below its stack pointer go
 * back to the system (GOROUTINE_STACK_TRIM=off keeps them, as do builds
 * with the portable ucontext switch and kernels without membarrier(2);
 * the count is go_stats' stack_trims). Does not block, but a
 * calling goroutine that has used up its time slice (sysmon asked it to
 * yield after 10 ms, or it has queued thousands of goroutines nobody has
 * run yet) yields here first: go() is a preemption point, as every call
 * is in Go. go_copy() and go_spawn() too.
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
    size_t stack_size;  /* bytes of stack (see go()); 0 = the default */
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
 * Debugging: with the environment variable GOROUTINE_SCHED_RANDOM=1 at
 * start-up, a goroutine that would run next on its thread (one just
 * spawned, or one just woken by the running goroutine) is queued behind
 * the others instead, half of the time at random (Go does this in its race
 * builds). Code that relies on which goroutine runs first, rather than on
 * channels, WaitGroups or locks, then shows its bug.
 *
 * Returns the previous value (as set: the Ps lent while goroutines sleep
 * in unbracketed calls do not count, see "Blocking system calls"), or
 * -EINVAL if n > GO_MAXPROCS_MAX.
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
 * go_main - run fn(argc, argv) as a goroutine and wait for it from the
 * calling thread (Go's main goroutine); returns what fn returns. The
 * recommended shape of a program:
 *
 *     static int real_main(int argc, char **argv) { ... }
 *     int main(int argc, char **argv) { return go_main(real_main, argc, argv); }
 *
 * A goroutine blocks and wakes by switching stacks on its own thread,
 * while main() itself is a plain thread, whose every wait on a channel,
 * WaitGroup, mutex or timer costs more than a goroutine's. fn runs on an
 * 8 MiB stack (reserved, and committed as it is touched), like a C main
 * thread's. The calling thread
 * blocks until fn returns; goroutines still running then keep running
 * until the program exits, as in Go. If fn calls go_exit(), go_main never
 * returns (when every other goroutine has exited or blocked, the program
 * dies with Go's "all goroutines are asleep - deadlock!").
 *
 * Returns fn's result, or, if its goroutine cannot be started:
 *   -EINVAL  fn is NULL.
 *   -ENOMEM, -EAGAIN as go().
 */
GO_API int go_main(int (*fn)(int argc, char **argv), int argc, char **argv);

/*
 * go_errno - the calling goroutine's (or thread's) errno, read through a
 * fresh look-up of errno's address. Use it instead of `errno` after a
 * call that may block or yield in a function that also used errno before
 * that call (see the conventions above). Never blocks, never fails.
 */
GO_API int go_errno(void);

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


/* ------------------------------------------------------------------------
 * Channels (Go's chan)
 *
 * A channel carries fixed-size elements, copied in and out by value. It has
 * an explicit owner who frees it with go_chan_free() once no goroutine can
 * use it any more (there is no garbage collector): typically the receiver
 * after it has seen the channel closed, or whoever created it after a
 * go_wg_wait(). A NULL channel is Go's nil channel: send and receive block
 * forever, and a NULL case in a select never fires.
 * ---------------------------------------------------------------------- */

typedef struct go_chan go_chan;

/* Largest element size, as Go's (64 KiB). */
#define GO_CHAN_ELEM_MAX 65536

/*
 * go_chan_make - a channel of elements of elem_size bytes (0 is allowed:
 * a signal channel, Go's chan struct{}) with a buffer of cap elements
 * (0: unbuffered). Returns NULL with errno EINVAL (elem_size above
 * GO_CHAN_ELEM_MAX, cap above 2^40 -- so a negative number converted to
 * size_t, such as (size_t)-1, even with elem_size 0 -- or elem_size * cap
 * above 2^40 bytes) or ENOMEM.
 */
GO_API go_chan *go_chan_make(size_t elem_size, size_t cap);

/*
 * go_chan_free - free a channel. NULL does nothing. Freeing a channel that
 * still has goroutines or threads blocked on it is a fatal error ("free of
 * channel with blocked goroutines"). Using the channel afterwards, freeing
 * it again, or passing a pointer that is not a channel to any go_chan_*
 * function or go_select is a fatal error too ("use of freed or invalid
 * channel", "go_chan_free of freed or invalid channel"), as far as it can
 * be detected: not once the memory has been reused for another channel.
 * Buffered values not received are discarded.
 */
GO_API void go_chan_free(go_chan *c);

/*
 * go_chan_send - send the element at elem (Go's c <- v): elem_size bytes
 * are copied from elem (which may be NULL only when elem_size is 0).
 * Blocks until a receiver takes it or, for a buffered channel, until there
 * is room. On a closed channel, or if the channel is closed while blocked:
 * Go's fatal "panic: send on closed channel". NULL c blocks forever. Blocked
 * senders are served in FIFO order.
 */
GO_API void go_chan_send(go_chan *c, const void *elem);

/*
 * go_chan_recv - receive into elem (Go's v, ok := <-c); elem may be NULL to
 * discard the value. Blocks until a value is available or the channel is
 * closed and drained. Returns true for a value, false if the channel is
 * closed and empty (elem is then zeroed). NULL c blocks forever. Blocked
 * receivers are served in FIFO order.
 */
GO_API bool go_chan_recv(go_chan *c, void *elem);

/* go_chan_try_send - send without blocking (Go's select with default).
 * Returns true if sent, false if it would block (always for NULL c).
 * Closed: fatal as send. */
GO_API bool go_chan_try_send(go_chan *c, const void *elem);

/* go_chan_try_recv - receive without blocking. Returns true if the receive
 * completed (*ok, if ok is non-NULL, says value (true) or closed (false),
 * elem zeroed), false if it would block, always for NULL c (elem and *ok
 * untouched). */
GO_API bool go_chan_try_recv(go_chan *c, void *elem, bool *ok);

/* go_chan_send_timeout - go_chan_send giving up after timeout_ns; with
 * timeout_ns <= 0 it tries once without blocking. Returns 0 if sent,
 * -ETIMEDOUT if not (nothing was sent). NULL c times out. Closed: fatal
 * as send. */
GO_API int go_chan_send_timeout(go_chan *c, const void *elem, int64_t timeout_ns);

/* go_chan_recv_timeout - go_chan_recv giving up after timeout_ns; with
 * timeout_ns <= 0 it tries once without blocking. Returns 0 if the receive
 * completed (*ok as go_chan_try_recv), -ETIMEDOUT if not (nothing was
 * received; elem and *ok untouched). NULL c times out. */
GO_API int go_chan_recv_timeout(go_chan *c, void *elem, bool *ok, int64_t timeout_ns);

/*
 * go_chan_close - close the channel (Go's close(c)): blocked receivers get
 * "closed", blocked senders die with "panic: send on closed channel".
 * Closing a closed channel is Go's "panic: close of closed channel"; a NULL
 * one "panic: close of nil channel".
 */
GO_API void go_chan_close(go_chan *c);

/* go_chan_len / go_chan_cap - elements buffered / buffer size (0 for NULL).
 * len is a snapshot: other goroutines may change it at once. */
GO_API size_t go_chan_len(go_chan *c);
GO_API size_t go_chan_cap(go_chan *c);

/* ------------------------------------------------------------------------
 * select
 * ---------------------------------------------------------------------- */

enum { GO_SELECT_SEND = 1, GO_SELECT_RECV = 2 };
/* Descriptor cases: see GO_READABLE / GO_WRITABLE. */
enum { GO_SELECT_READABLE = 3, GO_SELECT_WRITABLE = 4 };

/* One case of a select. Build it with GO_SEND / GO_RECV / GO_READABLE /
 * GO_WRITABLE. */
typedef struct go_select_case {
    go_chan *chan;  /* NULL: the case never fires */
    int dir;        /* GO_SELECT_SEND or GO_SELECT_RECV (or _READABLE, _WRITABLE) */
    void *elem;     /* send: the value to send; recv: where to store (may be NULL) */
    bool *ok;       /* recv: set to false if the channel was closed (may be NULL) */
    int fd;         /* _READABLE, _WRITABLE: the descriptor (< 0: never fires) */
} go_select_case;

#define GO_SEND(c, valp) \
    ((go_select_case){.chan = (c), .dir = GO_SELECT_SEND, .elem = (void *)(valp), .ok = NULL})
#define GO_RECV(c, valp, okp) \
    ((go_select_case){.chan = (c), .dir = GO_SELECT_RECV, .elem = (valp), .ok = (okp)})

/*
 * GO_READABLE(fd) / GO_WRITABLE(fd) - a select case that fires when fd is
 * ready for reading / writing, mixed freely with channel cases (something
 * Go's select cannot do). The case does no I/O and writes nothing: the
 * caller reads or writes after the select returns its index. Readiness is
 * poll(2)'s (level-triggered): the case fires when a go_read / go_write on
 * fd would not have to wait, i.e. when
 *   - data (readable) or buffer room (writable) is there; for a listening
 *     socket, a connection to accept;
 *   - end of file, a hang-up or an error is pending (the call returns it);
 *   - the descriptor's read (write) deadline has passed (the call returns
 *     -ETIMEDOUT: move the deadline, or the case fires at once every time);
 *   - go_close(fd) was called, before or during the select, or fd is not
 *     open (poll(2)'s POLLNVAL): the call returns -EBADF (go_close waits
 *     for a select under way to leave, so the number cannot be reused
 *     under it). The select returns as soon as go_close has begun; a call
 *     on fd made before that go_close has returned races it, as any call
 *     concurrent with go_close does;
 *   - fd cannot be polled (a regular file): always.
 * As with poll(2), readiness can be taken away before the call by another
 * reader, which then waits as usual. A negative fd never fires (as a NULL
 * channel, or a negative fd in poll(2)). Any descriptor works, as for
 * go_fd_wait. A select with descriptor cases makes one allocation, and a
 * poll(2) per descriptor case each time it looks; besides the errors
 * listed under go_select it can return -ENOMEM (no memory for the
 * descriptor cases' bookkeeping, or for the poller's), having done nothing.
 */
#define GO_READABLE(f) \
    ((go_select_case){.chan = NULL, .dir = GO_SELECT_READABLE, .elem = NULL, .ok = NULL, .fd = (f)})
#define GO_WRITABLE(f) \
    ((go_select_case){.chan = NULL, .dir = GO_SELECT_WRITABLE, .elem = NULL, .ok = NULL, .fd = (f)})

/*
 * go_select - wait until one of n cases can proceed, do it, and return its
 * index (Go's select). Among ready cases the choice is uniformly random.
 * Only the chosen case's elem/ok are written. Duplicate channels are
 * allowed. With n == 0 or only NULL channels it blocks forever (Go's
 * select {}). A chosen send on a closed channel panics as go_chan_send.
 * Up to 16 cases need no memory; beyond that the select allocates one
 * block for its bookkeeping. Descriptor cases (GO_READABLE, GO_WRITABLE)
 * take part in the random choice like channel cases. Returns, having done
 * nothing:
 *   -EINVAL  cases is NULL with n > 0, n > INT_MAX, or a case has an
 *            invalid dir (also for a case with a NULL channel).
 *   -ENOMEM  more than 16 cases and no memory for them.
 */
GO_API int go_select(go_select_case *cases, size_t n);

/* go_select_try - as go_select, but returns -1 at once if no case is ready
 * (Go's select with a default case). */
GO_API int go_select_try(go_select_case *cases, size_t n);

/* go_select_timeout - as go_select, but returns -ETIMEDOUT if no case
 * became ready within timeout_ns (at once if timeout_ns <= 0: then it is
 * go_select_try with -ETIMEDOUT for -1). With only NULL channels it just
 * waits for the timeout. */
GO_API int go_select_timeout(go_select_case *cases, size_t n, int64_t timeout_ns);

/* ------------------------------------------------------------------------
 * sync: Mutex, RWMutex, Once, Cond, semaphore
 *
 * Each is zero-initialisable (or use its GO_*_INIT), may live anywhere
 * (static, heap, stack), needs no destroy, and works for goroutines and
 * plain threads alike. None may be copied once in use.
 * ---------------------------------------------------------------------- */

typedef struct go_mutex {
    uint64_t opaque_[1];
} go_mutex;
#define GO_MUTEX_INIT {{0}}

/* go_mutex_lock - lock, blocking while another holder has it (Go's
 * sync.Mutex: spins briefly, then parks; a waiter that waited over 1 ms
 * switches the mutex to starvation mode, where ownership is handed
 * directly to the oldest waiter). */
GO_API void go_mutex_lock(go_mutex *m);
/* go_mutex_trylock - lock if free; returns true if locked. Never blocks. */
GO_API bool go_mutex_trylock(go_mutex *m);
/* go_mutex_unlock - unlock. Any goroutine or thread may unlock (as Go).
 * Unlocking an unlocked mutex is Go's "fatal error: sync: unlock of
 * unlocked mutex". */
GO_API void go_mutex_unlock(go_mutex *m);

typedef struct go_rwmutex {
    uint64_t opaque_[4];
} go_rwmutex;
#define GO_RWMUTEX_INIT {{0, 0, 0, 0}}

/* go_rwmutex_rlock / runlock / lock / unlock / tryrlock / trylock - Go's
 * sync.RWMutex: many readers or one writer; a blocked writer keeps new
 * readers out (writer preference), so writers do not starve. Misuse is
 * fatal with Go's messages ("sync: RUnlock of unlocked RWMutex",
 * "sync: Unlock of unlocked RWMutex"). */
GO_API void go_rwmutex_rlock(go_rwmutex *rw);
GO_API void go_rwmutex_runlock(go_rwmutex *rw);
GO_API void go_rwmutex_lock(go_rwmutex *rw);
GO_API void go_rwmutex_unlock(go_rwmutex *rw);
GO_API bool go_rwmutex_tryrlock(go_rwmutex *rw);
GO_API bool go_rwmutex_trylock(go_rwmutex *rw);

typedef struct go_once {
    uint64_t opaque_[2];
} go_once;
#define GO_ONCE_INIT {{0, 0}}

/* go_once_do - call fn(arg) if no call on this once has happened yet (Go's
 * sync.Once.Do). Every caller returns only after fn has returned. */
GO_API void go_once_do(go_once *once, go_func fn, void *arg);

typedef struct go_cond {
    uint64_t opaque_[2];
} go_cond;
#define GO_COND_INIT {{0, 0}}

/* go_cond_wait - atomically unlock m and wait for a signal, then relock m
 * before returning (Go's sync.Cond.Wait, with the mutex passed in as in
 * pthreads). Wake-ups are not spurious but, as in Go, the condition must
 * still be re-checked in a loop. */
GO_API void go_cond_wait(go_cond *c, go_mutex *m);
/* go_cond_signal - wake one waiter, if any. Never blocks. */
GO_API void go_cond_signal(go_cond *c);
/* go_cond_broadcast - wake every waiter. Never blocks. */
GO_API void go_cond_broadcast(go_cond *c);

/* A counting semaphore; zero-initialised it holds 0 units. */
typedef struct go_sema {
    uint64_t opaque_[1];
} go_sema;
#define GO_SEMA_INIT(n) {{(uint64_t)(n)}}

/* go_sema_acquire - take one unit, blocking while there are none. */
GO_API void go_sema_acquire(go_sema *s);
/* go_sema_try_acquire - take one unit if there is one; true if taken. */
GO_API bool go_sema_try_acquire(go_sema *s);
/* go_sema_acquire_timeout - 0 if a unit was taken, -ETIMEDOUT if none
 * came within timeout_ns. */
GO_API int go_sema_acquire_timeout(go_sema *s, int64_t timeout_ns);
/* go_sema_release - add n units, waking waiters FIFO. Never blocks. */
GO_API void go_sema_release(go_sema *s, uint32_t n);

/* ------------------------------------------------------------------------
 * Time: sleep, timers, tickers (Go's time package)
 * ---------------------------------------------------------------------- */

/* go_now - the monotonic clock, in nanoseconds. */
GO_API int64_t go_now(void);

/* go_sleep - block for at least ns nanoseconds (returns at once if ns <= 0). */
GO_API void go_sleep(int64_t ns);

/*
 * go_after - a channel (capacity 1, element int64_t) that receives go_now()
 * once, ns from now (Go's time.After). The caller frees it with
 * go_chan_free(), which stops the timer if it has not fired. NULL with
 * errno ENOMEM on failure.
 */
GO_API go_chan *go_after(int64_t ns);

typedef struct go_timer go_timer;

/* go_timer_new - a timer that sends go_now() on its channel once, ns from
 * now (Go's time.NewTimer). NULL with errno ENOMEM on failure (for the
 * timer, its channel, or a slot in the runtime's timer queues). */
GO_API go_timer *go_timer_new(int64_t ns);
/* go_timer_func - a timer that runs fn(arg) in its own goroutine, ns from
 * now (Go's time.AfterFunc); it has no channel. NULL with errno EINVAL (fn
 * NULL) or ENOMEM. */
GO_API go_timer *go_timer_func(int64_t ns, go_func fn, void *arg);
/* go_timer_chan - the timer's channel (NULL for a go_timer_func timer, and
 * for NULL t). The timer owns it: receive from it and select on it, but do
 * not close or free it; go_timer_free() frees it, after which it must not
 * be used. */
GO_API go_chan *go_timer_chan(go_timer *t);
/* go_timer_stop - prevent the timer from firing. Returns true if this call
 * stopped it, false if it had already fired or been stopped, and for NULL
 * t (Go's Timer.Stop; as in Go, a value already sent stays in the
 * channel). For a go_timer_func timer, false means fn's goroutine has been
 * or is being started; go_timer_stop() does not wait for fn to finish. */
GO_API bool go_timer_stop(go_timer *t);
/* go_timer_reset - make the timer fire ns from now. Returns true if it had
 * been active (Go's Timer.Reset); false for NULL t. Re-arming a timer that had fired or been
 * stopped takes a slot in the runtime's timer queues: if memory for it
 * runs out, returns false with errno ENOMEM and the timer stays stopped
 * (set errno to 0 before the call to tell this from a plain false). An
 * active timer is always reset. */
GO_API bool go_timer_reset(go_timer *t, int64_t ns);
/* go_timer_free - stop and free the timer and its channel. NULL is ok. If
 * the timer is firing on another thread at that moment, waits for that to
 * end (for go_timer_func: until fn's goroutine has been started), so the
 * timer is never touched after this returns. It does not wait for fn
 * itself, which runs in its own goroutine and may still be running (or
 * about to run) when go_timer_free() returns: fn and its arg do not depend
 * on the timer, but whatever arg points to must outlive fn. May be called
 * from fn. */
GO_API void go_timer_free(go_timer *t);

typedef struct go_ticker go_ticker;

/* go_ticker_new - a ticker sending go_now() every period ns on a channel of
 * capacity 1; ticks are dropped for a slow receiver (Go's time.NewTicker).
 * NULL with errno EINVAL if period <= 0, ENOMEM on failure. */
GO_API go_ticker *go_ticker_new(int64_t period);
/* go_ticker_chan - the ticker's channel (NULL for NULL t). The ticker owns
 * it, as a timer owns its channel (go_timer_chan): do not close or free
 * it; go_ticker_free() frees it. */
GO_API go_chan *go_ticker_chan(go_ticker *t);
/* go_ticker_stop - stop ticking (the channel stays valid). NULL: nothing.
 * Waits for a tick being delivered on another thread, if any: no tick is
 * sent after it returns (one sent before stays in the channel). */
GO_API void go_ticker_stop(go_ticker *t);
/* go_ticker_reset - stop and restart with a new period. 0, or -EINVAL if
 * period <= 0 or t is NULL (nothing changes), or -ENOMEM if the ticker had been stopped
 * and no slot in the runtime's timer queues could be had (it stays
 * stopped). */
GO_API int go_ticker_reset(go_ticker *t, int64_t period);
/* go_ticker_free - stop and free the ticker and its channel, waiting for a
 * tick being delivered on another thread, if any. NULL is ok. */
GO_API void go_ticker_free(go_ticker *t);

/* ------------------------------------------------------------------------
 * Contexts: cancellation (Go's context package)
 *
 * A context is cancelled explicitly, by its deadline, or when its parent
 * is; cancellation propagates to every descendant. Each derived context is
 * owned by its creator, who frees it with go_ctx_free() (which cancels it
 * first). Free children before their parent. Freeing a parent that still
 * has children is tolerated (they are cancelled and detached, and are
 * freed later as usual), but not while one of them is being freed on
 * another thread. go_ctx_cancel() may be called from any thread, any
 * number of times, until go_ctx_free() of the same context starts. None
 * of these functions blocks; go_ctx_free() may wait briefly for a deadline
 * timer or a parent's cancellation that is running on another thread.
 * ---------------------------------------------------------------------- */

typedef struct go_ctx go_ctx;

/* go_ctx_background - the root context: never cancelled, never freed. */
GO_API go_ctx *go_ctx_background(void);
/* go_ctx_with_cancel - a child of parent cancelled by go_ctx_cancel().
 * NULL with errno EINVAL (parent NULL) or ENOMEM. */
GO_API go_ctx *go_ctx_with_cancel(go_ctx *parent);
/* go_ctx_with_timeout - a child cancelled timeout_ns from now at the
 * latest (go_ctx_with_deadline with go_now() + timeout_ns, saturating).
 * NULL with errno EINVAL (parent NULL) or ENOMEM. timeout_ns <= 0 is not
 * an error: the child is returned already cancelled, go_ctx_err()
 * -ETIMEDOUT. */
GO_API go_ctx *go_ctx_with_timeout(go_ctx *parent, int64_t timeout_ns);
/* go_ctx_with_deadline - a child cancelled at go_now() == deadline at the
 * latest. NULL with errno EINVAL (parent NULL) or ENOMEM. A deadline
 * already past is not an error: the child is returned cancelled,
 * go_ctx_err() -ETIMEDOUT. A deadline later than the parent's gives the
 * parent's (go_ctx_deadline reports it); a cancelled parent gives a child
 * born cancelled with the parent's error. */
GO_API go_ctx *go_ctx_with_deadline(go_ctx *parent, int64_t deadline);
/* go_ctx_cancel - cancel ctx and all its descendants (-ECANCELED).
 * Idempotent. When it returns, ctx's done channel is closed, even if a
 * deadline or another thread cancelled it first. NULL or the background
 * context: nothing. */
GO_API void go_ctx_cancel(go_ctx *ctx);
/* go_ctx_done - a channel closed when ctx is cancelled; receive on it or
 * use it in a select. NULL (never ready) for the background context and
 * for NULL. Owned by ctx: do not close or free it; go_ctx_free() frees
 * it. */
GO_API go_chan *go_ctx_done(go_ctx *ctx);
/* go_ctx_err - 0 while ctx is live, -ECANCELED once cancelled, -ETIMEDOUT
 * once its deadline passed (Go's context.Canceled / DeadlineExceeded).
 * Always 0 for NULL, as for the background context. Never blocks. */
GO_API int go_ctx_err(go_ctx *ctx);
/* go_ctx_deadline - the deadline (go_now() scale) in *deadline and true, or
 * false if ctx has none (also for NULL and the background context).
 * deadline may be NULL. */
GO_API bool go_ctx_deadline(go_ctx *ctx, int64_t *deadline);
/* go_ctx_free - cancel ctx (if live) and free it. NULL or background: nothing. */
GO_API void go_ctx_free(go_ctx *ctx);

/* ------------------------------------------------------------------------
 * Network and I/O (Go's net and internal/poll, on the netpoller)
 *
 * Reads, writes, accepts and connects that would block park the calling
 * goroutine (or put the calling plain thread to sleep) until the runtime's
 * poller (epoll) reports the descriptor ready; the OS thread meanwhile
 * runs other goroutines. Errors are returned as negative errno values,
 * never through errno.
 *
 * Which descriptors. Any descriptor works:
 *  - Sockets (whether or not O_NONBLOCK is set) are read and written with
 *    recv/send and MSG_DONTWAIT, so their flags are never changed; sends
 *    use MSG_NOSIGNAL: a reset peer gives -EPIPE or -ECONNRESET, never
 *    SIGPIPE.
 *  - Pipes, FIFOs, terminals and other pollable descriptors: if O_NONBLOCK
 *    is set they are used directly; if not, the call first waits until
 *    poll(2) says the descriptor is ready, then makes the (blocking)
 *    system call in syscall mode (go_syscall_enter), writing at most
 *    PIPE_BUF bytes per call. The flag is never changed, since a parent
 *    process may share the descriptor. Caveat: if another reader (or
 *    process) takes the data between the readiness check and the read, the
 *    read blocks its thread until more data comes; other goroutines keep
 *    running, but deadlines and go_close() cannot interrupt it. Writes to a
 *    pipe with no reader raise SIGPIPE, as write(2) does.
 *  - Regular files, directories, block devices and descriptors epoll
 *    refuses (/dev/null): the plain system call in syscall mode.
 * Descriptors made by go_listen(), go_dial() and go_accept() are
 * non-blocking and close-on-exec. The runtime remembers, per descriptor
 * number, its kind, deadlines and poller registration: close descriptors
 * used with these functions with go_close(), not close(). (A number closed
 * with close() and reused still works, but it keeps the deadlines set on
 * it.)
 *
 * Deadlines are absolute times on the go_now() clock, as Go's
 * SetDeadline: once a descriptor's read (write) deadline has passed, every
 * read (write) on it, waiting or not, returns -ETIMEDOUT until the deadline
 * is moved or cleared; the connection itself is unaffected. The *_timeout
 * calls take a per-call duration instead; both apply when both are set.
 * ---------------------------------------------------------------------- */

#ifdef __cplusplus
}
#endif
#include <sys/socket.h>
#include <sys/types.h>
#include <sys/uio.h>
#ifdef __cplusplus
extern "C" {
#endif

/* Events for go_fd_wait(). */
#define GO_POLL_IN 1
#define GO_POLL_OUT 2

/*
 * go_read - read up to n bytes from fd into buf (Go's conn.Read). Blocks
 * until at least one byte is available, end of file, an error, or the
 * descriptor's read deadline. n == 0 returns 0 at once.
 *
 * Returns the number of bytes read (> 0), 0 at end of file (the peer shut
 * down or closed its side), or:
 *   -ETIMEDOUT   the read deadline (go_set_read_deadline) has passed.
 *   -EBADF       fd is not open, or go_close() was called on it (also
 *                while this call waited).
 *   -ECONNRESET  the peer reset the connection; other errors of recv(2)
 *                or read(2) likewise (-ENOTCONN, -EIO, -EISDIR, ...).
 *   -ENOMEM      no memory for the poller's bookkeeping.
 */
GO_API ssize_t go_read(int fd, void *buf, size_t n);

/* go_read_timeout - go_read giving up after timeout_ns (<= 0: only if data
 * is available right now) with -ETIMEDOUT; nothing has been read then.
 * The descriptor's own read deadline applies too. */
GO_API ssize_t go_read_timeout(int fd, void *buf, size_t n, int64_t timeout_ns);

/*
 * go_readv - go_read into iovcnt buffers (readv(2)). Returns as go_read;
 * also -EINVAL if iovcnt is negative or above IOV_MAX (1024), or the
 * lengths add up to more than SSIZE_MAX.
 */
GO_API ssize_t go_readv(int fd, const struct iovec *iov, int iovcnt);

/*
 * go_write - write all n bytes of buf to fd (Go's conn.Write), in as many
 * system calls as it takes. Blocks while the descriptor cannot take more.
 *
 * Returns n, or an error. An error can come after part of the data was
 * written; how much is then not reported (in Go, too, a failed Write
 * usually leaves a stream fit only for closing; a caller that must resume
 * after a deadline can write in pieces it keeps track of):
 *   -ETIMEDOUT   the write deadline has passed.
 *   -EBADF       fd is not open, or go_close() was called on it (also
 *                while this call waited).
 *   -EPIPE       the connection is closed for writing (the peer closed or
 *                reset it, or shutdown(SHUT_WR) was called); sockets get no
 *                SIGPIPE.
 *   -ECONNRESET  the peer reset the connection; other errors of send(2) /
 *                write(2) likewise (-ENOSPC, -EIO, ...).
 *   -EINVAL      n > SSIZE_MAX.
 *   -ENOMEM      as go_read.
 * n == 0 returns 0 at once.
 */
GO_API ssize_t go_write(int fd, const void *buf, size_t n);

/* go_write_timeout - go_write giving up after timeout_ns with -ETIMEDOUT
 * (some of the data may have been written, as for any go_write error). */
GO_API ssize_t go_write_timeout(int fd, const void *buf, size_t n, int64_t timeout_ns);

/* go_writev - go_write of iovcnt buffers, all of them (writev(2)). Returns
 * their total length or an error, as go_write; also -EINVAL for iovcnt as
 * go_readv. The iov array is not modified. */
GO_API ssize_t go_writev(int fd, const struct iovec *iov, int iovcnt);

/*
 * go_accept - accept a connection on the listening socket fd (Go's
 * Listener.Accept). Blocks until a connection arrives, the read deadline
 * of fd passes, or fd is closed. The new descriptor is non-blocking,
 * close-on-exec, registered with the poller and, for TCP, has TCP_NODELAY
 * set (as Go). addr/addrlen may be NULL; otherwise as accept(2): *addrlen
 * is the size of addr on entry and the peer address's length on return.
 * Connections that failed while queued (-ECONNABORTED and the like) are
 * skipped, not reported.
 *
 * Returns the new descriptor, or:
 *   -EMFILE / -ENFILE  out of descriptors. The connection stays queued; a
 *                server loop should sleep and retry (Go's HTTP server
 *                sleeps 5 ms, doubling up to 1 s) rather than spin.
 *   -ENOBUFS / -ENOMEM out of memory.
 *   -ETIMEDOUT   the read deadline of fd has passed.
 *   -EBADF       fd is not open, or was closed by go_close().
 *   -EINVAL      fd is not listening; -ENOTSOCK, -EOPNOTSUPP as accept(2).
 */
GO_API int go_accept(int fd, struct sockaddr *addr, socklen_t *addrlen);

/*
 * go_connect - connect the socket fd to addr (connect(2)). Blocks until
 * the connection is established or fails, or the write deadline of fd
 * passes. On a socket without O_NONBLOCK the connect(2) itself blocks its
 * thread in syscall mode (other goroutines keep running; deadlines do not
 * apply).
 *
 * Returns 0, or:
 *   -ECONNREFUSED, -ENETUNREACH, -EHOSTUNREACH, -EADDRNOTAVAIL ... as
 *                connect(2).
 *   -ETIMEDOUT   the write deadline passed, or the kernel gave up.
 *   -EAGAIN      (unix sockets) the listener's queue is full.
 *   -EBADF, -ENOTSOCK, -ENOMEM.
 */
GO_API int go_connect(int fd, const struct sockaddr *addr, socklen_t addrlen);

/*
 * go_listen - a listening socket (Go's net.Listen). network is "tcp",
 * "tcp4", "tcp6" or "unix" (or a datagram network: see "Datagrams" below
 * go_dial). For TCP, address is "host:port", "[ipv6]:port"
 * or ":port"; an empty host listens on every address (for "tcp": IPv6
 * and IPv4 on one socket if the system has IPv6, else IPv4 only); a host
 * name is resolved (without holding up other goroutines) and the first
 * IPv4 address is preferred, as Go does; port 0 picks a free port (ask
 * getsockname(2) which). SO_REUSEADDR is set. For "unix", address is a
 * file system path, or "@name" for the Linux abstract namespace; the
 * caller removes the file when done. backlog <= 0 means the system's
 * maximum (net.core.somaxconn). Blocks only while resolving a name.
 *
 * Returns a non-blocking, close-on-exec descriptor (close it with
 * go_close()), or:
 *   -EINVAL           network or address NULL, or address malformed (no
 *                     port, too many colons, bad port number).
 *   -EPROTONOSUPPORT  network is not one of the four (or the datagram
 *                     networks below).
 *   -EADDRNOTAVAIL    the host name does not resolve (or not to an address
 *                     of the network's family), or is not local.
 *   -EAGAIN           temporary failure resolving the name.
 *   -EADDRINUSE, -EACCES, -ENAMETOOLONG (unix path over 107 bytes),
 *   -EMFILE, -ENFILE, -ENOMEM, -EAFNOSUPPORT ... as socket/bind/listen(2).
 */
GO_API int go_listen(const char *network, const char *address, int backlog);

/*
 * go_dial - connect to address on network (Go's net.Dial): networks and
 * address forms as go_listen; an empty host means the local system. A host
 * name is resolved without holding up other goroutines, and its addresses
 * are tried in order until one connects. TCP connections get TCP_NODELAY.
 * Blocks until connected or failed.
 *
 * Returns a non-blocking, close-on-exec connected descriptor (close it
 * with go_close()), or the error of the first address that failed
 * (-ECONNREFUSED, -ENETUNREACH, -ETIMEDOUT, -ENOENT for a missing unix
 * socket, ...) or the errors of go_listen about network and address.
 */
GO_API int go_dial(const char *network, const char *address);

/*
 * Datagrams. go_listen and go_dial also take "udp", "udp4", "udp6" (UDP;
 * addresses as for TCP) and "unixgram" (addresses as for "unix"):
 *  - go_listen binds a datagram socket (no listen(2); backlog is ignored)
 *    that go_recvfrom/go_recvmsg read and go_sendto/go_sendmsg answer
 *    from. "udp" with an empty host is dual-stack as for TCP. UDP sockets
 *    get no SO_REUSEADDR.
 *  - go_dial gives a connected datagram socket: go_read reads one datagram
 *    (the rest of one larger than n is dropped, as recv(2)), go_write sends
 *    one datagram of n bytes (-EMSGSIZE if too large; n == 0 sends
 *    nothing: use go_sendto for an empty datagram). Connecting a datagram
 *    socket never waits. A "unixgram" socket from go_dial is also bound to
 *    an automatic abstract address (Linux autobind), so the other side
 *    can answer it; one from go_listen is bound to the given path.
 * Datagrams may be lost (UDP) or refused (-ECONNREFUSED on a connected UDP
 * socket after an ICMP port-unreachable); nothing is retransmitted.
 */

/*
 * go_recvfrom - recvfrom(2) (same argument order) on the socket fd that
 * parks instead of blocking: waits until a datagram (or, on a stream
 * socket, data or end of file) arrives, the read deadline of fd passes,
 * or fd is closed. flags are recv(2)'s (MSG_PEEK, MSG_TRUNC, ...);
 * MSG_DONTWAIT among them means do not wait (-EAGAIN). from/fromlen may
 * be NULL; otherwise *fromlen is the size of from on entry and the
 * sender address's length on return (from is not written if no address
 * came, as for a connected stream).
 *
 * Returns the datagram's length (0 for an empty datagram, or end of file
 * on a stream; with MSG_TRUNC the datagram's real length), or:
 *   -ETIMEDOUT   the read deadline (go_set_read_deadline) has passed.
 *   -EBADF       fd is not open, or was closed by go_close() (also while
 *                this call waited).
 *   -ENOTSOCK    fd is not a socket.
 *   -EINVAL      buf NULL with n > 0, or from without fromlen.
 *   -EAGAIN      nothing queued and flags has MSG_DONTWAIT.
 *   -ECONNREFUSED (connected UDP socket: an earlier datagram was refused)
 *                and other errors of recvfrom(2); -ENOMEM.
 */
GO_API ssize_t go_recvfrom(int fd, void *buf, size_t n, int flags, struct sockaddr *from,
                           socklen_t *fromlen);

/*
 * go_sendto - sendto(2) (same argument order) on the socket fd that parks
 * instead of blocking while the socket cannot take the datagram; waits at
 * most until the write deadline of fd passes or fd is closed. to may be
 * NULL on a connected socket. MSG_NOSIGNAL is always added; MSG_DONTWAIT
 * in flags means do not wait (-EAGAIN). A datagram goes whole or not at
 * all; on a stream socket this is one send(2) and may be short.
 *
 * Returns the bytes sent (n for a datagram; an empty datagram, n == 0, is
 * allowed), or:
 *   -ETIMEDOUT   the write deadline has passed.
 *   -EBADF, -ENOTSOCK, -EAGAIN   as go_recvfrom.
 *   -EINVAL      buf NULL with n > 0, or n > SSIZE_MAX.
 *   -EMSGSIZE    too large for one datagram; -EDESTADDRREQ (not
 *                connected and to is NULL), -ECONNREFUSED, -ENETUNREACH,
 *                -EPIPE and other errors of sendto(2); -ENOMEM.
 */
GO_API ssize_t go_sendto(int fd, const void *buf, size_t n, int flags, const struct sockaddr *to,
                         socklen_t tolen);

/* go_recvmsg - recvmsg(2) on the socket fd, parking as go_recvfrom (read
 * deadline, go_close, MSG_DONTWAIT). msg->msg_namelen and
 * msg->msg_controllen are the buffers' sizes on entry and, as recvmsg(2),
 * what was received on return; msg_flags says MSG_TRUNC / MSG_CTRUNC.
 * Returns the bytes received, or the errors of go_recvfrom (-EINVAL: msg
 * NULL; -EMSGSIZE: too many iovecs). */
GO_API ssize_t go_recvmsg(int fd, struct msghdr *msg, int flags);

/* go_sendmsg - sendmsg(2) on the socket fd, parking as go_sendto (write
 * deadline, go_close, MSG_DONTWAIT); msg is not modified. Returns the
 * bytes sent, or the errors of go_sendto (-EINVAL: msg NULL). */
GO_API ssize_t go_sendmsg(int fd, const struct msghdr *msg, int flags);

/* go_dial_timeout - go_dial giving up after timeout_ns with -ETIMEDOUT
 * (the time spent resolving a name counts, but resolution itself is not
 * interrupted). */
GO_API int go_dial_timeout(const char *network, const char *address, int64_t timeout_ns);

/*
 * go_close - close fd (Go's conn.Close). Every goroutine or thread waiting
 * on fd in these functions wakes up with -EBADF, calls that start later get
 * -EBADF, and the descriptor is closed once the calls in progress have
 * returned, so the number cannot be reused under a running call. Blocks
 * only for that (calls inside a blocking system call, see above, are
 * waited for). Works on any descriptor, including ones never used with
 * this library.
 *
 * Returns 0, or -EBADF (fd not open, or being closed by another
 * go_close()), or -EIO and others of close(2). As on Linux close(2), the
 * descriptor is closed even when an error is returned. As with close(2),
 * closing a number again after go_close() has returned is a bug: by then
 * the number may belong to another file.
 */
GO_API int go_close(int fd);

/*
 * go_set_deadline / go_set_read_deadline / go_set_write_deadline - set
 * when reads, writes, or both on fd start failing with -ETIMEDOUT (Go's
 * SetDeadline): `deadline` is an absolute go_now() time, 0 clears it. A
 * deadline already in the past makes waiting calls return -ETIMEDOUT at
 * once. The read deadline also limits go_accept() and waits for
 * GO_POLL_IN, the write deadline go_connect() and waits for GO_POLL_OUT.
 * Never blocks (except briefly for a deadline timer that is firing).
 * Returns 0, or -EBADF (fd negative, or being closed) or -ENOMEM.
 */
GO_API int go_set_deadline(int fd, int64_t deadline);
GO_API int go_set_read_deadline(int fd, int64_t deadline);
GO_API int go_set_write_deadline(int fd, int64_t deadline);

/*
 * go_fd_wait - wait until fd is ready for any of `events` (GO_POLL_IN,
 * GO_POLL_OUT, or both), for descriptors the caller reads and writes
 * itself (a library's socket, an inotify descriptor). Level-triggered, as
 * poll(2): returns at once if the descriptor is ready now. End of file,
 * hang-up and errors count as ready. Blocks for at most timeout_ns (<= 0:
 * only checks; INT64_MAX: no limit), and is also ended by the deadlines of
 * fd and by go_close(). Descriptors that cannot be polled (regular files)
 * are always ready.
 *
 * Returns the ready subset of events (> 0), or:
 *   -ETIMEDOUT  timeout_ns, or the deadline of a waited-for direction,
 *               passed.
 *   -EBADF      fd is not open, or was closed by go_close().
 *   -EINVAL     events is 0 or has other bits.
 *   -ENOMEM.
 */
GO_API int go_fd_wait(int fd, int events, int64_t timeout_ns);

/*
 * go_sendfile - send count bytes of in_fd (a regular file) to out_fd (a
 * socket, pipe or file) without copying them through user space
 * (sendfile(2)), in as many calls as it takes. Reads in_fd from *offset
 * and advances *offset by what was sent, leaving in_fd's file position
 * alone; with offset NULL reads from (and advances) that position. Parks
 * on the poller while out_fd cannot take more (the library's sockets and
 * O_NONBLOCK descriptors; other pollable descriptors wait until poll(2)
 * says there is room, then block their thread in syscall mode); the write
 * deadline of out_fd and go_close(out_fd) end the wait. Reading in_fd may
 * block the thread on the disk (other goroutines keep running once
 * sysmon sees it). count == 0 sends nothing.
 *
 * Returns the bytes sent: count, or fewer if in_fd ended first. Or, with
 * what was sent before it reflected in *offset:
 *   -ETIMEDOUT   the write deadline of out_fd has passed.
 *   -EBADF       either descriptor negative or not open, or out_fd closed
 *                by go_close().
 *   -EPIPE       the connection is closed for writing (no SIGPIPE for
 *                sockets); -ECONNRESET likewise.
 *   -EINVAL      count > SSIZE_MAX, or in_fd does not support sendfile(2)
 *                (a socket or pipe as source), or out_fd was opened with
 *                O_APPEND; -ESPIPE (offset given for an unseekable in_fd),
 *                -EIO, -ENOMEM as sendfile(2).
 */
GO_API ssize_t go_sendfile(int out_fd, int in_fd, off_t *offset, size_t count);

/* ------------------------------------------------------------------------
 * Buffered reader (a subset of Go's bufio.Reader)
 *
 * A go_bufreader reads a descriptor through a buffer, for line and
 * length-prefixed protocols. Every read it makes is a go_read(), so it
 * parks as go_read does, and the descriptor's read deadline
 * (go_set_read_deadline) and go_close() end its waits: the deadlines come
 * through the descriptor. One reader is for one goroutine at a time (no
 * lock). It never closes the descriptor; bytes it has buffered are lost
 * if the caller reads the descriptor directly.
 *
 * Errors consume nothing: when go_bufreader_read_until,
 * go_bufreader_read_line, or go_bufreader_read_full of at most the
 * buffer's size returns an error (-ETIMEDOUT after a deadline, say), the
 * bytes it had gathered stay buffered, and a later call (after moving the
 * deadline) continues with them. A read error is reported once; end of
 * file is not remembered (the next call reads again).
 * ---------------------------------------------------------------------- */

typedef struct go_bufreader go_bufreader;

/* What go_bufreader_read_line returns at the end of the stream (an empty
 * line is 0): -ENODATA. */
#define GO_EOF (-61)

/* go_bufreader_new - a reader of fd with a buffer of size bytes (0: 4096;
 * at least 16), which is also the longest line read_line can return.
 * Never blocks. NULL with errno EBADF (fd < 0), EINVAL (size absurd) or
 * ENOMEM. */
GO_API go_bufreader *go_bufreader_new(int fd, size_t size);

/* go_bufreader_free - free the reader (not the descriptor). NULL does
 * nothing. Never blocks. */
GO_API void go_bufreader_free(go_bufreader *r);

/* go_bufreader_fd / go_bufreader_buffered - the descriptor (-EINVAL for
 * NULL); the bytes buffered and not yet returned (0 for NULL): readable
 * without waiting. Never block. */
GO_API int go_bufreader_fd(const go_bufreader *r);
GO_API size_t go_bufreader_buffered(const go_bufreader *r);

/*
 * go_bufreader_read - read up to n bytes (Go's Reader.Read): what is
 * buffered, or else what one go_read() brings (straight into buf when n
 * is at least the buffer's size). Blocks only when nothing is buffered.
 * Returns the bytes read (> 0), 0 at end of file (or n == 0), or go_read's
 * errors (-ETIMEDOUT, -EBADF, -ECONNRESET, ...), or -EINVAL (r NULL, buf
 * NULL with n > 0).
 */
GO_API ssize_t go_bufreader_read(go_bufreader *r, void *buf, size_t n);

/*
 * go_bufreader_read_full - read exactly n bytes (Go's io.ReadFull).
 * Blocks until they are all there. Returns n, or fewer if the stream
 * ended first (0: before any byte), or go_read's errors, or -EINVAL.
 * For n up to the buffer's size an error consumes nothing; for larger n
 * the bytes read before an error are lost to the caller.
 */
GO_API ssize_t go_bufreader_read_full(go_bufreader *r, void *buf, size_t n);

/*
 * go_bufreader_read_until - read through the first byte equal to delim
 * (Go's ReadSlice/ReadString), at most n bytes, into buf (not
 * NUL-terminated). Blocks until delim is buffered, the buffer is full, or
 * the stream ends. Returns the bytes stored: ending with delim, unless
 * the piece is longer than n (the first n bytes; the rest follows in the
 * next call) or than the reader's buffer (the buffer's contents), or the
 * stream ended without delim (what was left); 0 at end of file with
 * nothing left. Errors as go_bufreader_read, consuming nothing; -EINVAL
 * also for n == 0 or delim outside 0..255.
 */
GO_API ssize_t go_bufreader_read_until(go_bufreader *r, int delim, void *buf, size_t n);

/*
 * go_bufreader_read_line - read one line (Go's ReadLine, whole lines only)
 * into buf, without its "\n" or "\r\n", NUL-terminated. The stream's last
 * line may lack the newline. Blocks until a whole line is buffered or the
 * stream ends. Returns the line's length (0 for an empty line), or:
 *   GO_EOF     the stream ended and nothing is left.
 *   -EMSGSIZE  the line does not fit in buf (n - 1 bytes) or in the
 *              reader's buffer; nothing is consumed (take it in pieces
 *              with go_bufreader_read_until, or drop the connection).
 *   go_read's errors (-ETIMEDOUT, -EBADF, ...), consuming nothing;
 *   -EINVAL    r or buf NULL, or n == 0.
 */
GO_API ssize_t go_bufreader_read_line(go_bufreader *r, char *buf, size_t n);

/* ------------------------------------------------------------------------
 * Blocking system calls and preemption (Go's entersyscall/exitsyscall)
 *
 * A goroutine about to make a call that may block its OS thread (a read of
 * a regular file, getaddrinfo, a library's blocking call) brackets it with
 * go_syscall_enter()/go_syscall_exit(), or wraps it in go_blocking(). The
 * goroutine keeps its thread; if the call lasts longer than about 20 us,
 * the runtime's monitor thread (sysmon) hands the thread's right to run
 * goroutines to another thread, so the rest keep running. On exit the
 * goroutine gets that right back, or queues itself until it can.
 *
 * Between enter and exit, call nothing in this library. The goroutine has
 * given up its right to run goroutines, so the calls that need it are
 * fatal errors: any call that would block ("fatal error: blocking call
 * between go_syscall_enter and go_syscall_exit"), go_yield(), go() and
 * go_spawn(), and ending the goroutine (returning from its function or
 * go_exit(): "goroutine exit between go_syscall_enter and
 * go_syscall_exit"). Other calls are not checked and must not be made
 * either. Enter/exit pairs may nest; only the outermost pair counts.
 *
 * A call nobody bracketed (a plain read() of a pipe, usleep(), a
 * library's own blocking call) is noticed too: when the monitor thread
 * finds a goroutine's thread asleep in the kernel (it looks at most every
 * 1 ms, at the thread's CPU clock and its state in /proc), it lets one
 * more thread run goroutines for as long as that one sleeps, so the rest
 * keep running even at GOMAXPROCS=1. The sleeping goroutine keeps its own
 * place; when it wakes, the extra one retires at its next scheduling point
 * (noticed up to ~16 ms later), so for that long one more goroutine than
 * GOMAXPROCS may run. go_syscall_enter() remains cheaper and exact.
 *
 * Preemption: a goroutine that runs for more than 10 ms without calling
 * the runtime is asked to yield. Blocking calls and go_yield() honour the
 * request at once. On x86-64, the runtime also interrupts such a goroutine
 * with a signal (SIGURG) and switches it out, but only when the interrupted
 * instruction is in the main program's own code: never inside libc, the
 * dynamic loader, any shared library, or this runtime. There, code must not
 * hold a thread-local address or a pthread mutex across a point where it
 * could be interrupted (it may resume on another thread). Time asleep in
 * the kernel does not count as running, and the signal goes only to a
 * thread seen using the CPU, so it does not cut a sleep or a read short
 * with EINTR (unless the goroutine enters the call within microseconds of
 * the signal, after computing for 10 ms). Set the
 * environment variable GOROUTINE_PREEMPT=off to disable signal-based
 * preemption; a goroutine that never calls the runtime then keeps its
 * thread until it does.
 *
 * SIGURG belongs to the program too: a handler it installed before the
 * runtime started, or installs later, still receives every SIGURG sent to
 * the process or its threads (kill(), a socket's out-of-band data,
 * pthread_kill), called from the runtime's handler with the program's
 * sa_mask; the runtime's own signals (sent with pthread_sigqueue and a
 * private value) are never passed on. After the program replaces the
 * handler, sigaction() reports the runtime's again from the runtime's next
 * preemption signal on; SA_RESETHAND and SA_NODEFER of the program's
 * handler are not honoured.
 *
 * fork(): the child of a program that started the runtime has only the
 * thread that called fork, and the runtime's state is a copy taken at an
 * arbitrary instant. The child may exec (or _exit), from a goroutine as
 * from any thread; the program exec'd from a goroutine's child starts
 * with the signal mask of the thread that started the runtime, not that
 * of the runtime's thread. Any other call into this library in the child
 * that would spawn, schedule, block or wait for a runtime lock prints
 * "fatal error: libgoroutine called in a child process after fork(); ..."
 * and aborts, instead of hanging. (Go itself offers only fork followed by
 * exec.) posix_spawn, vfork+exec and system() are unaffected.
 * ---------------------------------------------------------------------- */

/* Largest number of OS threads the runtime will create (Go's default; the
 * environment variable GOROUTINE_MAX_THREADS overrides it at start-up);
 * beyond it the program dies with "fatal error: thread exhaustion". */
#define GO_MAX_THREADS 10000

/* go_syscall_enter - the calling goroutine is about to block its thread
 * outside the runtime. No effect from a plain thread. Never blocks. */
GO_API void go_syscall_enter(void);

/* go_syscall_exit - the blocking call has returned; may block until the
 * goroutine can run again. No effect from a plain thread. From a goroutine
 * that is not between go_syscall_enter() and go_syscall_exit() (more exits
 * than enters): "fatal error: go_syscall_exit without go_syscall_enter". */
GO_API void go_syscall_exit(void);

/* go_blocking - run fn(arg) between go_syscall_enter() and
 * go_syscall_exit(). Returns what fn returns. */
GO_API long go_blocking(long (*fn)(void *arg), void *arg);

/* go_can_park - 1 if the caller is a goroutine that may park now (it runs
 * on an M with its P: not a plain thread, not the scheduler, not between
 * go_syscall_enter() and go_syscall_exit(), and the runtime has started),
 * else 0. For code that picks between a runtime wait and a plain blocking
 * call, as the libc hooks (libgoroutine-hook) do. Never blocks. */
GO_API int go_can_park(void);

/* ---------------------------------------------------------------------
 * Seeing inside: dumps, the leak report
 *
 * A dump lists every goroutine in Go's layout: "goroutine N [state]:",
 * its backtrace (function, file:line; from its saved registers if it is
 * parked), "created by FUNCTION in goroutine N" with the call site, and
 * its stack's high-water mark. The runtime prints one on every fatal
 * error and on SIGQUIT (then exits with status 2, as Go does; with
 * GOROUTINE_DEBUG=dumpcontinue=1 it goes on running). A goroutine running
 * on another thread is listed without its stack. Names and lines need the
 * program built with -g; no -rdynamic is needed. The environment variable
 * GOROUTINE_DEBUG=leaks=1 prints the goroutines still blocked when the
 * program exits (main returns or exit is called).
 * ---------------------------------------------------------------------- */

/* go_dump - write every goroutine to fd. Safe from any goroutine or
 * thread and from a signal handler; allocates nothing. Blocks only while
 * another thread is dumping. Returns 0, or -EBADF if fd < 0 (a write
 * error is not reported). */
GO_API int go_dump(int fd);

/* go_leaks - write to fd, in the dump's layout, every goroutine that is
 * blocked (waiting on a channel, lock, timer, I/O...), and return how
 * many there were; -EBADF if fd < 0. Meant for the end of a test or a
 * program, when anything still blocked has leaked. Same safety as
 * go_dump. Debug builds (CMake's Debug build type, or -DGO_DEBUG_OBJECTS=ON)
 * then also list every channel, go_after channel, timer, ticker and
 * context not yet freed, in creation order, each with the function and
 * file:line that created it ("channel 0x... created by f"); these are not
 * counted in the return value. Other builds do not track them (no cost). */
GO_API int64_t go_leaks(int fd);

/* ---------------------------------------------------------------------
 * Scheduler counters and trace
 *
 * GOROUTINE_DEBUG=schedtrace=MS prints Go's line to stderr every MS ms:
 *   SCHED 1004ms: gomaxprocs=2 idleprocs=0 threads=5 spinningthreads=0 idlethreads=1 runqueue=0 [3 1]
 * (threads counts the runtime's own threads too; the list is each P's
 * local queue). Adding scheddetail=1 prints one line per P, M and
 * goroutine instead of the list, as Go does.
 * ---------------------------------------------------------------------- */

typedef struct go_stats {
    /* Counters since start-up. Each is exact and only grows; counters
     * read together may be a few events apart (they are summed over the
     * Ps, not taken under a lock). */
    uint64_t created;        /* goroutines created */
    uint64_t exited;         /* goroutines that finished */
    uint64_t switches;       /* goroutines scheduled onto a thread */
    uint64_t parks;          /* goroutines that blocked */
    uint64_t wakeups;        /* goroutines made runnable again */
    uint64_t steals;         /* run-queue steals between Ps */
    uint64_t handoffs;       /* Ps taken from threads blocked in system calls */
    uint64_t preempt_coop;   /* preempted at a runtime check (a blocking call
                              * asked to yield parks instead: a park) */
    uint64_t preempt_signal; /* preemptions by signal */
    /* Gauges, now. */
    int64_t goroutines;      /* live: created - exited */
    int32_t gomaxprocs, idleprocs;
    int32_t threads;         /* Ms plus the runtime's own threads */
    int32_t idlethreads, spinningthreads;
    int64_t runqueue_global; /* goroutines in the global run queue */
    int64_t runqueue_local;  /* in the Ps' local run queues */
    int64_t stacks_cached;   /* finished goroutines' stacks kept for reuse */
    uint64_t stack_used;     /* live goroutines' stack high-water marks, summed (bytes) */
    uint64_t stack_max_used; /* the largest of them */
    uint64_t stack_trims;    /* counter: times the pages below a parked
                              * goroutine's stack pointer were given back
                              * (GOROUTINE_STACK_TRIM=off: never) */
} go_stats_t;

/* go_stats - fill *s. Never blocks; safe from any thread. The stack
 * figures ask the kernel which stack pages are backed (one mincore call
 * per goroutine), so the call costs time in proportion to the number of
 * live goroutines. All zero before the runtime starts. Returns 0, or
 * -EINVAL if s is NULL. */
GO_API int go_stats(go_stats_t *s);

#ifdef __cplusplus
}
#endif

#endif /* GOROUTINE_H */
