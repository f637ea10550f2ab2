/*
 * sync.c - the sync package: WaitGroup (and, later, Mutex, RWMutex, Once,
 * Cond), all built on sema.c, all zero-initialisable, all usable from
 * goroutines and plain threads alike.
 *
 * WaitGroup, as Go's: one 64-bit word holds the counter (high 32 bits) and
 * the number of waiters (low 32 bits), so Add and Wait agree with a single
 * atomic operation; a semaphore word next to it parks the waiters. When Add
 * brings the counter to zero with waiters present, it zeroes the state and
 * releases all waiters with one sema_release(n), which never touches the
 * WaitGroup after the first waiter could have returned.
 */
#include <stddef.h>

#include "debug.h"
#include "sched.h"
#include "sema.h"

struct wg {
    uint64_t state; /* counter << 32 | waiters; atomic */
    uint32_t sema;
    uint32_t pad;
};
_Static_assert(sizeof(struct wg) <= sizeof(go_wg), "go_wg too small");
_Static_assert(_Alignof(go_wg) >= _Alignof(struct wg), "go_wg misaligned");

void go_wg_add(go_wg *wgp, int64_t delta)
{
    struct wg *wg = (struct wg *)wgp;
    uint64_t st = __atomic_add_fetch(&wg->state, (uint64_t)delta << 32, __ATOMIC_SEQ_CST);
    int32_t v = (int32_t)(st >> 32);
    uint32_t w = (uint32_t)st;
    if (v < 0)
        debug_panic("sync: negative WaitGroup counter");
    if (w != 0 && delta > 0 && v == (int32_t)delta)
        debug_panic("sync: WaitGroup misuse: Add called concurrently with Wait");
    if (v > 0 || w == 0)
        return;
    /* Counter is zero and there are waiters: nobody may change the state
     * now (Add from zero would be the misuse above). */
    if (__atomic_load_n(&wg->state, __ATOMIC_SEQ_CST) != st)
        debug_panic("sync: WaitGroup misuse: Add called concurrently with Wait");
    __atomic_store_n(&wg->state, 0, __ATOMIC_SEQ_CST);
    sema_release(&wg->sema, w, false);
}

void go_wg_done(go_wg *wg)
{
    go_wg_add(wg, -1);
}

void go_wg_wait(go_wg *wgp)
{
    struct wg *wg = (struct wg *)wgp;
    uint64_t st = __atomic_load_n(&wg->state, __ATOMIC_SEQ_CST);
    for (;;) {
        if ((st >> 32) == 0)
            return;
        if (__atomic_compare_exchange_n(&wg->state, &st, st + 1, false, __ATOMIC_SEQ_CST,
                                        __ATOMIC_SEQ_CST)) {
            sema_acquire(&wg->sema, false, WAIT_WG);
            return;
        }
    }
}
