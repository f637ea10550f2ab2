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
#include "sched.h"

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
 * reference) if go_close() has begun on the descriptor; if that close is
 * already in its close(2), it waits for it to end and takes the reference
 * (the number may be another file's by then). Call it holding no lock. */
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

/* ---- waiters (netpoll.c; here so that a select can hold one) ---------------- */

enum { DIR_READ, DIR_WRITE, NDIR };

/* How a wait ended; written once, under pd->lock. */
enum io_result { IO_PENDING, IO_READY, IO_TIMEOUT, IO_CLOSED };

struct iowait;

/* A link of an iowait in one direction's queue. */
struct pnode {
    struct pnode *next, *prev; /* under pd->lock */
    struct iowait *iw;
};

struct pqueue {
    struct pnode *head, *tail; /* under pd->lock */
};

/* One blocked call, on its caller's stack. w.sel is set for a select's
 * descriptor case: whoever ends the wait then claims the select
 * (select_claim) instead of readying w. */
struct iowait {
    waiter_t w;                /* what sched_park/sched_ready see */
    struct pnode node[NDIR];   /* queue links; under pd->lock */
    uint32_t modes;            /* directions it is queued in; under pd->lock */
    uint32_t result;           /* enum io_result; under pd->lock */
    struct pd *pd;
    rtimer_t timer;            /* per-call deadline, if any */
};

/*
 * A GO_READABLE / GO_WRITABLE case of a select (select.c's design
 * comment), on the select's heap block. The select calls, in order:
 *   netpoll_sel_begin      look fd up, take a reference (go_close then
 *                          waits for the select), register fd if it is not
 *                          the library's; 0 or -ENOMEM.
 *   netpoll_sel_ready      is it ready now (poll(2), level-triggered)?
 *                          Closing, past the direction's deadline, or not
 *                          pollable count as ready. Notes the report count
 *                          before the poll(2).
 *   netpoll_sel_unchanged  no report since that note (lock-free): still
 *                          not ready, no need to poll(2) again.
 *   netpoll_sel_queue      under pd->lock, queue f->iw (w.sel = st) unless
 *                          a report came since the note (false: look again).
 *   netpoll_sel_dequeue    unlink f->iw if it is still queued (pass 3).
 *   netpoll_sel_end        drop the reference.
 * A select sleeping with descriptor cases queued counts itself once in
 * the poller's waiters (netpoll_sel_sleeping(+1 / -1)); a plain thread
 * then pokes the scheduler (netpoll_sel_poke) so that some M polls.
 */
struct netpoll_selfd {
    struct iowait iw;
    pd_t *pd;
    uint64_t seq;      /* netpoll_seq() before the last poll(2) */
    int fd;
    uint32_t mode;     /* NETPOLL_READ or NETPOLL_WRITE */
    bool ref;          /* holds a reference on pd */
    bool unpollable;   /* epoll refused it: always ready */
    bool queued;       /* iw was queued (it may have been unlinked since) */
};

struct select_state;
int netpoll_sel_begin(struct netpoll_selfd *f, int fd, uint32_t mode);
bool netpoll_sel_ready(struct netpoll_selfd *f);
bool netpoll_sel_unchanged(struct netpoll_selfd *f);
bool netpoll_sel_queue(struct netpoll_selfd *f, struct select_state *st, int caseidx);
void netpoll_sel_dequeue(struct netpoll_selfd *f);
void netpoll_sel_end(struct netpoll_selfd *f);
void netpoll_sel_sleeping(int delta);
void netpoll_sel_poke(void);

/* select.c, for netpoll.c: claim st for w (CAS on st->done; true if won,
 * then st->winner = w), under the lock w is queued under; then, after
 * unlocking, hand the wake-up over (select_wake_claimed: 1 if it readied
 * the select, 0 if the select's park will). */
bool select_claim(struct select_state *st, waiter_t *w);
int select_wake_claimed(struct select_state *st);

#endif /* GO_IO_H */
