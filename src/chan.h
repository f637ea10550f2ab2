/*
 * chan.h - channels' internal interface (see chan.c for the design): the
 * channel struct, its wait queues, the select state a blocked select (or a
 * timed channel operation) shares between its waiters, and the helpers
 * that chan.c and select.c both use to complete an operation with a
 * blocked partner.
 *
 * Also the hooks other subsystems need: time.c's go_after() stops its
 * timer from a free hook and delivers with chan_try_send_internal().
 */
#ifndef GO_CHAN_H
#define GO_CHAN_H

#include <string.h>

#include "sched.h"

/*
 * A wait queue: a circular doubly linked list of waiters through
 * waiter.next / waiter.prev, FIFO from head (the tail is head->prev).
 * Circular so that a queued waiter never has a NULL next: "w->next !=
 * NULL" is how anyone holding the channel lock tells whether w is still
 * queued (dequeued waiters get next = prev = NULL), which is what a select
 * needs when it cleans up after a partner may already have unlinked its
 * waiter. head is written under the channel lock and read without it, as
 * a hint, by the non-blocking fast paths.
 */
typedef struct waitq {
    waiter_t *head;
} waitq_t;

/*
 * The channel (Go's hchan). One allocation: this header, then the ring
 * buffer of cap elements (cap * elemsize bytes). The fields every
 * operation touches fit in the first cache line; the cold free hook sits
 * after them.
 *
 * Invariants (under lock), as Go's:
 *  - at least one of recvq and sendq holds no live waiter, except for an
 *    unbuffered channel on which one select waits both to send and to
 *    receive;
 *  - qcount > 0 implies recvq holds no live waiter, and qcount < cap
 *    implies sendq holds none.
 * "Live" because a select's losing waiters stay queued, claimed, until
 * their select wakes up and removes them; anyone who dequeues one finds
 * it claimed (select_state.done) and drops it.
 */
struct go_chan {
    rlock_t lock;      /* protects every field below marked "lock" */
    uint32_t closed;   /* 0 or 1; lock, stored with release; read lock-free */
    uint32_t elemsize; /* immutable */
    uint32_t magic;    /* CHAN_MAGIC from make to free (chan_check) */
    size_t cap;    /* buffer slots; immutable */
    size_t qcount; /* elements buffered; lock, read lock-free (hint, len) */
    size_t sendx;  /* next slot to fill; lock */
    size_t recvx;  /* next slot to drain; lock */
    waitq_t recvq; /* blocked receivers; lock (head read lock-free) */
    waitq_t sendq; /* blocked senders; lock (head read lock-free) */
    /* Cold: called first thing by go_chan_free(); set once, before the
     * channel is shared. */
    void (*free_hook)(go_chan *c, void *arg);
    void *free_hook_arg;
};

/*
 * The state one blocked select shares among its waiters (one per case, on
 * the selecting goroutine's or thread's stack). A timed channel operation
 * is a one-case select and uses it too.
 *
 * Exactly one party completes a blocked select: the partner (sender,
 * receiver or closer) that first claims `done` with a CAS under the lock
 * of the channel it found the waiter on, or the timeout callback, which
 * claims it holding no lock at all. Whoever loses the CAS just drops the
 * waiter.
 */
struct select_state {
    uint32_t done;         /* 0 until claimed; CAS 0 -> 1 */
    uint32_t parkstate;    /* SELECT_PARKED | SELECT_TIMER_FIRED; atomic */
    waiter_t *winner;      /* the claimed case's waiter, NULL for a
                            * timeout; written by the claimer, read by the
                            * owner once woken */
    waiter_t *parked;      /* the waiter the owner sleeps on; immutable
                            * while it waits */
    waiter_t *waiters;     /* the case waiters, in lock order; immutable */
    go_select_case *cases; /* the caller's cases; immutable */
    uint32_t nwaiters;     /* immutable */
    bool dups;             /* a channel occurs in more than one case */
    bool timed;            /* a timeout timer is armed */
    bool fdwait;           /* descriptor cases are queued (select.c) */
};

/* parkstate bits: the handshake between a timeout and the owner's park. */
#define SELECT_PARKED 1u      /* the owner's context is saved (unlock ran) */
#define SELECT_TIMER_FIRED 2u /* the timer (or a descriptor case) claimed
                                 the select without a channel lock */

/* ---- misuse: a freed or invalid channel ---------------------------------- */

/*
 * Every public channel operation first checks c->magic, in the header's
 * first cache line, which the operation reads anyway: a channel used after
 * go_chan_free (or a pointer that never was a channel) then dies with a
 * fatal error instead of waiting for ever on a lock word that free()
 * overwrote. Best effort: free() poisons the word, but once the memory is
 * reused by another channel nothing can tell, and a large buffer returned
 * to the kernel faults on the read.
 */
