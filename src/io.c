/*
 * io.c - the public I/O API (Go's internal/poll.FD and the parts of net
 * that a C program needs): go_read/go_write and friends, go_accept,
 * go_connect, go_listen, go_dial, go_close, deadlines, go_fd_wait.
 *
 * Every call has the same shape (Go's fd_unix.go): take a reference on the
 * descriptor's poll descriptor (netpoll_ref, so go_close waits for us),
 * then loop: check the deadline, try the system call without blocking, and
 * when the kernel says EAGAIN, wait for readiness (netpoll_wait) and try
 * again. Readiness may be stale, so a woken caller can meet EAGAIN again;
 * that is normal, not an error.
 *
 * "Without blocking" depends on what the descriptor is, which is looked up
 * once with fstat and cached per descriptor number (enum io_kind):
 *   sockets   recv/send/recvmsg/sendmsg with MSG_DONTWAIT (MSG_NOSIGNAL on
 *             sends), whatever O_NONBLOCK says; accept4 directly on our own
 *             listeners, and on others after poll(2) says ready;
 *   streams   (pipes, FIFOs, ttys, eventfds) directly if O_NONBLOCK is set
 *             (F_GETFL per call: a parent may flip it), else poll(2) with a
 *             zero timeout first and then the blocking call in syscall
 *             mode, writes capped at PIPE_BUF, which a pipe that polls
 *             writable always takes without blocking;
 *   files     (and anything epoll refuses) the blocking call in syscall
 *             mode: the goroutine keeps its thread, and sysmon hands the P
 *             to another thread if the call takes long.
 * We never change O_NONBLOCK on a descriptor we did not create: another
 * process may share the open file description, and would see the change.
 *
 * A read on a stream socket of ours that comes back short has emptied it;
 * the next read on it skips the system call (which could only say EAGAIN)
 * and waits for the next read report straight away, unless a report came
 * in between (netpoll.c's drained hint). A wait that times out after such
 * a skip tries the call once before it reports the timeout, since a
 * report may be pending that nobody has collected yet.
 *
 * A cached kind can go stale if the user closes a number with close() and
 * reuses it: ENOTSOCK from a "socket", or EAGAIN from a "file", makes us
 * look again (once per call).
 *
 * Names are resolved with getaddrinfo in syscall mode, so only the calling
 * goroutine waits for DNS; numeric addresses skip it (AI_NUMERICHOST).
 *
 * Datagrams. "udp", "udp4", "udp6" and "unixgram" give SOCK_DGRAM sockets:
 * go_listen binds one (no listen(2)), go_dial binds (unixgram: autobind,
 * so the peer can answer) and connects one, after which go_read/go_write
 * move one datagram each. go_recvfrom/go_sendto/go_recvmsg/go_sendmsg run
 * the same loop as go_read/go_write (so the read or write deadline
 * applies), on sockets only, with the caller's MSG_* flags added to
 * MSG_DONTWAIT; a caller who passes MSG_DONTWAIT itself gets -EAGAIN
 * instead of a wait. The address and control lengths the kernel writes
 * back are reset to the caller's values before every try. The drained
 * hint is never set for datagram sockets: a short read there says nothing
 * about what else is queued.
 *
 * go_sendfile runs sendfile(2) as a write to out_fd: it parks on the
 * poller while out_fd is full (our sockets and O_NONBLOCK descriptors),
 * and loops until count bytes went or in_fd ended. Reading in_fd (a
 * file) may block the thread on the disk, as in Go.
 */
#include "io.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <sys/sendfile.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <sys/un.h>
#include <unistd.h>

#include "debug.h"

/* A per-call deadline from a duration (0: none; <= 0 durations: now). */
static int64_t deadline_after(int64_t ns)
{
    int64_t now = nanotime();
    if (ns <= 0)
        return now;
    return ns > INT64_MAX - now ? 0 : now + ns;
}

/* ---- descriptor kinds ------------------------------------------------------ */

static int classify(int fd, pd_t *pd)
{
    struct stat st;
    if (fstat(fd, &st) != 0)
        return -errno;
    enum io_kind k;
    if (S_ISSOCK(st.st_mode))
        k = IO_KIND_SOCKET;
    else if (S_ISREG(st.st_mode) || S_ISDIR(st.st_mode) || S_ISBLK(st.st_mode))
        k = IO_KIND_FILE;
    else
        k = IO_KIND_STREAM;
    netpoll_set_kind(pd, k);
    return (int)k;
}

static int kind_of(int fd, pd_t *pd)
{
    enum io_kind k = netpoll_kind(pd);
    return k != IO_KIND_UNKNOWN ? (int)k : classify(fd, pd);
}

/* True if calls on fd cannot block: our own descriptors, or O_NONBLOCK. */
static int nonblocking(int fd, pd_t *pd)
{
    if (netpoll_owned(pd))
        return 1;
    int fl = fcntl(fd, F_GETFL);
    if (fl < 0)
        return -errno;
    return (fl & O_NONBLOCK) != 0;
}

/* 1 if poll(2) says fd is ready for `mode` now, 0 if not, or -errno. */
static int ready_now(int fd, uint32_t mode)
{
    struct pollfd p = {.fd = fd, .events = mode == NETPOLL_READ ? POLLIN : POLLOUT};
    for (;;) {
        int n = poll(&p, 1, 0);
        if (n >= 0) {
            if (n > 0 && (p.revents & POLLNVAL))
                return -EBADF;
            return n > 0;
        }
        if (errno != EINTR)
            return -errno;
    }
}

