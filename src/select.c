/*
 * select.c - Go's select over any mix of send and receive cases (Go's
 * runtime/select.go), with or without a default (go_select_try) or a
 * timeout (go_select_timeout). Timed channel operations (chan.c) are
 * one-case selects.
 *
 * One select, in five steps:
 *
 *  1. Poll order: a uniformly random permutation of the cases with a
 *     channel (Fisher-Yates; NULL channels never fire and are left out),
 *     so that among ready cases each is equally likely to be chosen.
 *  2. Pass 0: in poll order, read each case's readiness without a lock
 *     (closed, a partner queued, buffer data or room: single words stored
 *     under the lock); the first case that looks ready is tried under its
 *     own channel's lock alone, and done if it really can proceed. This is
 *     where most selects that find something ready end, having locked one
 *     channel, not all of them (Go locks them all; on two cores that cost
 *     a cache-line transfer per channel per select).
 *  3. Nothing looked ready (or the hints were stale): lock every channel,
 *     in lock order, i.e. the poll order sorted by channel address with a
 *     stable (insertion) or label-blind (heap) sort, so cases on one
 *     channel keep a random relative order, and so do the waiters a
 *     blocked select queues on one channel. Two selects that share
 *     channels take them in the same order, so they cannot deadlock.
 *  4. Pass 1: with everything locked the cases' states are one snapshot.
 *     In poll order, the first case that can proceed is done, exactly as
 *     chan.c does it (try_case), and its index returned. None, and no
 *     blocking wanted: unlock, return -1: no case could proceed at that
 *     instant, so taking the default is right even under races (Go's
 *     TestNonblockSelectRace).
 *  5. Pass 2: queue one waiter per case (on this stack), all pointing at
 *     one select_state, arm the timeout if any, and park. The channel
 *     locks are dropped by the park's unlock function once our context is
 *     saved. Exactly one party completes the select: the partner or closer
 *     that first claims st.done with a CAS (chan_dequeue), or the timeout.
 *     Pass 3, once woken: relock the channels that may still hold our
 *     losing waiters, unlink those still queued, unlock, and report the
 *     winner (or -ETIMEDOUT).
 *
 * Pass 0 keeps Go's semantics: the chosen case can proceed at the instant
 * it is done (under its lock), the order of the attempts is the same
 * uniformly random poll order, and the default or a block is only ever
 * decided on the locked snapshot of pass 1. A stale "not ready" hint can
 * only make pass 0 skip a ready case that pass 1 then finds.
 *
 * What a claimer does, under the lock of the winning waiter's channel:
 * copy the value, set w->success, st->winner = w, and, if the select has
 * more than one case on that channel, unlink those too
 * (chan_select_unlink_dups); then, after unlocking, ready the waiter the
 * select sleeps on. That last step is why pass 3 never needs the
 * winner's channel: after the partner's operation completes the select
 * never touches that channel again (docs/design.md, "Lifetimes"), so a
 * one-case timed operation completed by a partner touches the channel no
 * more than a plain blocking one does.
 *
 * Timeouts. The timer callback claims st.done holding no lock. It must not
 * ready the select before the select's context is saved (a goroutine
 * readied too early could be resumed from a stale context), and any M
 * may run the callback while we are still on our way into the park.
 * Hence the handshake on st.parkstate: the park's unlock function
 * (which runs once the context is saved) sets PARKED, the callback sets
 * TIMER_FIRED after its claim; whichever of the two comes second readies
 * the select. Both use one atomic fetch-or, so exactly one of them sees
 * the other's bit. The woken select calls timer_stop(), which waits for a
 * callback still running, before its frame (which holds the timer and the
 * state) goes away.
 *
 * The unlock function must not touch the select's frame after it has
 * released the last channel lock: the select may be readied by then and
 * return. It releases in reverse lock order, so the lowest-addressed
 * channel goes last; a select readied earlier blocks in pass 3 on that
 * lock (pass 3 always needs a lock we still hold, unless the winner's is
 * the last one).
 *
 * Wake-up placement. A partner normally readies the goroutine it completes
 * into its P's runnext, so that a pair handing values back and forth runs
 * back to back. A select over more than one channel is a fan-in point
 * instead: its feeders are usually runnable on the same P, and in runnext
 * the select would run before them, take the one value, find nothing else
 * ready and park again, one full lock-all / queue / park / unlink cycle
 * per message. So a select with two or more channels is readied at the
 * tail of the run queue (waiter_t.queue_tail): when it runs, the feeders
 * ahead of it have queued their values and it takes them in pass 0
 * (bench_select, 4 producers and one consumer, is the case it serves).
 *
 * Descriptor cases (GO_READABLE, GO_WRITABLE). They take part in the
 * poll order like channel cases, but have no channel lock: their state
 * lives in the poller (netpoll.c, io.h's netpoll_sel_*). Before pass 0
 * the select takes a reference on each descriptor (so go_close waits for
 * the select to leave, and the number cannot be reused under it) and
 * registers descriptors the library did not create. Pass 0 asks poll(2)
 * (level-triggered, as go_fd_wait), noting the descriptor's report count
 * first; a descriptor that is closing or past its deadline counts as
 * ready (the read or write after it says so). Pass 1 polls again only if
 * a report came since. Pass 2 queues one iowait per descriptor case under
 * its pd->lock (inside the channel locks: lock order channel, then poll
 * descriptor), unless a report came since pass 0's poll(2): then the
 * select claims itself, takes its waiters back and starts again from pass
 * 0, which cannot miss the readiness behind that report. Whoever ends a
 * queued iowait (a readiness report, a deadline, go_close) claims the
 * select with the CAS on st.done under pd->lock, and after dropping the
 * lock hands the wake-up over with the same PARKED / TIMER_FIRED
 * handshake as the timeout (select_wake_claimed). Pass 3 unlinks the
 * losing iowaits under their pd->locks (poll descriptors are never freed)
 * and drops the references. While it sleeps with descriptor cases the
 * select counts once in the poller's waiters (so that Ms poll, and
 * deadlock detection knows I/O may wake it); a plain thread pokes the
 * scheduler so that some M polls for it. The case's state needs one
 * malloc per select that has descriptor cases (the poll(2) calls cost
 * more): channel-only selects are untouched.
 *
 * Memory: cases beyond SELECT_STACK_CASES need one malloc for the orders
 * and waiters; if it fails the select returns -ENOMEM having done nothing.
 *
 * Rejected: polling in case order (starves later cases); one
 * waiter per select instead of per case (a partner could not tell which
 * case it completes without scanning the cases); locking all channels
 * again in pass 3 as Go does (would touch the winner's channel after the
 * partner may have freed it; Go has a GC, we do not); trying every case
 * with a trylock instead of pass 0's hints (a trylock takes the cache
 * line exclusive even when the case is not ready).
 */
