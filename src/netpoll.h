/*
 * netpoll.h - the network poller: the contract between the scheduler, the
 * portable poller layer (netpoll.c: per-descriptor wait state, deadlines,
 * close) and a backend (netpoll_epoll.c today; a kqueue port later).
 *
 * Backend contract (about a hundred lines per OS, like Redis's ae):
 *   netpoll_backend_init()     create the poller and its wake-up channel
 *                              (epoll + eventfd); 0 or -errno.
 *   netpoll_backend_open(fd, pd)   watch fd for read and write readiness,
 *                              edge-triggered; ready events carry pd back.
 *   netpoll_backend_close(fd)  stop watching fd.
 *   netpoll_backend_poll(timeout_ns, ready)  wait up to timeout_ns (< 0:
 *                              forever, 0: don't block) and call
 *                              ready(pd, events) for each ready descriptor
 *                              (events: NETPOLL_READ|NETPOLL_WRITE|NETPOLL_ERR|
 *                              NETPOLL_HUP);
 *                              returns how many, or 0 if woken by break.
 *   netpoll_backend_break()    make a blocked poll return soon; safe from
 *                              any thread, cheap when nobody is blocked.
 *
 * Scheduler contract (netpoll.c provides, sched.c and sysmon.c call):
 *   netpoll_active()   true once any descriptor has been registered.
 *   netpoll_waiters()  goroutines/threads blocked waiting for I/O now
 *                      (deadlock detection: I/O may still wake them).
 *   netpoll(timeout_ns)  poll once and make every waiter whose descriptor
 *                      became ready (or whose descriptor was closed)
 *                      runnable with sched_ready(); returns how many.
 *                      Called non-blocking by Ms looking for work and by
 *                      sysmon, blocking by the one idle M on poll duty.
 *   netpoll_break()    wake the M blocked in netpoll() (a timer armed
 *                      earlier, or work queued for an idle M).
 *   netpoll_last_poll  nanotime() of the last poll; atomic (sysmon).
 */
#ifndef GO_NETPOLL_H
#define GO_NETPOLL_H

#include "runtime.h"

#define NETPOLL_READ 1u
#define NETPOLL_WRITE 2u
#define NETPOLL_ERR 4u
#define NETPOLL_HUP 8u /* the peer shut its side (EPOLLRDHUP), or a hang-up or error */

int netpoll_backend_init(void);
int netpoll_backend_open(int fd, void *pd);
int netpoll_backend_close(int fd);
int netpoll_backend_poll(int64_t timeout_ns, void (*ready)(void *pd, uint32_t events));
void netpoll_backend_break(void);

bool netpoll_active(void);
int32_t netpoll_waiters(void);
int netpoll(int64_t timeout_ns);
void netpoll_break(void);
extern int64_t netpoll_last_poll;

#endif /* GO_NETPOLL_H */