/* ---- one attempt ------------------------------------------------------------- */

enum op_type {
    OP_READ, OP_WRITE, OP_READV, OP_WRITEV, OP_ACCEPT,
    OP_RECVFROM, OP_SENDTO, OP_RECVMSG, OP_SENDMSG, /* sockets only */
    OP_SENDFILE, /* to any descriptor, as a write */
};

struct io_op {
    enum op_type type;
    int fd;
    void *buf;                /* OP_READ, OP_WRITE */
    size_t n;
    const struct iovec *iov;  /* OP_READV, OP_WRITEV */
    int iovcnt;
    struct sockaddr *addr;    /* OP_ACCEPT, OP_RECVFROM, OP_SENDTO */
    socklen_t *addrlen;       /* OP_ACCEPT, OP_RECVFROM */
    socklen_t addrlen0;       /* OP_RECVFROM: *addrlen on entry; OP_SENDTO: tolen */
    struct msghdr *msg;       /* OP_RECVMSG, OP_SENDMSG */
    size_t namelen0, controllen0; /* OP_RECVMSG: the lengths on entry */
    int flags;                /* the caller's MSG_* flags (datagram ops) */
    int in_fd;                /* OP_SENDFILE: from in_fd at *offset (NULL: its position) */
    off_t *offset;
};

/* The raw system call. sock: use the socket calls with MSG_DONTWAIT.
 * cap: bytes a write may carry (PIPE_BUF for a blocking pipe). */
static ssize_t raw_call(struct io_op *op, bool sock, size_t cap)
{
    struct msghdr m;
    switch (op->type) {
    case OP_READ:
        return sock ? recv(op->fd, op->buf, op->n, MSG_DONTWAIT) : read(op->fd, op->buf, op->n);
    case OP_WRITE: {
        size_t n = op->n < cap ? op->n : cap;
        return sock ? send(op->fd, op->buf, n, MSG_DONTWAIT | MSG_NOSIGNAL)
                    : write(op->fd, op->buf, n);
    }
    case OP_READV:
    case OP_WRITEV:
        if (!sock) {
            if (op->type == OP_READV)
                return readv(op->fd, op->iov, op->iovcnt);
            if (cap != SIZE_MAX) {
                /* Only the first non-empty buffer, capped: the caller's
                 * loop writes the rest. */
                int i = 0;
                while (i < op->iovcnt - 1 && op->iov[i].iov_len == 0)
                    i++;
                size_t n = op->iov[i].iov_len < cap ? op->iov[i].iov_len : cap;
                return write(op->fd, op->iov[i].iov_base, n);
            }
            return writev(op->fd, op->iov, op->iovcnt);
        }
        memset(&m, 0, sizeof m);
        m.msg_iov = (struct iovec *)op->iov; /* not written by the kernel */
        m.msg_iovlen = (size_t)op->iovcnt;
        return op->type == OP_READV ? recvmsg(op->fd, &m, MSG_DONTWAIT)
                                    : sendmsg(op->fd, &m, MSG_DONTWAIT | MSG_NOSIGNAL);
    case OP_ACCEPT:
        return accept4(op->fd, op->addr, op->addrlen, SOCK_NONBLOCK | SOCK_CLOEXEC);
    /* The kernel writes the lengths back only on success; they are reset
     * anyway before every try, so a retry after EAGAIN starts afresh. */
    case OP_RECVFROM:
        if (op->addrlen)
            *op->addrlen = op->addrlen0;
        return recvfrom(op->fd, op->buf, op->n, op->flags | MSG_DONTWAIT, op->addr, op->addrlen);
    case OP_SENDTO:
        return sendto(op->fd, op->buf, op->n, op->flags | MSG_DONTWAIT | MSG_NOSIGNAL, op->addr,
                      op->addrlen0);
    case OP_RECVMSG:
        op->msg->msg_namelen = (socklen_t)op->namelen0;
        op->msg->msg_controllen = op->controllen0;
        return recvmsg(op->fd, op->msg, op->flags | MSG_DONTWAIT);
    case OP_SENDMSG:
        return sendmsg(op->fd, op->msg, op->flags | MSG_DONTWAIT | MSG_NOSIGNAL);
    case OP_SENDFILE:
        return sendfile(op->fd, op->in_fd, op->offset, op->n < cap ? op->n : cap);
    }
    errno = EINVAL;
    return -1;
}

/* The raw call in syscall mode: it may block the thread, not the P. */
static ssize_t blocking_call(struct io_op *op, bool sock, size_t cap)
{
    go_syscall_enter();
    ssize_t r = raw_call(op, sock, cap);
    int e = errno;
    go_syscall_exit();
    return r >= 0 ? r : -e;
}

/* One try at op on a descriptor of `kind`: the result (>= 0), -EAGAIN if
 * it would block (wait, then try again), or another -errno. */