#include <errno.h>
#include <limits.h>
#include <stdlib.h>

#include "chan.h"
#include "debug.h"
#include "io.h"
#include "time.h"

/* Cases handled without malloc. A waiter is ~100 bytes, so this costs
 * under 2 KiB of stack. */
#define SELECT_STACK_CASES 16

/* A random number in [0, n), n > 0. The bias of the multiply-shift is
 * below n / 2^32, far below what any test of fairness could see. */
static inline uint32_t randn(m_t *m, uint32_t n)
{
    uint32_t r = m ? fastrand(m) : rt_rand();
    return (uint32_t)(((uint64_t)r * n) >> 32);
}

/* One entry of the lock order: a case's channel, kept next to the case's
 * index so that sorting, locking and unlocking read it without going
 * through the caller's case array. */
struct lockent {
    go_chan *c;
    uint32_t i;
};

static inline bool before(const struct lockent *a, const struct lockent *b)
{
    return (uintptr_t)a->c < (uintptr_t)b->c;
}

/* Sort lo[0..n) by channel address: insertion sort for small n (stable),
 * heap sort beyond (O(n log n), no extra memory; not stable, but it only
 * compares addresses, so cases on one channel that were in random order
 * stay in random order). */
/* Heap sort's sift-down: place x at slot j of the max-heap lo[0..n),
 * moving larger children up. */
