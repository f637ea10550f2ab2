/*
 * netpoll_epoll.c - the Linux poller backend: epoll, plus an eventfd to
 * break a blocked poll.
 *
 * Contract met (src/netpoll.h): netpoll_backend_init() creates the poller
 * once (the caller serialises it); netpoll_backend_open(fd, pd) watches fd
 * edge-triggered for input, output and peer hang-up, with pd carried back
 * in every event, and returns 0, -EEXIST if this very descriptor is
 * already watched (the caller uses that to re-check a registration), or
 * another -errno (-EPERM: the descriptor cannot be polled, e.g. a regular
 * file); netpoll_backend_close(fd) stops watching; netpoll_backend_poll()
 * waits up to timeout_ns (< 0: no limit, 0: not at all) and calls ready()
 * once per ready descriptor; netpoll_backend_break() makes a blocked poll
 * return soon, from any thread.
 *
 * Break protocol. A break sets `pending` (seq_cst exchange); if it was set
 * already, an earlier break is still undelivered and this one is free. It
 * then writes the eventfd only if a poller may be asleep (`sleepers` > 0).
 * A poller about to sleep raises `sleepers` (seq_cst) and then looks at
 * `pending`: if a break is pending it polls without sleeping instead. Each
 * side writes its flag before it reads the other's, so at least one of
 * them sees the other: a break is never lost, and a break with nobody
 * asleep costs one atomic exchange and no system call.
 *
 * Only a poll that may sleep drains the eventfd. The eventfd is watched
 * level-triggered: a non-blocking poll (sysmon, a spinning M) that drained
 * it could steal the wake-up from the M asleep in epoll_wait, which would
 * sleep on (Go's netpoll_epoll.go makes the same choice).
 *
 * epoll_pwait2 gives nanosecond timeouts (Linux 5.11+); older kernels get
 * epoll_wait with the timeout rounded up to whole milliseconds, so a
 * timer is late by less than 1 ms, never early.
 */
#include "netpoll.h"

#include <errno.h>
#include <limits.h>
#include <stdint.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <time.h>
#include <unistd.h>

static int epfd = -1;      /* written once by init, before netpoll_active() */
static int breakfd = -1;   /* eventfd; likewise */
static uint32_t pending;   /* a break not yet consumed; atomic */
static int32_t sleepers;   /* pollers that may be asleep; atomic */
static int have_pwait2 = 1; /* epoll_pwait2 works here; atomic relaxed (a hint) */

/* Marks the eventfd's events: no poll descriptor has this address. */
static char break_tag;

int netpoll_backend_init(void)
{
    int e = epoll_create1(EPOLL_CLOEXEC);
    if (e < 0)
        return -errno;
    int b = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    if (b < 0) {
        int err = errno;
        close(e);
        return -err;
    }
    struct epoll_event ev = {.events = EPOLLIN, .data.ptr = &break_tag};
    if (epoll_ctl(e, EPOLL_CTL_ADD, b, &ev) != 0) {
        int err = errno;
        close(b);
        close(e);
        return -err;
    }
    epfd = e;
    breakfd = b;
    return 0;
}

int netpoll_backend_open(int fd, void *pd)
{
    struct epoll_event ev = {.events = EPOLLIN | EPOLLOUT | EPOLLRDHUP | EPOLLET,
                             .data.ptr = pd};
    return epoll_ctl(epfd, EPOLL_CTL_ADD, fd, &ev) == 0 ? 0 : -errno;
}

int netpoll_backend_close(int fd)
{
    struct epoll_event ev = {0}; /* ignored, but kernels before 2.6.9 wanted one */
    return epoll_ctl(epfd, EPOLL_CTL_DEL, fd, &ev) == 0 ? 0 : -errno;
}

static int wait_events(struct epoll_event *evs, int max, int64_t timeout_ns)
{
    if (timeout_ns != 0 && __atomic_load_n(&have_pwait2, __ATOMIC_RELAXED)) {
        struct timespec ts = {timeout_ns / 1000000000, timeout_ns % 1000000000};
        int n = epoll_pwait2(epfd, evs, max, timeout_ns < 0 ? NULL : &ts, NULL);
        if (n >= 0 || errno != ENOSYS)
            return n;
        __atomic_store_n(&have_pwait2, 0, __ATOMIC_RELAXED);
    }
    int ms;
    if (timeout_ns < 0)
        ms = -1;
    else if (timeout_ns >= (int64_t)INT_MAX * 1000000)
        ms = INT_MAX;
    else
        ms = (int)((timeout_ns + 999999) / 1000000);
    return epoll_wait(epfd, evs, max, ms);
}

int netpoll_backend_poll(int64_t timeout_ns, void (*ready)(void *pd, uint32_t events))
{
    struct epoll_event evs[128];
    bool may_sleep = timeout_ns != 0;
    if (may_sleep) {
        __atomic_add_fetch(&sleepers, 1, __ATOMIC_SEQ_CST);
        if (__atomic_exchange_n(&pending, 0, __ATOMIC_SEQ_CST))
            timeout_ns = 0; /* a break is waiting for us: do not sleep */
    }
    int n = wait_events(evs, 128, timeout_ns);
    if (may_sleep)
        __atomic_sub_fetch(&sleepers, 1, __ATOMIC_SEQ_CST);
    if (n < 0)
        return 0; /* EINTR (a preemption signal): as if woken */
    int nready = 0;
    for (int i = 0; i < n; i++) {
        if (evs[i].data.ptr == &break_tag) {
            if (may_sleep) {
                /* Clear first: a break that comes after the clear writes
                 * again or leaves `pending` set; one before it is drained
                 * here, which is what it asked for (we are awake). */
                __atomic_store_n(&pending, 0, __ATOMIC_SEQ_CST);
                uint64_t v;
                while (read(breakfd, &v, sizeof v) < 0 && errno == EINTR)
                    ;
            }
            continue;
        }
        uint32_t e = evs[i].events, mode = 0;
        if (e & (EPOLLIN | EPOLLRDHUP | EPOLLPRI))
            mode |= NETPOLL_READ;
        if (e & EPOLLOUT)
            mode |= NETPOLL_WRITE;
        if (e & (EPOLLERR | EPOLLHUP))
            mode |= NETPOLL_READ | NETPOLL_WRITE | NETPOLL_ERR;
        if (e & (EPOLLRDHUP | EPOLLHUP | EPOLLERR))
            mode |= NETPOLL_HUP;
        if (mode) {
            ready(evs[i].data.ptr, mode);
            nready++;
        }
    }
    return nready;
}

void netpoll_backend_break(void)
{
    if (breakfd < 0 || __atomic_exchange_n(&pending, 1, __ATOMIC_SEQ_CST))
        return;
    if (__atomic_load_n(&sleepers, __ATOMIC_SEQ_CST) == 0)
        return; /* the next poller to sleep sees `pending` and does not */
    uint64_t one = 1;
    while (write(breakfd, &one, sizeof one) < 0 && errno == EINTR)
        ;
}