static ssize_t attempt(struct io_op *op, pd_t *pd, int kind, uint32_t mode)
{
    ssize_t r;
    switch (kind) {
    case IO_KIND_SOCKET:
        if (op->type == OP_SENDFILE) {
            /* No MSG_DONTWAIT for sendfile(2): our sockets and O_NONBLOCK
             * ones directly, others once poll(2) says there is room, in
             * syscall mode (it may still block for the rest). */
            int nb = nonblocking(op->fd, pd);
            if (nb < 0)
                return nb;
            if (!nb) {
                int rd = ready_now(op->fd, mode);
                if (rd <= 0)
                    return rd == 0 ? -EAGAIN : rd;
                return blocking_call(op, false, SIZE_MAX);
            }
            r = raw_call(op, false, SIZE_MAX);
            return r >= 0 ? r : -errno;
        }
        if (op->type >= OP_RECVFROM) {
            r = raw_call(op, true, SIZE_MAX);
            return r >= 0 ? r : -errno;
        }
        if (op->type == OP_ACCEPT) {
            int nb = nonblocking(op->fd, pd);
            if (nb < 0)
                return nb;
            if (!nb) {
                /* Not ours and blocking: accept(2) only once poll(2) says
                 * a connection is queued, which it never will if the
                 * socket is not listening. */
                int on = 0;
                socklen_t ol = sizeof on;
                if (getsockopt(op->fd, SOL_SOCKET, SO_ACCEPTCONN, &on, &ol) != 0)
                    return -errno;
                if (!on)
                    return -EINVAL;
                int rd = ready_now(op->fd, mode);
                if (rd <= 0)
                    return rd == 0 ? -EAGAIN : rd;
                return blocking_call(op, true, SIZE_MAX);
            }
        }
        r = raw_call(op, true, SIZE_MAX);
        return r >= 0 ? r : -errno;
    case IO_KIND_STREAM: {
        if (op->type == OP_ACCEPT || (op->type >= OP_RECVFROM && op->type != OP_SENDFILE))
            return -ENOTSOCK;
        int nb = nonblocking(op->fd, pd);
        if (nb < 0)
            return nb;
        if (nb) {
            r = raw_call(op, false, SIZE_MAX);
            return r >= 0 ? r : -errno;
        }
        int rd = ready_now(op->fd, mode);
        if (rd <= 0)
            return rd == 0 ? -EAGAIN : rd;
        return blocking_call(op, false, PIPE_BUF);
    }
    default:
        if (op->type == OP_ACCEPT || (op->type >= OP_RECVFROM && op->type != OP_SENDFILE))
            return -ENOTSOCK;
        return blocking_call(op, false, SIZE_MAX);
    }
}

/* ---- the loop every call runs ------------------------------------------------ */

/* Bytes op asks to read or write. */
static size_t op_size(const struct io_op *op)
{
    if (op->type != OP_READV && op->type != OP_WRITEV)
        return op->n;
    size_t n = 0;
    for (int i = 0; i < op->iovcnt; i++)
        n += op->iov[i].iov_len;
    return n;
}

static ssize_t run(struct io_op *op, uint32_t mode, int64_t deadline)
{
    int err;
    pd_t *pd = netpoll_pd(op->fd, &err);
    if (!pd)
        return err;
    if ((err = netpoll_ref(pd)) != 0)
        return err;
    bool looked_again = false;
    ssize_t r;
    for (;;) {
        if ((r = netpoll_check(pd, mode)) != 0)
            break;
        int kind = kind_of(op->fd, pd);
        if (kind < 0) {
            r = kind;
            break;
        }
        uint64_t seq = netpoll_seq(pd);
        bool read = op->type == OP_READ || op->type == OP_READV;
        bool skipped = read && netpoll_drained(pd, seq);
        if (skipped)
            r = -EAGAIN; /* nothing came since a read emptied it */
        else
            r = attempt(op, pd, kind, mode);
        if (read && r > 0 && (size_t)r < op_size(op))
            netpoll_mark_drained(pd, seq);
        if (r == -EINTR)
            continue;
        if ((r == -ENOTSOCK && kind == IO_KIND_SOCKET) ||
            (r == -EAGAIN && kind == IO_KIND_FILE)) {
            /* Not what we thought: the number was reused. Look again. */
            if (!looked_again) {
                looked_again = true;
                netpoll_set_kind(pd, IO_KIND_UNKNOWN);
                continue;
            }
        }
        if (r != -EAGAIN || kind == IO_KIND_FILE || (op->flags & MSG_DONTWAIT))
            break; /* MSG_DONTWAIT from the caller: it asked not to wait */
        r = netpoll_wait(pd, op->fd, mode, seq, deadline);
        if (r == -ETIMEDOUT && skipped) {
            /* The hint may be behind a report nobody has collected yet:
             * never time out without having tried once. */
            netpoll_clear_drained(pd);
            if (netpoll_check(pd, mode) == -EBADF)
                break;
            r = attempt(op, pd, kind, mode);
            if (r == -EAGAIN || r == -EINTR)
                r = -ETIMEDOUT;
            break;
        }
        if (r == -EPERM) {
            /* epoll refuses it (/dev/null, some devices): never "not
             * ready", so a blocking call will do. */
            netpoll_set_kind(pd, IO_KIND_FILE);
            continue;
        }
        if (r != 0)
            break;
    }
    netpoll_unref(pd);
    return r;
}

/* ---- read and write ------------------------------------------------------------ */

