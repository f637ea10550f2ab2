/*
 * io.h - what the I/O layer (io.c: go_read, go_accept, go_dial ...) uses of
 * the poller layer (netpoll.c: one poll descriptor per descriptor number,
 * readiness, deadlines, close). See netpoll.c for the design.
 *
 * An I/O call brackets its work with netpoll_ref()/netpoll_unref(), so that
 * go_close() can wait for calls in progress before it closes the number
 * (which the kernel may hand out again at once). Between the two it tries
 * its system call and, when the kernel says "not ready", waits with
 * netpoll_wait() and tries again.
 */
#ifndef GO_IO_H
#define GO_IO_H

#include "netpoll.h"

typedef struct pd pd_t;

/* What kind of file a descriptor is, which decides how to do I/O on it
 * without blocking an M (io.c). */
enum io_kind {
    IO_KIND_UNKNOWN, /* not looked at yet (fstat on first use) */
    IO_KIND_SOCKET,  /* recv/send with MSG_DONTWAIT */
    IO_KIND_STREAM,  /* pollable, not a socket: pipe, FIFO, tty, eventfd */
    IO_KIND_FILE,    /* not pollable (regular file, /dev/null): syscall mode */
};

/* The poll descriptor of fd, created on first use; NULL with *err set to
 * -EBADF (fd < 0) or -ENOMEM. */
pd_t *netpoll_pd(int fd, int *err);

/* Start/end one I/O call on pd. netpoll_ref returns -EBADF (and takes no
 * reference) if go_close() has begun on the descriptor. */
int netpoll_ref(pd_t *pd);
void netpoll_unref(pd_t *pd);

/* -EBADF if the descriptor is being closed, -ETIMEDOUT if the deadline of
 * any direction in `modes` (NETPOLL_READ, NETPOLL_WRITE) has passed, else 0.
 * Lock-free. */
int netpoll_check(pd_t *pd, uint32_t modes);

/* The cached kind, and whether the library created the descriptor (then it
 * is non-blocking and registered). */
enum io_kind netpoll_kind(pd_t *pd);
void netpoll_set_kind(pd_t *pd, enum io_kind kind);
bool netpoll_owned(pd_t *pd);

/* Register fd, a descriptor the library has just created (non-blocking),
 * with the poller; stream: it is a SOCK_STREAM socket. 0 or -errno. */
int netpoll_open(int fd, enum io_kind kind, bool stream);

/* The drained hint (netpoll.c): a read attempted after netpoll_seq() gave
 * seq came back short, so until a new read report the socket is empty.
 * mark records it (only for owned stream sockets); drained asks whether
 * it still holds for seq. */
void netpoll_mark_drained(pd_t *pd, uint64_t seq);
bool netpoll_drained(pd_t *pd, uint64_t seq);
void netpoll_clear_drained(pd_t *pd); /* data was seen some other way */

/* The readiness report counts of pd, to be taken before each attempt at a
 * system call and passed to netpoll_wait() if the attempt says EAGAIN. */
uint64_t netpoll_seq(pd_t *pd);

/*
 * Wait until fd is ready in one of `modes`, or something ends the wait.
 * `seq` is netpoll_seq() from before the attempt that said EAGAIN: if a
 * report came since, returns 0 at once. Returns 0 (ready: try the call
 * again; another waiter may have taken the data, so the call may still say
 * EAGAIN and wait again), -ETIMEDOUT (a per-descriptor
 * deadline, or `deadline` (nanotime() scale, 0: none) passed), -EBADF (the
 * descriptor was closed by go_close), -EPERM (the descriptor cannot be
 * polled: use a blocking call in syscall mode), -ENOMEM or another -errno
 * from the poller. Blocks.
 */
int netpoll_wait(pd_t *pd, int fd, uint32_t modes, uint64_t seq, int64_t deadline);

/* go_set_deadline and friends: modes is NETPOLL_READ and/or NETPOLL_WRITE.
 * 0 or -EBADF / -ENOMEM. */
int netpoll_set_deadline(int fd, uint32_t modes, int64_t deadline);

/* go_close: wake every waiter with -EBADF, wait for calls in progress,
 * forget fd, close it. 0 or -errno. */
int netpoll_close(int fd);

#endif /* GO_IO_H */
