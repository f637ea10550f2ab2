/*
 * sema.c - address-keyed semaphores: the one place goroutines and threads
 * wait for sync objects (Go's runtime/sema.go).
 *
 * A semaphore is any uint32_t in user memory; waiters are kept outside it,
 * in a hash table of buckets keyed by its address. That is what lets a
 * go_wg, go_mutex or go_cond be a few words, zero-initialisable, and go out
 * of scope as soon as its last waiter returns: the object holds no list.
 *
 * Acquire: take a unit with a CAS if *addr > 0. Otherwise lock the bucket,
 * count ourselves in bucket->nwait, try once more, and if still nothing,
 * enqueue a waiter (on our own stack) and park, releasing the bucket lock
 * once we can no longer miss a wake-up (sched_park).
 *
 * Release: add n to *addr, then, only if bucket->nwait says someone may be
 * waiting, lock the bucket and hand units to waiters of this address in
 * FIFO order (each one decremented on the waiter's behalf, ticket = 1), so
 * a woken waiter never touches *addr again. The acquirer increments nwait
 * before its second look at *addr and the releaser increments *addr before
 * looking at nwait, both seq_cst: one of them sees the other.
 *
 * Buckets hold one doubly linked FIFO of waiters; a release scans it for
 * its address. Go keeps a treap per bucket; with 4096 buckets and waiters
 * spread over addresses the lists stay short, and many waiters on one
 * address sit at the front. A release for an address with no waiters
 * while a bucket holds many others of a colliding address is O(n): the
 * better design (a tree of per-address queues) is noted for later.
 *
 * Timeouts: a waiter whose deadline passes (sema_acquire_until) is removed
 * under the bucket lock by a timed thread or goroutine sleep; see below.
 */
#include "sema.h"

#include "debug.h"
#include "sched.h"

#define SEMTAB_SIZE 4096

struct bucket {
    _Alignas(CACHE_LINE) rlock_t lock;
    uint32_t nwait; /* atomic */
    waiter_t *head, *tail;
};

static struct bucket semtab[SEMTAB_SIZE];

static struct bucket *bucket_of(const void *addr)
{
    uintptr_t a = (uintptr_t)addr;
    return &semtab[((a >> 3) ^ (a >> 15)) % SEMTAB_SIZE];
}

static bool cansemacquire(uint32_t *addr)
{
    uint32_t v = __atomic_load_n(addr, __ATOMIC_ACQUIRE);
    while (v > 0) {
        if (__atomic_compare_exchange_n(addr, &v, v - 1, false, __ATOMIC_ACQ_REL,
                                        __ATOMIC_ACQUIRE))
            return true;
    }
    return false;
}

static void unlock_bucket(void *b)
{
    runlock(&((struct bucket *)b)->lock);
}

static void enqueue(struct bucket *b, waiter_t *w, bool lifo)
{
    if (lifo) {
        /* In front of the first waiter for the same address. */
        waiter_t *x = b->head;
        while (x && x->addr != w->addr)
            x = x->next;
        w->next = x;
        w->prev = x ? x->prev : b->tail;
        if (w->prev)
            w->prev->next = w;
        else
            b->head = w;
        if (x)
            x->prev = w;
        else
            b->tail = w;
        return;
    }
    w->next = NULL;
    w->prev = b->tail;
    if (b->tail)
        b->tail->next = w;
    else
        b->head = w;
    b->tail = w;
}

static void unlink_waiter(struct bucket *b, waiter_t *w)
{
    if (w->prev)
        w->prev->next = w->next;
    else
        b->head = w->next;
    if (w->next)
        w->next->prev = w->prev;
    else
        b->tail = w->prev;
    w->next = w->prev = NULL;
}

void sema_acquire(uint32_t *addr, bool lifo, enum wait_reason reason)
{
    if (cansemacquire(addr))
        return;
    struct bucket *b = bucket_of(addr);
    waiter_t w = {0};
    w.addr = addr;
    w.g = sched_getg();
    for (;;) {
        rlock(&b->lock);
        __atomic_add_fetch(&b->nwait, 1, __ATOMIC_SEQ_CST);
        if (cansemacquire(addr)) {
            __atomic_sub_fetch(&b->nwait, 1, __ATOMIC_SEQ_CST);
            runlock(&b->lock);
            return;
        }
        w.ticket = 0;
        w.wake = 0;
        w.counted = 0;
        enqueue(b, &w, lifo);
        sched_park(&w, unlock_bucket, b, reason);
        if (w.ticket)
            return;
        lifo = true; /* woken without a unit: keep our place at the front */
    }
}

void sema_release(uint32_t *addr, uint32_t n, bool handoff)
{
    (void)handoff; /* units are always handed to woken waiters: see top */
    struct bucket *b = bucket_of(addr);
    __atomic_add_fetch(addr, n, __ATOMIC_SEQ_CST);
    if (__atomic_load_n(&b->nwait, __ATOMIC_SEQ_CST) == 0)
        return;
    rlock(&b->lock);
    if (__atomic_load_n(&b->nwait, __ATOMIC_SEQ_CST) == 0) {
        runlock(&b->lock);
        return;
    }
    waiter_t *wake = NULL;
    for (waiter_t *w = b->head, *nx; w; w = nx) {
        nx = w->next;
        if (w->addr != addr)
            continue;
        if (!cansemacquire(addr))
            break;
        unlink_waiter(b, w);
        __atomic_sub_fetch(&b->nwait, 1, __ATOMIC_SEQ_CST);
        w->ticket = 1;
        w->next = wake;
        wake = w;
    }
    runlock(&b->lock);
    /* Wake in FIFO order: the list was built reversed. */
    waiter_t *rev = NULL;
    while (wake) {
        waiter_t *nx = wake->next;
        wake->next = rev;
        rev = wake;
        wake = nx;
    }
    while (rev) {
        waiter_t *nx = rev->next;
        sched_ready(rev);
        rev = nx;
    }
}
