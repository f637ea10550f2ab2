/*
 * sema.h - address-keyed semaphores (Go's runtime sema), the parking
 * primitive under every sync object (see sema.c).
 */
#ifndef GO_SEMA_H
#define GO_SEMA_H

#include "runtime.h"

/* Wait until *addr > 0, then decrement it. lifo: queue at the front (a
 * waiter that already waited once, as Go's mutex does). */
void sema_acquire(uint32_t *addr, bool lifo, enum wait_reason reason);
/* As sema_acquire, giving up at deadline (nanotime(); < 0: never).
 * Returns false on timeout (and then has not decremented *addr). */
bool sema_acquire_until(uint32_t *addr, bool lifo, enum wait_reason reason,
                        int64_t deadline);
/* Add n to *addr and wake up to n waiters. handoff: the woken waiters get
 * their units directly, so a running acquirer cannot barge in (Go's
 * starvation mode). *addr is not touched once a waiter may have returned. */
void sema_release(uint32_t *addr, uint32_t n, bool handoff);

#endif /* GO_SEMA_H */
