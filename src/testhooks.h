/*
 * testhooks.h - the runtime's internal functions that white-box tests call
 * (as Go's export_test.go exports internals to its tests). Tests include
 * it as "../src/testhooks.h"; src/ itself is not on their include path,
 * since src/sched.h would shadow <sched.h>.
 *
 * These are hidden symbols: tests link libgoroutine_internal.a, the
 * static library before its internal symbols are made local (the
 * installed libgoroutine.a has none of them; see CMakeLists.txt). The files that define them include this header too, so a
 * declaration here that drifts from its definition is a compile error,
 * not a silent mismatch. Depends on the public header only.
 */
#ifndef GO_TESTHOOKS_H
#define GO_TESTHOOKS_H

#include <goroutine.h>

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* chan.c: waiters queued to send and to receive on c (either pointer may
 * be NULL), including select cases not yet cleaned up. */
void chan_count_waiters(go_chan *c, size_t *nsend, size_t *nrecv);
/* chan.c: have go_chan_free(c) call hook(c, arg) first. */
void chan_set_free_hook(go_chan *c, void (*hook)(go_chan *c, void *arg), void *arg);
/* chan.c: send without blocking or panicking (as timer callbacks do). */
bool chan_try_send_internal(go_chan *c, const void *elem);

/* sema.c: waiters queued on addr; the raw semaphore calls that go_mutex
 * and the other sync objects are built on. */
int sema_count_waiters(const void *addr);
void sema_release(uint32_t *addr, uint32_t n, bool handoff);
bool sema_try_acquire(uint32_t *addr);

/* sched.c: make the first idle M the M on timer duty without waking it
 * and with no deadline, the state a lost wake-up leaves (false if no M
 * is idle, or another M is on duty): only sysmon's safety net
 * (sched_timers_overdue) can then get the next timer fired. */
bool sched_test_lose_timer_duty(void);

/* stack.c: whether sysmon can trim parked goroutines' stacks here (the
 * assembly context switch, and a kernel with private expedited
 * membarrier); GOROUTINE_STACK_TRIM=off is not considered. */
bool stack_trim_available(void);

#endif /* GO_TESTHOOKS_H */