static ssize_t read_until(int fd, void *buf, size_t n, int64_t deadline)
{
    if (n == 0)
        return fd < 0 ? -EBADF : 0;
    if (n > SSIZE_MAX)
        n = SSIZE_MAX;
    struct io_op op = {.type = OP_READ, .fd = fd, .buf = buf, .n = n};
    return run(&op, NETPOLL_READ, deadline);
}

ssize_t go_read(int fd, void *buf, size_t n)
{
    return read_until(fd, buf, n, 0);
}

ssize_t go_read_timeout(int fd, void *buf, size_t n, int64_t timeout_ns)
{
    return read_until(fd, buf, n, deadline_after(timeout_ns));
}

static ssize_t write_until(int fd, const void *buf, size_t n, int64_t deadline)
{
    if (n > SSIZE_MAX)
        return -EINVAL;
    if (fd < 0)
        return -EBADF;
    size_t done = 0;
    while (done < n) {
        struct io_op op = {
            .type = OP_WRITE, .fd = fd, .buf = (char *)buf + done, .n = n - done};
        ssize_t r = run(&op, NETPOLL_WRITE, deadline);
        if (r < 0)
            return r;
        if (r == 0)
            return -EIO; /* a write that takes nothing would loop forever */
        done += (size_t)r;
    }
    return (ssize_t)n;
}

ssize_t go_write(int fd, const void *buf, size_t n)
{
    return write_until(fd, buf, n, 0);
}

ssize_t go_write_timeout(int fd, const void *buf, size_t n, int64_t timeout_ns)
{
    return write_until(fd, buf, n, deadline_after(timeout_ns));
}

/* Total length of an iovec array, or -EINVAL. */
static ssize_t iov_total(const struct iovec *iov, int iovcnt)
{
    if (iovcnt < 0 || iovcnt > IOV_MAX || (iovcnt > 0 && !iov))
        return -EINVAL;
    size_t total = 0;
    for (int i = 0; i < iovcnt; i++) {
        if (iov[i].iov_len > SSIZE_MAX - total)
            return -EINVAL;
        total += iov[i].iov_len;
    }
    return (ssize_t)total;
}

ssize_t go_readv(int fd, const struct iovec *iov, int iovcnt)
{
    ssize_t total = iov_total(iov, iovcnt);
    if (total <= 0)
        return total < 0 ? total : (fd < 0 ? -EBADF : 0);
    struct io_op op = {.type = OP_READV, .fd = fd, .iov = iov, .iovcnt = iovcnt};
    return run(&op, NETPOLL_READ, 0);
}

ssize_t go_writev(int fd, const struct iovec *iov, int iovcnt)
{
    ssize_t total = iov_total(iov, iovcnt);
    if (total <= 0)
        return total < 0 ? total : (fd < 0 ? -EBADF : 0);
    /* The caller's array until a partial write; then a copy we advance. */
    struct iovec small[16], *copy = NULL;
    const struct iovec *cur = iov;
    int cnt = iovcnt;
    size_t done = 0;
    ssize_t r = total;
    while (done < (size_t)total) {
        struct io_op op = {.type = OP_WRITEV, .fd = fd, .iov = cur, .iovcnt = cnt};
        r = run(&op, NETPOLL_WRITE, 0);
        if (r <= 0) {
            if (r == 0)
                r = -EIO;
            break;
        }
        done += (size_t)r;
        if (done == (size_t)total) {
            r = total;
            break;
        }
        if (cur == iov) {
            struct iovec *dst = small;
            if (cnt > (int)(sizeof small / sizeof small[0])) {
                copy = malloc((size_t)cnt * sizeof *copy);
                if (!copy) {
                    r = -ENOMEM;
                    break;
                }
                dst = copy;
            }
            memcpy(dst, iov, (size_t)cnt * sizeof *dst);
            cur = dst;
        }
        struct iovec *v = (struct iovec *)cur;
        size_t k = (size_t)r;
        while (k > 0 && k >= v->iov_len) {
            k -= v->iov_len;
            v++;
            cnt--;
        }
        v->iov_base = (char *)v->iov_base + k;
        v->iov_len -= k;
        cur = v;
    }
    free(copy);
    return r;
}

/* ---- datagrams (and any socket): the *from / *to / *msg calls ------------------------ */

ssize_t go_recvfrom(int fd, void *buf, size_t n, int flags, struct sockaddr *from,
                    socklen_t *fromlen)
{
    if ((n > 0 && !buf) || (from && !fromlen))
        return -EINVAL;
    if (n > SSIZE_MAX)
        n = SSIZE_MAX;
    struct io_op op = {.type = OP_RECVFROM, .fd = fd, .buf = buf, .n = n, .flags = flags,
                       .addr = from, .addrlen = from ? fromlen : NULL,
                       .addrlen0 = from ? *fromlen : 0};
    return run(&op, NETPOLL_READ, 0);
}

ssize_t go_sendto(int fd, const void *buf, size_t n, int flags, const struct sockaddr *to,
                  socklen_t tolen)
{
    if ((n > 0 && !buf) || n > SSIZE_MAX)
        return -EINVAL;
    struct io_op op = {.type = OP_SENDTO, .fd = fd, .buf = (void *)buf, .n = n,
                       .flags = flags, .addr = (struct sockaddr *)to, .addrlen0 = tolen};
    return run(&op, NETPOLL_WRITE, 0);
}

