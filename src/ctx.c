/*
 * ctx.c - contexts: cancellation trees (Go's context package, the
 * cancellation half: WithCancel, WithDeadline, WithTimeout; no values).
 *
 * A derived context has a done channel (unbuffered, element size 0) that
 * is closed exactly once, when the context is cancelled: explicitly
 * (go_ctx_cancel, go_ctx_free), by its own deadline timer, or because its
 * parent was. err goes from 0 to -ECANCELED or -ETIMEDOUT once, before the
 * channel is closed, so whoever saw the channel closed reads the final err.
 * Cancellation of a context reaches every descendant, each of which takes
 * the err of the cancellation that reached it (Go: the parent's Err()).
 * The background context is a static root that is never cancelled; as in
 * Go, its children are not linked to it (nothing could cancel them
 * through it), so creating and freeing them touches no shared state.
 *
 * Invariants:
 *  - c->err is set once, under c->lock, and c->done is closed by the same
 *    party before it releases c->lock: once any go_ctx_cancel() of c has
 *    returned, c->done is closed, whoever cancelled first.
 *  - A child is in its parent's children list (and child->parent points to
 *    the parent) iff it was created while the parent was live and has been
 *    neither detached by the parent's cancellation nor unlinked by its own
 *    go_ctx_free. A cancelled context has no children: cancelling detaches
 *    them all, and a child created later is born cancelled, unlinked.
 *  - A deadline is inherited: a child's deadline is the earlier of its own
 *    and its parent's; a child whose parent's deadline is earlier gets no
 *    timer of its own (the parent's will cancel it), as Go.
 *
 * Locking: c->lock protects c->err's transition, c->children, and, for
 * each child in that list, its sibling links and its `parent` and `pinned`
 * fields (stored atomically, since go_ctx_free reads them without the
 * lock). Context locks never nest: each operation holds at most one. A
 * context lock is held while taking a channel lock (the done channel is
 * closed under it) and a timer heap lock (the timer of a new context is
 * armed under its lock, so that a concurrent cancel either sees no timer
 * or stops it), so LOCK_RANK_CTX comes before both. A goroutine woken by
 * the close may go on to free the context, but go_ctx_free starts by
 * cancelling, which takes the lock and so waits for the closer's unlock,
 * the closer's last touch.
 *
 * Rejected: closing after the unlock (a second canceller then returned
 * before the close, where Go's cancel() returns after it).
 *
 * Cancelling a tree, without recursion and without holding a parent's
 * lock while its children are cancelled: the canceller detaches a
 * cancelled context's children under its lock, marking each one `pinned`
 * (its go_ctx_free will wait) and unlinked (parent = NULL), and strings
 * them on a work list through their now-unused sibling links; then it
 * cancels each in turn, splices that one's children in front of the rest,
 * and unpins it. So the depth of a tree costs no stack (timer callbacks
 * run on whatever stack the M is on), each context is locked only on its
 * own, and a context is never freed while a canceller still holds it.
 *
 * Lifetimes, the rule users must keep (also in goroutine.h): the creator
 * of a context frees it with go_ctx_free(), children before their parent.
 * Freeing a parent that still has live children is tolerated: it cancels
 * and detaches them, and they may be freed later; but a parent must not be
 * freed *concurrently* with one of its children (the child's free may be
 * reading its parent pointer). go_ctx_cancel() may be called from any
 * thread, any number of times, but must have returned before go_ctx_free()
 * of the same context starts. A context's own deadline timer may fire
 * while it is being freed: go_ctx_free stops it with timer_stop(), which
 * waits for a callback in flight, before freeing anything.
 *
 * Rejected: one global lock for every tree (simplest, but serialises all
 * unrelated requests' contexts); recursive cancellation under the
 * parent's lock, as Go does (Go grows its stacks; a timer callback here
 * may run at the bottom of some goroutine's fixed stack, so a deep chain
 * of contexts could overflow it); a goroutine per deadline to cancel, as
 * Go's AfterFunc does (costs a goroutine per firing; the cancellation
 * does nothing that may block, so the timer callback does it directly).
 */
#include <errno.h>
#include <limits.h>
#include <sched.h>
#include <stdlib.h>

