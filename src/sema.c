/*
 * sema.c - address-keyed semaphores and notify lists: the one place where
 * goroutines and threads wait for sync objects (Go's runtime/sema.go).
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
 * Handoff release (Go's starvation-mode mutex unlock) does it the other
 * way round, all under the bucket lock: units go to queued waiters first
 * and only what is left over is added to *addr. Because the unit never
 * appears in *addr, an acquirer that is running cannot take it from the
 * queued waiter. Go's semrelease adds first even with handoff, so there a
 * newcomer can still steal the unit between the add and the lock; we pay
 * one bucket lock on the (already slow) starvation path to close that.
 *
 * Invariant: a queued waiter leaves its queue only under the bucket lock,
 * and exactly one of three things has then happened to it: a release gave
 * it a unit (w->ticket = 1), its deadline passed (w->timedout), or, for a
 * notify-list waiter, a notify chose its ticket (w->success). So a woken
 * waiter never needs to look at *addr again, and never loops.
 *
 * Buckets hold one doubly linked FIFO of waiters; a release scans it for
 * its address. Go keeps a treap per bucket; with 4096 buckets and waiters
 * spread over addresses the lists stay short, and many waiters on one
 * address sit at the front. A release for an address with no waiters
 * while a bucket holds many others of a colliding address is O(n): the
 * better design (a tree of per-address queues) is noted for later.
 *
 * Timeouts (sema_acquire_until): the waiter arms a runtime timer (time.h)
 * while it still holds the bucket lock, right after enqueueing itself, so
 * the timer can only find it queued or already woken. The callback locks
 * the bucket and, if the waiter is still queued, unlinks it, marks it timed
 * out and readies it. The woken waiter calls timer_stop(), which waits for
 * a callback that is still running, before its stack frame goes away.
 *
 * Notify lists (Go's notifyList, for go_cond) live in the same buckets,
 * keyed by the list's address; they do not count in nwait, which only
 * tells a semaphore release whether to look at all.
 */
#include "sema.h"

#include "debug.h"
#include "testhooks.h"
#include "sched.h"
#include "time.h"

#define SEMTAB_SIZE 4096
#define RELEASE_BATCH 64 /* waiters readied per bucket lock (sema_release) */

struct bucket {
    _Alignas(CACHE_LINE) rlock_t lock;
    uint32_t nwait;         /* semaphore waiters queued here; atomic */
    waiter_t *head, *tail;  /* all waiters, FIFO; under lock */
};

static struct bucket semtab[SEMTAB_SIZE] = {
    [0 ... SEMTAB_SIZE - 1] = {.lock = RLOCK_INIT(LOCK_RANK_SEMA)},
};

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