#define CHAN_MAGIC 0x6e616863u /* "chan" */
#define CHAN_FREED 0xdeadc4a9u

__attribute__((noreturn, cold)) void chan_bad(go_chan *c);

static inline void chan_check(go_chan *c)
{
    if (__builtin_expect(c->magic != CHAN_MAGIC, 0))
        chan_bad(c);
}

/* ---- the channel lock ---------------------------------------------------- */

void chan_lock_slow(go_chan *c);

/*
 * Take c->lock. Under contention, back off exponentially before falling
 * back to rlock() (which spins briefly, then sleeps): two cores polling a
 * channel's lock word every pause steal its cache line from the holder
 * between each of its operations, while a backed-off waiter lets the
 * holder run several in a row with the line local (the mpmc benchmark is
 * where it shows). Released with runlock().
 */
static inline void chan_lock(go_chan *c)
{
    LOCKRANK_CHECK(&c->lock); /* the try below is not checked */
    if (__builtin_expect(!rtrylock(&c->lock), 0))
        chan_lock_slow(c);
}

/* ---- wait queues (under the channel lock) ----------------------------- */

static inline void chan_wq_push(waitq_t *q, waiter_t *w)
{
    waiter_t *h = q->head;
    if (!h) {
        w->next = w->prev = w;
        __atomic_store_n(&q->head, w, __ATOMIC_RELAXED);
        return;
    }
    waiter_t *t = h->prev;
    w->next = h;
    w->prev = t;
    t->next = w;
    h->prev = w;
}

/* Unlink w, which must be queued on q. */
static inline void chan_wq_unlink(waitq_t *q, waiter_t *w)
{
    if (w->next == w) {
        __atomic_store_n(&q->head, NULL, __ATOMIC_RELAXED);
    } else {
        w->prev->next = w->next;
        w->next->prev = w->prev;
        if (q->head == w)
            __atomic_store_n(&q->head, w->next, __ATOMIC_RELAXED);
    }
    w->next = w->prev = NULL;
}

/*
 * Take the first waiter that can still be completed: a plain waiter, or a
 * select's waiter whose select we manage to claim. Claimed-by-someone-else
 * select waiters met on the way are unlinked and dropped (their select
 * will find them gone). Returns NULL if there is none.
 */
static inline waiter_t *chan_dequeue(waitq_t *q)
{
    waiter_t *w;
    while ((w = q->head) != NULL) {
        chan_wq_unlink(q, w);
        if (!w->sel)
            return w;
        uint32_t z = 0;
        if (__atomic_compare_exchange_n(&w->sel->done, &z, 1, false, __ATOMIC_ACQ_REL,
                                        __ATOMIC_RELAXED))
            return w;
    }
    return NULL;
}

/* ---- element copies ---------------------------------------------------- */

/* Copy one element. Sizes 4 and 8 (ints, pointers) get a fixed-size copy
 * the compiler turns into a single move. */
static inline void chan_copy(void *dst, const void *src, uint32_t size)
{
    switch (size) {
    case 0:
        return;
    case 4:
        memcpy(dst, src, 4);
        return;
    case 8:
        memcpy(dst, src, 8);
        return;
    default:
        memcpy(dst, src, size);
    }
}

static inline uint8_t *chan_slot(go_chan *c, size_t i)
{
    return (uint8_t *)(c + 1) + i * c->elemsize;
}

/* Under lock, qcount < cap: append the element at src to the buffer. */
static inline void chan_buf_put(go_chan *c, const void *src)
{
    chan_copy(chan_slot(c, c->sendx), src, c->elemsize);
    if (++c->sendx == c->cap)
        c->sendx = 0;
    __atomic_store_n(&c->qcount, c->qcount + 1, __ATOMIC_RELAXED);
}

/* Under lock, qcount > 0: take the head of the buffer into dst (or drop
 * it if dst is NULL). */
static inline void chan_buf_get(go_chan *c, void *dst)
{
    if (dst)
        chan_copy(dst, chan_slot(c, c->recvx), c->elemsize);
    if (++c->recvx == c->cap)
        c->recvx = 0;
    __atomic_store_n(&c->qcount, c->qcount - 1, __ATOMIC_RELAXED);
}

/*
 * Under lock: receive from the blocked sender s (already dequeued). On an
 * unbuffered channel the value goes straight from s's element to dst; on
 * a buffered one the buffer is full (s waited for room), so, as Go does,
 * we take the head and put s's value in the tail, which is the same slot.
 */