#include "chan.h"
#include "debug.h"
#include "time.h"

struct go_ctx {
    rlock_t lock;
    int32_t err;          /* 0 / -ECANCELED / -ETIMEDOUT; set under lock, atomic */
    uint32_t pinned;      /* held by a canceller; under parent's lock, atomic */
    bool background;      /* immutable */
    bool has_deadline;    /* immutable */
    int64_t deadline;     /* immutable */
    go_chan *done;        /* immutable; NULL for background */
    go_ctx *parent;       /* under the parent's lock, atomic; NULL if unlinked */
    go_ctx *children;     /* first child; under lock */
    /* Siblings in the parent's list, under the parent's lock; once
     * detached and pinned, `next` links the canceller's work list. */
    go_ctx *next, *prev;
    rtimer_t timer;       /* the deadline timer, if has_timer */
    bool has_timer;       /* immutable once the context is shared */
};

static go_ctx background = {.background = true};

go_ctx *go_ctx_background(void)
{
    return &background;
}

/*
 * Cancel c alone with err, if it is live. Returns its children, detached,
 * pinned and linked through `next`, for the caller to cancel; NULL if it
 * had none or was cancelled already. Unless c is pinned, it must not be
 * touched after the close of its done channel: a goroutine woken by the
 * close may free it.
 */
static go_ctx *cancel_one(go_ctx *c, int32_t err)
{
    rlock(&c->lock);
    if (c->err) {
        runlock(&c->lock);
        return NULL;
    }
    __atomic_store_n(&c->err, err, __ATOMIC_RELEASE);
    go_ctx *kids = c->children;
    c->children = NULL;
    for (go_ctx *k = kids; k; k = k->next) {
        /* pinned before parent: go_ctx_free reads them in reverse order. */
        __atomic_store_n(&k->pinned, 1, __ATOMIC_RELEASE);
        __atomic_store_n(&k->parent, NULL, __ATOMIC_RELEASE);
    }
    /* Never wait here: we may be a timer callback (ours or an ancestor's),
     * and a callback in flight only cancels what is already cancelled. */
    if (c->has_timer)
        timer_try_stop(&c->timer);
    /* Closed under the lock, as Go does: a second canceller, which finds
     * err set and returns at once, returns after the close. */
    go_chan_close(c->done);
    runlock(&c->lock);
    return kids;
}

/* Cancel c and all its descendants with err. */
static void cancel_tree(go_ctx *c, int32_t err)
{
    go_ctx *work = cancel_one(c, err);
    while (work) {
        go_ctx *k = work;
        go_ctx *kids = cancel_one(k, err);
        go_ctx *rest = k->next;
        if (kids) {
            go_ctx *tail = kids;
            while (tail->next)
                tail = tail->next;
            tail->next = rest;
            rest = kids;
        }
        /* k's owner may free it from here on. */
        __atomic_store_n(&k->pinned, 0, __ATOMIC_RELEASE);
        work = rest;
    }
}

static void deadline_fire(rtimer_t *t, void *arg, int64_t now)
{
    (void)t;
    (void)now;
    cancel_tree(arg, -ETIMEDOUT);
}

/* The one constructor. timed: the child has a deadline of its own. */
static go_ctx *derive(go_ctx *parent, bool timed, int64_t deadline)
{
    if (!parent) {
        errno = EINVAL;
        return NULL;
    }
    go_ctx *c = calloc(1, sizeof *c);
    go_chan *done = c ? chan_make_internal(0, 0) : NULL;
    if (!done) {
        free(c);
        errno = ENOMEM;
        return NULL;
    }
    c->done = done;
    rlock_init(&c->lock, LOCK_RANK_CTX);
    bool own_timer = false;
    if (timed && (!parent->has_deadline || deadline < parent->deadline)) {
        c->has_deadline = true;
        c->deadline = deadline;
        own_timer = true;
    } else if (parent->has_deadline) {
        c->has_deadline = true;
        c->deadline = parent->deadline;
    }
    if (own_timer) {
        /* Set up before c is shared: cancellers read has_timer. */
        c->has_timer = true;
        c->timer.fn = deadline_fire;
        c->timer.arg = c;
    }

    if (!parent->background) {
        rlock(&parent->lock);
        int32_t perr = parent->err;
        if (!perr) {
            c->next = parent->children;
            if (c->next)
                c->next->prev = c;
            parent->children = c;
            __atomic_store_n(&c->parent, parent, __ATOMIC_RELEASE);
        }
        runlock(&parent->lock);
        if (perr) {
            /* Born cancelled (Go: propagateCancel on a done parent). */
            __atomic_store_n(&c->err, perr, __ATOMIC_RELEASE);
            go_chan_close(c->done);
            return c;
        }
    }
    if (own_timer) {
        if (deadline <= nanotime()) {
            cancel_tree(c, -ETIMEDOUT);
            return c;
        }
        /* Under c's lock: a cancel racing with us either comes first (we
         * see err and arm nothing) or after (it finds the timer armed). */
        rlock(&c->lock);
        if (!c->err)
            timer_start(&c->timer, deadline);
        runlock(&c->lock);
    }
    return c;
}

