/*
 * sema.h - address-keyed semaphores (Go's runtime sema) and notify lists
 * (Go's notifyList, the waiting half of sync.Cond): the parking primitives
 * under every sync object (see sema.c).
 */
#ifndef GO_SEMA_H
#define GO_SEMA_H

#include "runtime.h"

/* Wait until *addr > 0, then decrement it. lifo: queue in front of the
 * other waiters of addr (a waiter that already waited once, as Go's mutex
 * does). On return the caller owns one unit. */
void sema_acquire(uint32_t *addr, bool lifo, enum wait_reason reason);
/* As sema_acquire, giving up at deadline (nanotime() scale; < 0: never).
 * Returns false on timeout (and then has not decremented *addr). */
bool sema_acquire_until(uint32_t *addr, bool lifo, enum wait_reason reason,
                        int64_t deadline);
/* Take one unit if *addr > 0; never blocks. */
bool sema_try_acquire(uint32_t *addr);
/*
 * Add n units and wake up to n waiters, oldest first (a lifo waiter counts
 * as oldest). Each woken waiter receives its unit from the releaser, under
 * the bucket lock, and never touches *addr again.
 *
 * handoff false: the units are added to *addr first, so a running acquirer
 * may take one before a queued waiter does (cheap: no lock when nobody
 * waits). handoff true: under the bucket lock, units go straight to queued
 * waiters and only the remainder is added to *addr, so nobody can barge in
 * (Go's starvation mode); a goroutine caller then yields so that the woken
 * goroutine runs at once.
 *
 * *addr is not read or written once a waiter may have returned, except
 * that a non-handoff release may, after its unit was taken, still hand
 * units that are in *addr to waiters queued on the same address: that is
 * what any release would do for them, so it is harmless even if the
 * memory has been reused by another semaphore.
 */
void sema_release(uint32_t *addr, uint32_t n, bool handoff);

/* Waiters queued on addr right now (sema and notify list alike). For
 * tests, which use it to know that a goroutine has parked. */
int sema_count_waiters(const void *addr);

/*
 * A notify list (Go's notifyList): tickets instead of a queue inside the
 * object, so that a sync.Cond is two words, zero-initialisable, and may
 * go out of scope as soon as its last waiter returns. Waiters are queued
 * in the semaphore table under the list's address.
 *
 *   wait    ticket of the next waiter; atomic.
 *   notify  ticket of the next waiter to wake; written under the bucket
 *           lock, read atomically for the fast path.
 *
 * A waiter takes a ticket (sema_notify_add) while it still holds the
 * user's lock, then releases that lock and calls sema_notify_wait: a
 * notify in between has already counted it, so no wake-up is lost.
 */
typedef struct notify_list {
    uint32_t wait;
    uint32_t notify;
} notify_list_t;

uint32_t sema_notify_add(notify_list_t *l);
/* Block until ticket t has been notified (returns at once if it has). */
void sema_notify_wait(notify_list_t *l, uint32_t t, enum wait_reason reason);
/* Wake the waiter holding the oldest ticket not yet notified, if any. */
void sema_notify_one(notify_list_t *l);
/* Wake every waiter that holds a ticket. */
void sema_notify_all(notify_list_t *l);

#endif /* GO_SEMA_H */