static inline void chan_recv_from(go_chan *c, waiter_t *s, void *dst)
{
    if (c->cap == 0) {
        if (dst)
            chan_copy(dst, s->elem, c->elemsize);
        return;
    }
    uint8_t *slot = chan_slot(c, c->recvx);
    if (dst)
        chan_copy(dst, slot, c->elemsize);
    chan_copy(slot, s->elem, c->elemsize);
    if (++c->recvx == c->cap)
        c->recvx = 0;
    c->sendx = c->recvx;
}

void chan_select_unlink_dups(struct select_state *st, go_chan *c, waiter_t *win);

/*
 * Under lock: w (dequeued and claimed) has been completed, with a value
 * (success) or by close. Records the outcome and returns the waiter to
 * pass to sched_ready() once the lock is released: w itself, or the
 * waiter its select sleeps on.
 */
static inline waiter_t *chan_complete(go_chan *c, waiter_t *w, bool success)
{
    w->success = success;
    struct select_state *st = w->sel;
    if (!st)
        return w;
    st->winner = w;
    if (st->dups)
        chan_select_unlink_dups(st, c, w);
    return st->parked;
}

/* What an operation tried under its channel's lock found. */
enum chan_try {
    CHAN_NOT_READY,   /* it would block */
    CHAN_DONE,        /* value delivered, or taken */
    CHAN_RECV_CLOSED, /* receive on a closed, drained channel: elem zeroed */
    CHAN_SEND_CLOSED, /* send on a closed channel: the caller panics */
};

/*
 * The decision at the heart of every send (chan.c's chan_send, and a
 * select's send case): under c's lock, send *elem now if that can
 * proceed. Unless it returns CHAN_NOT_READY, *partner is set to the
 * waiter to sched_ready() once the caller has released its locks, or
 * NULL. A parked receiver means the buffer is empty, so the value goes
 * to it directly.
 */
static inline __attribute__((always_inline)) enum chan_try
chan_try_send_locked(go_chan *c, const void *elem, waiter_t **partner)
{
    if (c->closed) {
        *partner = NULL;
        return CHAN_SEND_CLOSED;
    }
    waiter_t *r = chan_dequeue(&c->recvq);
    if (r) {
        if (r->elem)
            chan_copy(r->elem, elem, c->elemsize);
        *partner = chan_complete(c, r, true);
        return CHAN_DONE;
    }
    if (c->qcount < c->cap) {
        chan_buf_put(c, elem);
        *partner = NULL;
        return CHAN_DONE;
    }
    return CHAN_NOT_READY;
}

/*
 * The same for every receive. A closed channel still yields what its
 * buffer holds (close emptied sendq, and no sender queues on a closed
 * channel); once drained, elem (if any) is zeroed here, under the lock.
 */
static inline __attribute__((always_inline)) enum chan_try
chan_try_recv_locked(go_chan *c, void *elem, waiter_t **partner)
{
    waiter_t *s = c->closed ? NULL : chan_dequeue(&c->sendq);
    if (s) {
        chan_recv_from(c, s, elem);
        *partner = chan_complete(c, s, true);
        return CHAN_DONE;
    }
    *partner = NULL;
    if (c->qcount > 0) {
        chan_buf_get(c, elem);
        return CHAN_DONE;
    }
    if (!c->closed)
        return CHAN_NOT_READY;
    if (elem && c->elemsize)
        memset(elem, 0, c->elemsize);
    return CHAN_RECV_CLOSED;
}

/* ---- for other subsystems --------------------------------------------- */

/* go_chan_make without touching errno: NULL if the arguments are invalid
 * or memory is short. */
go_chan *chan_make_internal(size_t elem_size, size_t cap);

/* Have go_chan_free(c) call hook(c, arg) before anything else (go_after
 * stops its timer there). Set it before the channel is shared. */
void chan_set_free_hook(go_chan *c, void (*hook)(go_chan *c, void *arg), void *arg);

/* Send without blocking, for timer callbacks: true if sent; false if the
 * send would block, c is NULL, or c is closed (never panics). */
bool chan_try_send_internal(go_chan *c, const void *elem);

/* How many waiters (goroutines or threads, including select cases not yet
 * cleaned up) are queued to send and to receive. For tests. */
void chan_count_waiters(go_chan *c, size_t *nsend, size_t *nrecv);

/* select.c: run a select (see go_select). block false: -1 if no case is
 * ready. timeout_ns >= 0 (with block): give up after it, -ETIMEDOUT. The
 * cases must have been validated. */
int select_run(go_select_case *cases, size_t n, bool block, int64_t timeout_ns);

#endif /* GO_CHAN_H */