static void sift_down(struct lockent *lo, uint32_t j, uint32_t n, struct lockent x)
{
    for (;;) {
        uint32_t k = 2 * j + 1;
        if (k >= n)
            break;
        if (k + 1 < n && before(&lo[k], &lo[k + 1]))
            k++;
        if (!before(&x, &lo[k]))
            break;
        lo[j] = lo[k];
        j = k;
    }
    lo[j] = x;
}

static void sort_by_chan(struct lockent *lo, uint32_t n)
{
    if (n <= SELECT_STACK_CASES) {
        for (uint32_t i = 1; i < n; i++) {
            struct lockent x = lo[i];
            uint32_t j = i;
            while (j > 0 && before(&x, &lo[j - 1])) {
                lo[j] = lo[j - 1];
                j--;
            }
            lo[j] = x;
        }
        return;
    }
    /* Build a max-heap, then repeatedly move the max to the end. */
    for (uint32_t start = n / 2; start-- > 0;)
        sift_down(lo, start, n, lo[start]);
    for (uint32_t end = n; end-- > 1;) {
        struct lockent x = lo[end];
        lo[end] = lo[0];
        sift_down(lo, 0, end, x);
    }
}

static inline void lock_all(const struct lockent *lo, uint32_t n)
{
    go_chan *prev = NULL;
    for (uint32_t i = 0; i < n; i++) {
        if (lo[i].c != prev)
            chan_lock(lo[i].c);
        prev = lo[i].c;
    }
}

/* Reverse lock order, each channel once. Reads lo only before the unlock
 * that follows (see the top comment). */
static inline void unlock_all(const struct lockent *lo, uint32_t n)
{
    for (uint32_t i = n; i-- > 0;) {
        go_chan *c = lo[i].c;
        if (i > 0 && lo[i - 1].c == c)
            continue;
        runlock(&c->lock);
    }
}

static inline waitq_t *queue_of(go_chan *c, int dir)
{
    return dir == GO_SELECT_SEND ? &c->sendq : &c->recvq;
}

/* Under c's lock, from chan_complete(): win (on c) has been claimed;
 * unlink the select's other waiters on c, so that the select need not
 * lock c again. They are adjacent to win in lock order. */
void chan_select_unlink_dups(struct select_state *st, go_chan *c, waiter_t *win)
{
    waiter_t *ws = st->waiters;
    uint32_t n = st->nwaiters;
    uint32_t k = (uint32_t)(win - ws);
    for (uint32_t j = k; j-- > 0 && ws[j].c == c;)
        if (ws[j].next)
            chan_wq_unlink(queue_of(c, st->cases[ws[j].caseidx].dir), &ws[j]);
    for (uint32_t j = k + 1; j < n && ws[j].c == c; j++)
        if (ws[j].next)
            chan_wq_unlink(queue_of(c, st->cases[ws[j].caseidx].dir), &ws[j]);
}

/* ---- the timeout and the park -------------------------------------------- */

/* A lock-free claimer (the timeout, or a descriptor case's poller
 * callback after it has dropped pd->lock) has claimed st: ready the
 * select if its park is done, else leave that to the park's unlock
 * function. Returns 1 if it readied it. st may be gone once the select is
 * readied: nothing of it is touched after the fetch-or. */
int select_wake_claimed(struct select_state *st)
{
    waiter_t *pw = st->parked;
    uint32_t old = __atomic_fetch_or(&st->parkstate, SELECT_TIMER_FIRED, __ATOMIC_ACQ_REL);
    if (old & SELECT_PARKED) {
        sched_ready(pw);
        return 1;
    }
    return 0;
}

bool select_claim(struct select_state *st, waiter_t *w)
{
    uint32_t z = 0;
    if (!__atomic_compare_exchange_n(&st->done, &z, 1, false, __ATOMIC_ACQ_REL, __ATOMIC_RELAXED))
        return false;
    st->winner = w;
    return true;
}