ssize_t go_recvmsg(int fd, struct msghdr *msg, int flags)
{
    if (!msg)
        return -EINVAL;
    struct io_op op = {.type = OP_RECVMSG, .fd = fd, .msg = msg, .flags = flags,
                       .namelen0 = msg->msg_namelen, .controllen0 = msg->msg_controllen};
    return run(&op, NETPOLL_READ, 0);
}

ssize_t go_sendmsg(int fd, const struct msghdr *msg, int flags)
{
    if (!msg)
        return -EINVAL;
    /* sendmsg(2) does not write the header. */
    struct io_op op = {.type = OP_SENDMSG, .fd = fd, .msg = (struct msghdr *)msg, .flags = flags};
    return run(&op, NETPOLL_WRITE, 0);
}

/* ---- sendfile ---------------------------------------------------------------------- */

ssize_t go_sendfile(int out_fd, int in_fd, off_t *offset, size_t count)
{
    if (out_fd < 0 || in_fd < 0)
        return -EBADF;
    if (count > SSIZE_MAX)
        return -EINVAL;
    /* sendfile(2) moves at most 0x7ffff000 bytes a call. */
    const size_t chunk = 0x7ffff000;
    size_t done = 0;
    while (done < count) {
        size_t n = count - done < chunk ? count - done : chunk;
        struct io_op op = {.type = OP_SENDFILE, .fd = out_fd, .n = n, .in_fd = in_fd,
                           .offset = offset};
        ssize_t r = run(&op, NETPOLL_WRITE, 0);
        if (r < 0)
            return r;
        if (r == 0)
            break; /* in_fd ended */
        done += (size_t)r;
    }
    return (ssize_t)done;
}

/* ---- accept and connect ---------------------------------------------------------- */

static void set_nodelay(int fd, int family)
{
    if (family == AF_INET || family == AF_INET6) {
        int one = 1;
        setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    }
}

/* Errors of a connection that failed while it was queued: accept(2) says
 * to treat them as "try again". */
static bool accept_transient(ssize_t r)
{
    switch (-r) {
    case ECONNABORTED:
    case EPROTO:
    case ENETDOWN:
    case ENOPROTOOPT:
    case EHOSTDOWN:
    case ENONET:
    case EHOSTUNREACH:
    case ENETUNREACH:
        return true;
    default:
        return false;
    }
}

int go_accept(int fd, struct sockaddr *addr, socklen_t *addrlen)
{
    struct sockaddr_storage ss;
    socklen_t sl;
    ssize_t r;
    do {
        sl = sizeof ss;
        struct io_op op = {
            .type = OP_ACCEPT, .fd = fd, .addr = (struct sockaddr *)&ss, .addrlen = &sl};
        r = run(&op, NETPOLL_READ, 0);
    } while (accept_transient(r));
    if (r < 0)
        return (int)r;
    int nfd = (int)r;
    set_nodelay(nfd, ss.ss_family);
    /* Our listeners are stream sockets, and so are their connections;
     * another listener may be a seqpacket one. */
    int err, type = SOCK_STREAM;
    socklen_t tl = sizeof type;
    pd_t *lpd = netpoll_pd(fd, &err);
    if (!lpd || !netpoll_owned(lpd))
        if (getsockopt(nfd, SOL_SOCKET, SO_TYPE, &type, &tl) != 0)
            type = -1;
    err = netpoll_open(nfd, IO_KIND_SOCKET, type == SOCK_STREAM);
    if (err) {
        close(nfd);
        return err;
    }
    if (addr && addrlen) {
        memcpy(addr, &ss, *addrlen < sl ? *addrlen : sl);
        *addrlen = sl;
    }
    return nfd;
}

/* The connect(2) of fd said "in progress" (seq: the report counts from
 * before it): wait until it is decided. */
static int connect_wait(pd_t *pd, int fd, uint64_t seq, int64_t deadline)
{
    for (;;) {
        int r = netpoll_wait(pd, fd, NETPOLL_WRITE, seq, deadline);
        if (r)
            return r;
        seq = netpoll_seq(pd);
        int e = 0;
        socklen_t len = sizeof e;
        if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &e, &len) != 0)
            return -errno;
        switch (e) {
        case 0: {
            /* Readiness can be stale (Go issues 14548, 19289): connected
             * only if there is a peer. */
            struct sockaddr_storage ss;
            socklen_t sl = sizeof ss;
            if (getpeername(fd, (struct sockaddr *)&ss, &sl) == 0)
                return 0;
            if (errno != ENOTCONN)
                return -errno;
            break;
        }
        case EINPROGRESS:
        case EALREADY:
        case EINTR:
            break;
        case EISCONN:
            return 0;
        default:
            return -e;
        }
    }
}

/* connect(2) on a non-blocking socket, then wait. */
static int connect_nb(pd_t *pd, int fd, const struct sockaddr *addr, socklen_t len,
                      int64_t deadline)
{
    int r = netpoll_check(pd, NETPOLL_WRITE);
    if (r)
        return r;
    uint64_t seq = netpoll_seq(pd);
    if (connect(fd, addr, len) == 0)
        return 0;
    switch (errno) {
    case EINPROGRESS:
    case EALREADY:
    case EINTR:
        return connect_wait(pd, fd, seq, deadline);
    case EISCONN:
        return 0;
    default:
        return -errno;
    }
}