go_ctx *go_ctx_with_cancel(go_ctx *parent)
{
    go_ctx *c = derive(parent, false, 0);
    DEBUG_OBJ_NEW(DOBJ_CTX, c);
    return c;
}

go_ctx *go_ctx_with_deadline(go_ctx *parent, int64_t deadline)
{
    go_ctx *c = derive(parent, true, deadline);
    DEBUG_OBJ_NEW(DOBJ_CTX, c);
    return c;
}

go_ctx *go_ctx_with_timeout(go_ctx *parent, int64_t timeout_ns)
{
    int64_t now = nanotime();
    int64_t deadline = timeout_ns <= 0 ? now
                       : timeout_ns > INT64_MAX - now ? INT64_MAX
                                                      : now + timeout_ns;
    go_ctx *c = derive(parent, true, deadline);
    DEBUG_OBJ_NEW(DOBJ_CTX, c);
    return c;
}

void go_ctx_cancel(go_ctx *ctx)
{
    if (!ctx || ctx->background)
        return;
    cancel_tree(ctx, -ECANCELED);
}

go_chan *go_ctx_done(go_ctx *ctx)
{
    return ctx ? ctx->done : NULL;
}

int go_ctx_err(go_ctx *ctx)
{
    return ctx ? __atomic_load_n(&ctx->err, __ATOMIC_ACQUIRE) : 0;
}

bool go_ctx_deadline(go_ctx *ctx, int64_t *deadline)
{
    if (!ctx || !ctx->has_deadline)
        return false;
    if (deadline)
        *deadline = ctx->deadline;
    return true;
}

void go_ctx_free(go_ctx *ctx)
{
    if (!ctx || ctx->background)
        return;
    DEBUG_OBJ_FREE(ctx);
    /* Cancelling detaches (and finishes cancelling) every child, so none
     * refers to us any more; children freed later find parent NULL. */
    cancel_tree(ctx, -ECANCELED);
    go_ctx *p = __atomic_load_n(&ctx->parent, __ATOMIC_ACQUIRE);
    if (p) {
        /* p is alive: a parent is not freed concurrently with its child
         * (the rule above), and one cancelled meanwhile detaches us and
         * sets our parent to NULL, which we check under its lock. */
        rlock(&p->lock);
        if (__atomic_load_n(&ctx->parent, __ATOMIC_RELAXED) == p) {
            if (ctx->prev)
                ctx->prev->next = ctx->next;
            else
                p->children = ctx->next;
            if (ctx->next)
                ctx->next->prev = ctx->prev;
            __atomic_store_n(&ctx->parent, NULL, __ATOMIC_RELAXED);
        }
        runlock(&p->lock);
    }
    /* Our deadline callback may be running on another M. */
    if (ctx->has_timer)
        timer_stop(&ctx->timer);
    /* A parent's canceller may still hold us (it detached us first, so
     * `parent` was NULL or became NULL above). */
    for (int i = 0; __atomic_load_n(&ctx->pinned, __ATOMIC_ACQUIRE); i++) {
        if (i < 200)
            cpu_relax();
        else
            sched_yield();
    }
    go_chan_free(ctx->done);
    free(ctx);
}