static void select_timeout_fire(rtimer_t *t, void *arg, int64_t now)
{
    (void)t;
    (void)now;
    struct select_state *st = arg;
    if (!select_claim(st, NULL))
        return; /* a partner, close or descriptor completed the select */
    /* st->winner stays NULL: "timed out". */
    select_wake_claimed(st);
}

struct park_arg {
    const struct lockent *lockord;
    uint32_t n;
    struct select_state *st;
    bool poke; /* a plain thread waits for descriptors: make an M poll */
};

/*
 * sched_park's unlock function: runs once the select's context is saved.
 * pa, st and the lock order live in the select's frame. Once PARKED is
 * published a lock-free claimer (the timer, or the poller for a
 * descriptor case) may ready the select, and only a channel lock we still
 * hold keeps it from returning (pass 3 waits for it). With no channel at
 * all (no cases, only NULL ones, or only descriptor cases) nothing does:
 * so everything is read from the frame before the fetch-or, and after it
 * only the lock order is touched, and only while a lock is still held.
 */
static void select_park_unlock(void *arg)
{
    struct park_arg *pa = arg;
    struct select_state *st = pa->st;
    const struct lockent *lockord = pa->lockord;
    uint32_t n = pa->n;
    bool poke = pa->poke;
    waiter_t *ready = NULL;
    if (st->timed || st->fdwait) {
        waiter_t *pw = st->parked;
        uint32_t old = __atomic_fetch_or(&st->parkstate, SELECT_PARKED, __ATOMIC_ACQ_REL);
        if (old & SELECT_TIMER_FIRED)
            ready = pw; /* a lock-free claimer left the wake-up to us */
    }
    unlock_all(lockord, n);
    /* If we are to ready the select, nobody else can: it is still parked
     * and pw still valid. */
    if (ready)
        sched_ready(ready);
    if (poke)
        netpoll_sel_poke();
}

/* ---- select ---------------------------------------------------------------- */

/* Does case cs look ready? A lock-free hint (see pass 0), read from words
 * that are stored under the lock with relaxed atomics. */
static inline bool looks_ready(const go_select_case *cs)
{
    go_chan *c = cs->chan;
    if (__atomic_load_n(&c->closed, __ATOMIC_RELAXED))
        return true;
    if (cs->dir == GO_SELECT_RECV) {
        if (c->cap == 0)
            return __atomic_load_n(&c->sendq.head, __ATOMIC_RELAXED) != NULL;
        return __atomic_load_n(&c->qcount, __ATOMIC_RELAXED) > 0;
    }
    if (__atomic_load_n(&c->recvq.head, __ATOMIC_RELAXED) != NULL)
        return true;
    return __atomic_load_n(&c->qcount, __ATOMIC_RELAXED) < c->cap;
}

/* Under the lock of cs->chan: do case cs if it can proceed now, exactly
 * as chan.c's send and receive would (see chan_try_*_locked). */
static inline enum chan_try try_case(go_select_case *cs, waiter_t **partner)
{
    if (cs->dir == GO_SELECT_RECV)
        return chan_try_recv_locked(cs->chan, cs->elem, partner);
    return chan_try_send_locked(cs->chan, cs->elem, partner);
}

/* Case i was done and the locks are released: ready the partner, report
 * to the caller's ok, free our memory. The channel is not touched again
 * (a closed receive's elem was zeroed under the lock). */
static int fired(go_select_case *cs, int i, enum chan_try t, waiter_t *partner, void *heap)
{
    if (partner)
        sched_ready(partner);
    free(heap);
    if (t == CHAN_SEND_CLOSED)
        debug_panic("send on closed channel");
    if (cs->dir == GO_SELECT_RECV && cs->ok)
        *cs->ok = t == CHAN_DONE;
    return i;
}

static inline bool is_fd_case(const go_select_case *cs)
{
    return cs->dir == GO_SELECT_READABLE || cs->dir == GO_SELECT_WRITABLE;
}

/* The descriptor cases' state (see "Descriptor cases"): nfd slots, and
 * which slot each case uses. */
struct fdset {
    struct netpoll_selfd *f;
    uint32_t *slot; /* by case index */
    uint32_t n;
    uint32_t begun;
};