/* connect(2) on a blocking socket, in syscall mode. */
static int connect_blocking(int fd, const struct sockaddr *addr, socklen_t len)
{
    go_syscall_enter();
    int r = connect(fd, addr, len) == 0 ? 0 : -errno;
    if (r == -EINTR) {
        /* The connection goes on in the background: wait for it. */
        struct pollfd p = {.fd = fd, .events = POLLOUT};
        while (poll(&p, 1, -1) < 0 && errno == EINTR)
            ;
        int e = 0;
        socklen_t el = sizeof e;
        r = getsockopt(fd, SOL_SOCKET, SO_ERROR, &e, &el) != 0 ? -errno : -e;
    }
    go_syscall_exit();
    return r;
}

int go_connect(int fd, const struct sockaddr *addr, socklen_t addrlen)
{
    int err;
    pd_t *pd = netpoll_pd(fd, &err);
    if (!pd)
        return err;
    if ((err = netpoll_ref(pd)) != 0)
        return err;
    int kind = kind_of(fd, pd);
    if (kind != IO_KIND_SOCKET) {
        err = kind < 0 ? kind : -ENOTSOCK;
    } else {
        int nb = nonblocking(fd, pd);
        if (nb < 0)
            err = nb;
        else if (nb)
            err = connect_nb(pd, fd, addr, addrlen, 0);
        else
            err = connect_blocking(fd, addr, addrlen);
    }
    netpoll_unref(pd);
    return err;
}

/* ---- addresses ----------------------------------------------------------------- */

enum { NET_TCP, NET_TCP4, NET_TCP6, NET_UNIX, NET_UDP, NET_UDP4, NET_UDP6, NET_UNIXGRAM };

static int parse_network(const char *network)
{
    if (!network)
        return -EINVAL;
    if (strcmp(network, "tcp") == 0)
        return NET_TCP;
    if (strcmp(network, "tcp4") == 0)
        return NET_TCP4;
    if (strcmp(network, "tcp6") == 0)
        return NET_TCP6;
    if (strcmp(network, "unix") == 0)
        return NET_UNIX;
    if (strcmp(network, "udp") == 0)
        return NET_UDP;
    if (strcmp(network, "udp4") == 0)
        return NET_UDP4;
    if (strcmp(network, "udp6") == 0)
        return NET_UDP6;
    if (strcmp(network, "unixgram") == 0)
        return NET_UNIXGRAM;
    return -EPROTONOSUPPORT;
}

static int net_family(int net)
{
    return net == NET_TCP4 || net == NET_UDP4   ? AF_INET
           : net == NET_TCP6 || net == NET_UDP6 ? AF_INET6
                                                : AF_UNSPEC;
}

static int net_socktype(int net)
{
    return net >= NET_UDP ? SOCK_DGRAM : SOCK_STREAM;
}

/* The network's IP version pinned (tcp4/udp4, tcp6/udp6), or not. */
static bool net_v4(int net) { return net == NET_TCP4 || net == NET_UDP4; }
static bool net_v6(int net) { return net == NET_TCP6 || net == NET_UDP6; }

/* Split "host:port" / "[host]:port" (Go's net.SplitHostPort). */
static int split_host_port(const char *a, char *host, size_t hsz, char *port, size_t psz)
{
    if (!a)
        return -EINVAL;
    const char *h, *he, *colon;
    if (a[0] == '[') {
        h = a + 1;
        he = strchr(h, ']');
        if (!he || he[1] != ':')
            return -EINVAL;
        colon = he + 1;
    } else {
        colon = strrchr(a, ':');
        if (!colon)
            return -EINVAL; /* missing port */
        h = a;
        he = colon;
        if (memchr(h, ':', (size_t)(he - h)))
            return -EINVAL; /* too many colons: IPv6 needs brackets */
    }
    size_t hl = (size_t)(he - h), pl = strlen(colon + 1);
    if (hl >= hsz || pl == 0 || pl >= psz)
        return -EINVAL;
    memcpy(host, h, hl);
    host[hl] = 0;
    memcpy(port, colon + 1, pl + 1);
    return 0;
}

static int resolve_error(int e)
{
    switch (e) {
    case EAI_AGAIN:
        return -EAGAIN;
    case EAI_MEMORY:
        return -ENOMEM;
    case EAI_SERVICE:
    case EAI_BADFLAGS:
        return -EINVAL;
    case EAI_FAMILY:
        return -EAFNOSUPPORT;
    case EAI_SYSTEM:
        return errno ? -errno : -EIO;
    case EAI_FAIL:
        return -EIO;
    default: /* EAI_NONAME, EAI_NODATA, EAI_ADDRFAMILY */
        return -EADDRNOTAVAIL;
    }
}

static bool all_digits(const char *s)
{
    if (!*s)
        return false;
    for (; *s; s++)
        if (*s < '0' || *s > '9')
            return false;
    return true;
}

/* Resolve host (NULL: the local system, or with `passive` the wildcard)
 * and port for a socket of socktype (SOCK_STREAM: TCP, SOCK_DGRAM: UDP).
 * Numeric addresses never block; names are resolved in syscall mode. */