bool sema_try_acquire(uint32_t *addr)
{
    return cansemacquire(addr);
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

/* Ready a list of waiters linked by ->next (already unlinked from their
 * bucket, the lock released). Returns true if one of them was a goroutine.
 * Each waiter is read before it is readied: it may vanish right after. */
static bool ready_list(waiter_t *w)
{
    bool any_g = false;
    while (w) {
        waiter_t *nx = w->next;
        any_g |= w->g != NULL;
        sched_ready(w);
        w = nx;
    }
    return any_g;
}

/* ---- acquire ------------------------------------------------------------ */

/* A waiter with a deadline: the timer's callback finds it through arg. */
struct timed_waiter {
    waiter_t w;
    rtimer_t timer;
    struct bucket *b;
};

static void timeout_fire(rtimer_t *t, void *arg, int64_t now)
{
    (void)t;
    (void)now;
    struct timed_waiter *tw = arg;
    struct bucket *b = tw->b;
    rlock(&b->lock);
    if (tw->w.ticket || tw->w.timedout) {
        /* A release got there first; the waiter is on its way out. */
        runlock(&b->lock);
        return;
    }
    unlink_waiter(b, &tw->w);
    __atomic_sub_fetch(&b->nwait, 1, __ATOMIC_SEQ_CST);
    tw->w.timedout = true;
    runlock(&b->lock);
    /* The waiter may resume at once, but it calls timer_stop() before its
     * frame goes away, which waits for us to return: tw stays valid. */
    sched_ready(&tw->w);
}

static bool acquire_slow(uint32_t *addr, bool lifo, enum wait_reason reason,
                         int64_t deadline)
{
    struct bucket *b = bucket_of(addr);
    struct timed_waiter tw = {.b = b};
    waiter_t *w = &tw.w;
    w->addr = addr;
    w->g = sched_getg();
    if (deadline >= 0) {
        /* The timer runs on an M even when a plain thread waits. */
        rt_init();
        tw.timer.fn = timeout_fire;
        tw.timer.arg = &tw;
    }
    rlock(&b->lock);
    __atomic_add_fetch(&b->nwait, 1, __ATOMIC_SEQ_CST);
    if (cansemacquire(addr)) {
        __atomic_sub_fetch(&b->nwait, 1, __ATOMIC_SEQ_CST);
        runlock(&b->lock);
        return true;
    }
    if (deadline >= 0 && nanotime() >= deadline) {
        __atomic_sub_fetch(&b->nwait, 1, __ATOMIC_SEQ_CST);
        runlock(&b->lock);
        return false;
    }
    enqueue(b, w, lifo);
    /* Armed under the bucket lock (bucket locks come before timer heap
     * locks in lock.h's order): the callback can only find us queued. */
    if (deadline >= 0)
        timer_start(&tw.timer, deadline);
    sched_park(w, unlock_bucket, b, reason);
    if (deadline >= 0)
        timer_stop(&tw.timer);
    RT_ASSERT(w->ticket || w->timedout);
    return w->ticket != 0;
}

void sema_acquire(uint32_t *addr, bool lifo, enum wait_reason reason)
{
    if (cansemacquire(addr))
        return;
    acquire_slow(addr, lifo, reason, -1);
}

bool sema_acquire_until(uint32_t *addr, bool lifo, enum wait_reason reason,
                        int64_t deadline)
{
    if (cansemacquire(addr))
        return true;
    return acquire_slow(addr, lifo, reason, deadline);
}

/* ---- release ------------------------------------------------------------ */

/* Under b->lock: dequeue waiters of addr while take() gives them a unit,
 * at most max of them; returns them linked in FIFO order. */
static waiter_t *dequeue_units(struct bucket *b, uint32_t *addr, uint32_t max,
                               bool from_addr, uint32_t *taken)
{
    waiter_t *first = NULL, *last = NULL;
    uint32_t k = 0;
    for (waiter_t *w = b->head, *nx; w && k < max; w = nx) {
        nx = w->next;
        if (w->addr != addr)
            continue;
        if (from_addr && !cansemacquire(addr))
            break;
        unlink_waiter(b, w);
        __atomic_sub_fetch(&b->nwait, 1, __ATOMIC_SEQ_CST);
        w->ticket = 1;
        if (w->g)
            g_prefetch(w->g); /* readied right after: overlap its misses */
        if (last)
            last->next = w;
        else
            first = w;
        last = w;
        k++;
    }
    *taken = k;
    return first;
}

void sema_release(uint32_t *addr, uint32_t n, bool handoff)
{
    if (n == 0)
        return;
    struct bucket *b = bucket_of(addr);
    if (handoff) {
        uint32_t k;
        rlock(&b->lock);
        waiter_t *wake = dequeue_units(b, addr, n, false, &k);
        if (k < n && __atomic_add_fetch(addr, n - k, __ATOMIC_SEQ_CST) < n - k)
            debug_fatal("sync: semaphore count overflow");
        runlock(&b->lock);
        /* Let the new owner run now rather than at our next switch, as Go
         * does; a plain thread has nothing to yield to. */
        if (ready_list(wake) && sched_getg())
            sched_gosched();
        return;
    }
    if (__atomic_add_fetch(addr, n, __ATOMIC_SEQ_CST) < n)
        debug_fatal("sync: semaphore count overflow");
    if (__atomic_load_n(&b->nwait, __ATOMIC_SEQ_CST) == 0)
        return;
    /* In batches: the waiters live on their goroutines' stacks, cold
     * when a WaitGroup releases 100,000 of them, so walking the whole
     * queue and then walking it again to ready them missed the cache
     * twice per waiter; a batch is still in the cache when it is readied.
     * Between batches a newcomer may take a unit first, as it may between
     * two of Go's semreleases. */
    for (;;) {
        rlock(&b->lock);
        if (__atomic_load_n(&b->nwait, __ATOMIC_SEQ_CST) == 0) {
            runlock(&b->lock);
            return;
        }
        uint32_t k;
        waiter_t *wake = dequeue_units(b, addr, RELEASE_BATCH, true, &k);
        runlock(&b->lock);
        ready_list(wake);
        if (k < RELEASE_BATCH)
            return;
    }
}

int sema_count_waiters(const void *addr)
{
    struct bucket *b = bucket_of(addr);
    int n = 0;
    rlock(&b->lock);
    for (waiter_t *w = b->head; w; w = w->next)
        n += w->addr == addr;
    runlock(&b->lock);
    return n;
}

/* ---- notify lists -------------------------------------------------------- */

/* Ticket a was taken before ticket b (tickets wrap around). */
static inline bool ticket_less(uint32_t a, uint32_t b)
{
    return (int32_t)(a - b) < 0;
}

uint32_t sema_notify_add(notify_list_t *l)
{
    /* seq_cst, and taken before the caller unlocks its mutex: a notifier
     * that locked that mutex after us sees this ticket. */
    return __atomic_fetch_add(&l->wait, 1, __ATOMIC_SEQ_CST);
}

void sema_notify_wait(notify_list_t *l, uint32_t t, enum wait_reason reason)
{
    struct bucket *b = bucket_of(l);
    rlock(&b->lock);
    if (ticket_less(t, __atomic_load_n(&l->notify, __ATOMIC_RELAXED))) {
        /* Notified between taking the ticket and getting here. */
        runlock(&b->lock);
        return;
    }
    waiter_t w = {0};
    w.addr = l;
    w.g = sched_getg();
    w.ticket = t;
    enqueue(b, &w, false);
    sched_park(&w, unlock_bucket, b, reason);
    RT_ASSERT(w.success);
}

void sema_notify_one(notify_list_t *l)
{
    /* Fast path: no ticket taken since the last notify. A waiter whose
     * ticket we miss here took it after we looked, which is as if it had
     * started waiting after this call. */
    if (__atomic_load_n(&l->wait, __ATOMIC_SEQ_CST) ==
        __atomic_load_n(&l->notify, __ATOMIC_SEQ_CST))
        return;
    struct bucket *b = bucket_of(l);
    rlock(&b->lock);
    uint32_t t = __atomic_load_n(&l->notify, __ATOMIC_RELAXED);
    if (t == __atomic_load_n(&l->wait, __ATOMIC_SEQ_CST)) {
        runlock(&b->lock);
        return;
    }
    __atomic_store_n(&l->notify, t + 1, __ATOMIC_RELAXED);
    /* Ticket t's holder may not have queued itself yet: then it will see
     * notify > t when it takes the bucket lock, and not sleep at all. */
    waiter_t *found = NULL;
    for (waiter_t *w = b->head; w; w = w->next) {
        if (w->addr == l && w->ticket == t) {
            unlink_waiter(b, w);
            w->success = true;
            found = w;
            break;
        }
    }
    /* After this unlock the list is not touched again: it may be freed. */
    runlock(&b->lock);
    if (found)
        sched_ready(found);
}

void sema_notify_all(notify_list_t *l)
{
    if (__atomic_load_n(&l->wait, __ATOMIC_SEQ_CST) ==
        __atomic_load_n(&l->notify, __ATOMIC_SEQ_CST))
        return;
    struct bucket *b = bucket_of(l);
    rlock(&b->lock);
    __atomic_store_n(&l->notify, __atomic_load_n(&l->wait, __ATOMIC_SEQ_CST),
                     __ATOMIC_RELAXED);
    waiter_t *first = NULL, *last = NULL;
    for (waiter_t *w = b->head, *nx; w; w = nx) {
        nx = w->next;
        if (w->addr != l)
            continue;
        unlink_waiter(b, w);
        w->success = true;
        if (last)
            last->next = w;
        else
            first = w;
        last = w;
    }
    runlock(&b->lock);
    ready_list(first);
}