static void fds_end(struct fdset *fs)
{
    for (uint32_t j = 0; j < fs->begun; j++)
        netpoll_sel_end(&fs->f[j]);
    free(fs->f);
}

/* Take a reference on every descriptor case's poll descriptor. 0, or
 * -ENOMEM / -EBADF (fd not open) having taken none. */
static int fds_begin(struct fdset *fs, go_select_case *cases, size_t n)
{
    size_t per = sizeof(struct netpoll_selfd);
    fs->f = malloc(fs->n * per + n * sizeof(uint32_t));
    if (!fs->f)
        return -ENOMEM;
    fs->slot = (uint32_t *)(fs->f + fs->n);
    fs->begun = 0;
    for (uint32_t i = 0; i < (uint32_t)n; i++) {
        if (!is_fd_case(&cases[i]) || cases[i].fd < 0)
            continue;
        uint32_t j = fs->begun;
        int e = netpoll_sel_begin(&fs->f[j], cases[i].fd,
                                  cases[i].dir == GO_SELECT_READABLE ? NETPOLL_READ
                                                                     : NETPOLL_WRITE);
        if (e) {
            fds_end(fs);
            return e;
        }
        fs->slot[i] = j;
        fs->begun++;
    }
    return 0;
}

/* Pass 3 for the descriptor cases: unlink those still queued. */
static void fds_dequeue(struct fdset *fs)
{
    for (uint32_t j = 0; j < fs->begun; j++)
        netpoll_sel_dequeue(&fs->f[j]);
}

/* Pass 3 for the channel cases: unlink our losing waiters. The claimer
 * already unlinked everything we had on the winner's channel wc, which we
 * must not touch; the rest may still be queued (or were dropped by someone
 * who found them claimed). */
static void unlink_losers(go_select_case *cases, waiter_t *ws, uint32_t nch, go_chan *wc)
{
    go_chan *prev = NULL;
    for (uint32_t k = 0; k < nch; k++) {
        go_chan *c = ws[k].c;
        if (c != prev && c != wc)
            chan_lock(c);
        prev = c;
    }
    for (uint32_t k = 0; k < nch; k++) {
        waiter_t *w = &ws[k];
        if (w->c == wc || !w->next)
            continue;
        chan_wq_unlink(queue_of(w->c, cases[w->caseidx].dir), w);
    }
    for (uint32_t k = nch; k-- > 0;) {
        go_chan *c = ws[k].c;
        if (c == wc || (k > 0 && ws[k - 1].c == c))
            continue;
        runlock(&c->lock);
    }
}