static int resolve(int family, int socktype, const char *host, const char *port, bool passive,
                   struct addrinfo **res)
{
    struct addrinfo hints;
    memset(&hints, 0, sizeof hints);
    hints.ai_family = family;
    hints.ai_socktype = socktype;
    hints.ai_protocol = socktype == SOCK_DGRAM ? IPPROTO_UDP : IPPROTO_TCP;
    hints.ai_flags = passive ? AI_PASSIVE : 0;
    if (all_digits(port)) {
        long p = strtol(port, NULL, 10);
        if (p > 65535 || strlen(port) > 5)
            return -EINVAL;
        hints.ai_flags |= AI_NUMERICSERV;
    }
    unsigned char tmp[sizeof(struct in6_addr)];
    bool numeric = !host || inet_pton(AF_INET, host, tmp) == 1 ||
                   inet_pton(AF_INET6, host, tmp) == 1;
    int e;
    if (numeric && (hints.ai_flags & AI_NUMERICSERV)) {
        if (host)
            hints.ai_flags |= AI_NUMERICHOST;
        e = getaddrinfo(host, port, &hints, res);
    } else {
        errno = 0;
        go_syscall_enter();
        e = getaddrinfo(host, port, &hints, res);
        int saved = errno;
        go_syscall_exit();
        errno = saved;
    }
    return e == 0 ? 0 : resolve_error(e);
}

static int unix_addr(const char *path, struct sockaddr_un *sa, socklen_t *len)
{
    if (!path || !*path)
        return -EINVAL;
    size_t n = strlen(path);
    if (n >= sizeof sa->sun_path)
        return -ENAMETOOLONG;
    memset(sa, 0, sizeof *sa);
    sa->sun_family = AF_UNIX;
    memcpy(sa->sun_path, path, n);
    if (path[0] == '@')
        sa->sun_path[0] = 0; /* Linux abstract namespace, as Go */
    *len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + n + (path[0] != '@'));
    return 0;
}

/* ---- listen -------------------------------------------------------------------- */

/* A socket bound to sa, listening if it is a stream one; the poller knows
 * it. v6only: -1 leaves the system default. A datagram socket gets no
 * SO_REUSEADDR: on Linux that would let a second socket bind the same UDP
 * port and take half its datagrams. */
static int listen_on(int socktype, const struct sockaddr *sa, socklen_t len, int v6only,
                     int backlog)
{
    int fd = socket(sa->sa_family, socktype | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return -errno;
    int one = 1, err = 0;
    if (sa->sa_family != AF_UNIX && socktype == SOCK_STREAM)
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    if (sa->sa_family == AF_INET6 && v6only >= 0 &&
        setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &v6only, sizeof v6only) != 0)
        err = -errno;
    if (!err && bind(fd, sa, len) != 0)
        err = -errno;
    /* The kernel caps the backlog at net.core.somaxconn. */
    if (!err && socktype == SOCK_STREAM && listen(fd, backlog > 0 ? backlog : 65535) != 0)
        err = -errno;
    if (!err)
        err = netpoll_open(fd, IO_KIND_SOCKET, socktype == SOCK_STREAM);
    if (err) {
        close(fd);
        return err;
    }
    return fd;
}

int go_listen(const char *network, const char *address, int backlog)
{
    int net = parse_network(network);
    if (net < 0)
        return net;
    int st = net_socktype(net);
    if (net == NET_UNIX || net == NET_UNIXGRAM) {
        struct sockaddr_un sun;
        socklen_t len;
        int err = unix_addr(address, &sun, &len);
        return err ? err : listen_on(st, (struct sockaddr *)&sun, len, -1, backlog);
    }
    char host[256], port[64];
    int err = split_host_port(address, host, sizeof host, port, sizeof port);
    if (err)
        return err;
    struct addrinfo *res, *pick;
    if (host[0] == 0) {
        /* Every address: for "tcp" one dual-stack IPv6 socket if we can,
         * as Go; IPv4 if the system has no IPv6. */
        if (!net_v4(net)) {
            err = resolve(AF_INET6, st, NULL, port, true, &res);
            if (err)
                return err;
            int fd = listen_on(st, res->ai_addr, res->ai_addrlen, net_v6(net), backlog);
            freeaddrinfo(res);
            /* No IPv6 here (not built in, or disabled): IPv4 will do. */
            if (fd >= 0 || net_v6(net) || (fd != -EAFNOSUPPORT && fd != -EADDRNOTAVAIL))
                return fd;
        }
        err = resolve(AF_INET, st, NULL, port, true, &res);
        if (err)
            return err;
        int fd = listen_on(st, res->ai_addr, res->ai_addrlen, -1, backlog);
        freeaddrinfo(res);
        return fd;
    }
    err = resolve(net_family(net), st, host, port, true, &res);
    if (err)
        return err;
    pick = res;
    for (struct addrinfo *ai = res; ai; ai = ai->ai_next) {
        if (ai->ai_family == AF_INET) {
            pick = ai; /* Go listens on the first IPv4 address of a name */
            break;
        }
    }
    int fd = listen_on(st, pick->ai_addr, pick->ai_addrlen, -1, backlog);
    freeaddrinfo(res);
    return fd;
}

/* ---- dial ---------------------------------------------------------------------- */

