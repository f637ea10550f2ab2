/*
 * sysmon.h - the monitor thread and asynchronous preemption (see sysmon.c).
 */
#ifndef GO_SYSMON_H
#define GO_SYSMON_H

#include "runtime.h"

/* Start sysmon (once, from rt_init) and install the preemption handler. */
void sysmon_start(void);

/* 1 while sysmon sleeps long (more than ~50 us); atomic. go_syscall_enter
 * then calls sysmon_wake(), so that a P stuck in a system call is taken
 * back two quick looks after it entered, not after sysmon's next look (up
 * to 10 ms when everything was idle). Go wakes sysmon the same way from
 * its deep sleep (entersyscall_sysmon). */
extern uint32_t sysmon_napping;
void sysmon_wake(void);

/* Send thread th the runtime's own SIGURG (marked as ours, so that the
 * handler does not pass it on to the program's SIGURG handler): a
 * preemption request, or a dump's request to sample the M's stack.
 * Returns 0 or an error number from pthread_sigqueue. */
int sysmon_signal(pthread_t th);

#endif /* GO_SYSMON_H */