int select_run(go_select_case *cases, size_t n, bool block, int64_t timeout_ns)
{
    uint32_t stack_poll[SELECT_STACK_CASES];
    struct lockent stack_lock[SELECT_STACK_CASES];
    waiter_t stack_w[SELECT_STACK_CASES];
    uint32_t *poll = stack_poll;
    struct lockent *lockord = stack_lock;
    waiter_t *ws = stack_w;
    void *heap = NULL;
    struct fdset fs = {0};

    if (n > SELECT_STACK_CASES) {
        size_t per = sizeof(waiter_t) + sizeof(struct lockent) + sizeof(uint32_t);
        if (n > SIZE_MAX / per)
            return -ENOMEM;
        heap = malloc(n * per);
        if (!heap)
            return -ENOMEM;
        ws = heap;
        lockord = (struct lockent *)(ws + n);
        poll = (uint32_t *)(lockord + n);
    }

    /* 1. Poll order: an inside-out Fisher-Yates shuffle of the cases that
     * can fire (a channel, or a descriptor >= 0). The same loop checks
     * every case's direction, so that an invalid select fails before it
     * has done anything. */
    m_t *m = sched_getm_fast();
    uint32_t npoll = 0, nch = 0;
    for (uint32_t i = 0; i < (uint32_t)n; i++) {
        if (is_fd_case(&cases[i])) {
            if (cases[i].fd < 0)
                continue;
            fs.n++;
        } else if (cases[i].dir != GO_SELECT_RECV && cases[i].dir != GO_SELECT_SEND) {
            free(heap);
            return -EINVAL;
        } else if (!cases[i].chan) {
            continue;
        } else {
            chan_check(cases[i].chan);
            nch++;
        }
        uint32_t j = randn(m, npoll + 1);
        poll[npoll] = poll[j];
        poll[j] = i;
        npoll++;
    }
    if (fs.n) {
        int e = fds_begin(&fs, cases, n);
        if (e) {
            free(heap);
            return e;
        }
    }
    int ret;

again:
    /* Pass 0: in poll order, a case that looks ready is tried under its
     * own channel's lock alone. Most selects that find a case ready end
     * here, having locked one channel instead of all of them. A case that
     * looked ready but is not (a stale hint) just moves us on. A
     * descriptor case asks poll(2). */
    for (uint32_t k = 0; k < npoll; k++) {
        go_select_case *cs = &cases[poll[k]];
        if (is_fd_case(cs)) {
            if (netpoll_sel_ready(&fs.f[fs.slot[poll[k]]])) {
                ret = (int)poll[k];
                goto out;
            }
            continue;
        }
        if (!looks_ready(cs))
            continue;
        chan_lock(cs->chan);
        waiter_t *partner;
        enum chan_try t = try_case(cs, &partner);
        if (t != CHAN_NOT_READY) {
            runlock(&cs->chan->lock);
            if (fs.n)
                fds_end(&fs);
            return fired(cs, (int)poll[k], t, partner, heap);
        }
        runlock(&cs->chan->lock);
    }

    /* 2. Lock every channel, in address order. 3. Pass 1: with all the
     * channels locked, the channel cases' states are one snapshot: if none
     * can proceed, none could at that instant, so we may take the default
     * or queue on all of them without missing a partner. A descriptor case
     * is looked at again only if a report came since pass 0's poll(2). */
    for (uint32_t k = 0, l = 0; k < npoll; k++)
        if (!is_fd_case(&cases[poll[k]]))
            lockord[l++] = (struct lockent){cases[poll[k]].chan, poll[k]};
    sort_by_chan(lockord, nch);
    lock_all(lockord, nch);
    for (uint32_t k = 0; k < npoll; k++) {
        go_select_case *cs = &cases[poll[k]];
        if (is_fd_case(cs)) {
            struct netpoll_selfd *f = &fs.f[fs.slot[poll[k]]];
            if (!netpoll_sel_unchanged(f) && netpoll_sel_ready(f)) {
                unlock_all(lockord, nch);
                ret = (int)poll[k];
                goto out;
            }
            continue;
        }
        waiter_t *partner;
        enum chan_try t = try_case(cs, &partner);
        if (t == CHAN_NOT_READY)
            continue;
        unlock_all(lockord, nch);
        if (fs.n)
            fds_end(&fs);
        return fired(cs, (int)poll[k], t, partner, heap);
    }
    if (!block) {
        unlock_all(lockord, nch);
        ret = -1;
        goto out;
    }

    /* 4. Pass 2: queue a waiter on every channel, in lock order, then one
     * on every descriptor. */
    g_t *g = sched_getg();
    struct select_state st = {0};
    st.waiters = ws;
    st.nwaiters = nch;
    st.cases = cases;
    st.fdwait = fs.n > 0;
    waiter_t pw = {0};
    pw.g = g;
    /* Two or more distinct channels (lockord is sorted by address), or any
     * descriptor: a fan-in wait (see "Wake-up placement"). */
    pw.queue_tail = (nch > 1 && lockord[0].c != lockord[nch - 1].c) || fs.n > 0;
    st.parked = &pw;
    for (uint32_t k = 0; k < nch; k++) {
        uint32_t i = lockord[k].i;
        waiter_t *w = &ws[k];
        memset(w, 0, sizeof *w);
        w->g = g;
        w->elem = cases[i].elem;
        w->c = lockord[k].c;
        w->sel = &st;
        w->caseidx = (int32_t)i;
        if (k > 0 && ws[k - 1].c == w->c)
            st.dups = true;
        chan_wq_push(queue_of(w->c, cases[i].dir), w);
    }
    /* From its first queued descriptor case on, the select may be claimed
     * by the poller (on any thread), which only ever sets winner and
     * parkstate. A report that came since pass 0's poll(2) stops the
     * queueing: then the select claims itself, undoes pass 2 and starts
     * again; if someone else has already claimed it, it parks to collect
     * their wake-up. */
    bool restart = false;
    for (uint32_t k = 0; k < npoll && fs.n; k++) {
        uint32_t i = poll[k];
        if (!is_fd_case(&cases[i]))
            continue;
        if (!netpoll_sel_queue(&fs.f[fs.slot[i]], &st, (int)i)) {
            restart = select_claim(&st, NULL);
            break;
        }
    }
    if (restart) {
        /* Nobody else can claim it now, and no partner can reach our
         * channel waiters while we hold the locks. */
        for (uint32_t k = 0; k < nch; k++)
            chan_wq_unlink(queue_of(ws[k].c, cases[ws[k].caseidx].dir), &ws[k]);
        unlock_all(lockord, nch);
        fds_dequeue(&fs);
        goto again;
    }
    rtimer_t timer = {0};
    if (timeout_ns >= 0) {
        /* The timer runs on an M even when a plain thread waits. */
        if (!__atomic_load_n(&rt_started, __ATOMIC_ACQUIRE))
            rt_init();
        st.timed = true;
        timer.fn = select_timeout_fire;
        timer.arg = &st;
        int64_t now = nanotime();
        int64_t when = timeout_ns > INT64_MAX - now ? INT64_MAX : now + timeout_ns;
        /* Under the channel locks, which come before the timer heap's. */
        timer_start(&timer, when);
    }
    if (fs.n)
        netpoll_sel_sleeping(1); /* the poller has someone to poll for */
    struct park_arg pa = {lockord, nch, &st, fs.n > 0 && !g};
    enum wait_reason reason = npoll ? WAIT_SELECT : WAIT_SELECT_NO_CASES;
    sched_park(&pw, select_park_unlock, &pa, reason);

    /* Woken: exactly one claimer has done its part. */
    if (st.timed)
        timer_stop(&timer);
    waiter_t *win = st.winner;
    go_chan *wc = win ? win->c : NULL;

    /* Pass 3: unlink our losing waiters. */
    unlink_losers(cases, ws, nch, wc);
    if (fs.n) {
        fds_dequeue(&fs);
        netpoll_sel_sleeping(-1);
    }

    if (!win) {
        ret = -ETIMEDOUT;
        goto out;
    }
    int i = win->caseidx;
    if (is_fd_case(&cases[i])) {
        ret = i;
        goto out;
    }
    bool success = win->success;
    if (fs.n)
        fds_end(&fs);
    free(heap);
    if (cases[i].dir == GO_SELECT_SEND) {
        if (!success)
            debug_panic("send on closed channel");
    } else if (cases[i].ok) {
        *cases[i].ok = success;
    }
    return i;

out:
    /* Ended by a descriptor case, the default, or the timeout: no channel
     * was touched. */
    if (fs.n)
        fds_end(&fs);
    free(heap);
    return ret;
}

/* ---- the public entry points ------------------------------------------------ */

/* Directions are checked by select_run before it does anything. */
static int validate(go_select_case *cases, size_t n)
{
    if (n > 0 && !cases)
        return -EINVAL;
    if (n > INT_MAX)
        return -EINVAL; /* the chosen index must fit the int we return */
    return 0;
}

int go_select(go_select_case *cases, size_t n)
{
    int e = validate(cases, n);
    if (e)
        return e;
    return select_run(cases, n, true, -1);
}

int go_select_try(go_select_case *cases, size_t n)
{
    int e = validate(cases, n);
    if (e)
        return e;
    return select_run(cases, n, false, -1);
}

int go_select_timeout(go_select_case *cases, size_t n, int64_t timeout_ns)
{
    int e = validate(cases, n);
    if (e)
        return e;
    if (timeout_ns <= 0) {
        int r = select_run(cases, n, false, -1);
        return r == -1 ? -ETIMEDOUT : r;
    }
    return select_run(cases, n, true, timeout_ns);
}