static int dial_one(int socktype, const struct sockaddr *sa, socklen_t len, int64_t deadline)
{
    int fd = socket(sa->sa_family, socktype | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return -errno;
    int err = 0;
    if (sa->sa_family == AF_UNIX && socktype == SOCK_DGRAM) {
        /* An unbound unixgram socket's datagrams carry no sender address,
         * so the peer could not answer: bind it to an address of the
         * kernel's choosing in the abstract namespace (Linux autobind). */
        struct sockaddr_un any = {.sun_family = AF_UNIX};
        if (bind(fd, (struct sockaddr *)&any, sizeof(sa_family_t)) != 0)
            err = -errno;
    }
    if (!err)
        err = netpoll_open(fd, IO_KIND_SOCKET, socktype == SOCK_STREAM);
    if (err) {
        close(fd);
        return err;
    }
    pd_t *pd = netpoll_pd(fd, &err);
    RT_ASSERT(pd != NULL); /* netpoll_open made it */
    if ((err = netpoll_ref(pd)) == 0) {
        err = connect_nb(pd, fd, sa, len, deadline);
        netpoll_unref(pd);
    }
    if (err) {
        netpoll_close(fd);
        return err;
    }
    if (socktype == SOCK_STREAM)
        set_nodelay(fd, sa->sa_family);
    return fd;
}

static int dial(const char *network, const char *address, int64_t deadline)
{
    int net = parse_network(network);
    if (net < 0)
        return net;
    int st = net_socktype(net);
    if (net == NET_UNIX || net == NET_UNIXGRAM) {
        struct sockaddr_un sun;
        socklen_t len;
        int err = unix_addr(address, &sun, &len);
        return err ? err : dial_one(st, (struct sockaddr *)&sun, len, deadline);
    }
    char host[256], port[64];
    int err = split_host_port(address, host, sizeof host, port, sizeof port);
    if (err)
        return err;
    struct addrinfo *res;
    err = resolve(net_family(net), st, host[0] ? host : NULL, port, false, &res);
    if (err)
        return err;
    int first_err = 0, fd = -1;
    for (struct addrinfo *ai = res; ai; ai = ai->ai_next) {
        fd = dial_one(st, ai->ai_addr, ai->ai_addrlen, deadline);
        if (fd >= 0)
            break;
        if (!first_err)
            first_err = fd;
        if (fd == -ETIMEDOUT)
            break; /* the deadline covers every address */
    }
    freeaddrinfo(res);
    return fd >= 0 ? fd : first_err;
}

int go_dial(const char *network, const char *address)
{
    return dial(network, address, 0);
}

int go_dial_timeout(const char *network, const char *address, int64_t timeout_ns)
{
    return dial(network, address, deadline_after(timeout_ns));
}

/* ---- close, deadlines, waiting ------------------------------------------------------ */

int go_close(int fd)
{
    return netpoll_close(fd);
}

int go_set_deadline(int fd, int64_t deadline)
{
    return netpoll_set_deadline(fd, NETPOLL_READ | NETPOLL_WRITE, deadline);
}

int go_set_read_deadline(int fd, int64_t deadline)
{
    return netpoll_set_deadline(fd, NETPOLL_READ, deadline);
}

int go_set_write_deadline(int fd, int64_t deadline)
{
    return netpoll_set_deadline(fd, NETPOLL_WRITE, deadline);
}

_Static_assert(GO_POLL_IN == NETPOLL_READ && GO_POLL_OUT == NETPOLL_WRITE,
               "go_fd_wait passes its events to the poller as they are");

int go_fd_wait(int fd, int events, int64_t timeout_ns)
{
    if (events == 0 || (events & ~(GO_POLL_IN | GO_POLL_OUT)))
        return -EINVAL;
    int err;
    pd_t *pd = netpoll_pd(fd, &err);
    if (!pd)
        return err;
    if ((err = netpoll_ref(pd)) != 0)
        return err;
    int64_t deadline = deadline_after(timeout_ns);
    uint32_t modes = (uint32_t)events;
    int r;
    for (;;) {
        if ((r = netpoll_check(pd, modes)) != 0)
            break;
        uint64_t seq = netpoll_seq(pd);
        struct pollfd p = {.fd = fd};
        if (events & GO_POLL_IN)
            p.events |= POLLIN | POLLRDHUP;
        if (events & GO_POLL_OUT)
            p.events |= POLLOUT;
        int n = poll(&p, 1, 0);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            r = -errno;
            break;
        }
        if (n > 0) {
            if (p.revents & POLLNVAL) {
                r = -EBADF;
                break;
            }
            r = 0;
            if ((events & GO_POLL_IN) &&
                (p.revents & (POLLIN | POLLRDHUP | POLLPRI | POLLHUP | POLLERR)))
                r |= GO_POLL_IN;
            if ((events & GO_POLL_OUT) && (p.revents & (POLLOUT | POLLHUP | POLLERR)))
                r |= GO_POLL_OUT;
            if (r & GO_POLL_IN)
                netpoll_clear_drained(pd); /* data seen: the next read tries */
            if (r)
                break;
        }
        r = netpoll_wait(pd, fd, modes, seq, deadline);
        if (r == -EPERM) {
            r = events; /* not pollable: always ready, as poll(2) says */
            break;
        }
        if (r)
            break;
        /* A report for the one direction asked for came after the look
         * above: it is ready (as of the report, as poll's answer is as of
         * its look), without a second poll(2). For both directions, look
         * again to say which. */
        if (events != (GO_POLL_IN | GO_POLL_OUT)) {
            if (events & GO_POLL_IN)
                netpoll_clear_drained(pd);
            r = events;
            break;
        }
    }
    netpoll_unref(pd);
    return r;
}
