/*
 * hook.c - libgoroutine-hook: libc's blocking calls, interposed, so that
 * unmodified C libraries (hiredis, libpq, libcurl, ...) park the calling
 * goroutine on the runtime's netpoller instead of blocking its thread.
 *
 * Interposition. This file defines read, write, connect, poll, ... with
 * libc's exact prototypes. Linked into a program (libgoroutine-hook.so, or
 * the static archive, which also holds the runtime), or loaded with
 * LD_PRELOAD, the dynamic linker binds every library's calls to these
 * definitions before libc's. Each call then decides:
 *   - not a goroutine (plain thread, runtime not started, the scheduler
 *     itself, or between go_syscall_enter and go_syscall_exit: see
 *     go_can_park), a descriptor the user made non-blocking, or a call
 *     that cannot block (MSG_DONTWAIT, a zero timeout): libc's function,
 *     straight through, nothing else touched;
 *   - a socket: the call with MSG_DONTWAIT (read becomes recv, writev
 *     sendmsg, ...), and on EAGAIN go_fd_wait, then again. The socket's
 *     flags are never changed, so another process sharing it, or a plain
 *     thread of this one, sees exactly what it set. A blocking send sends
 *     everything, as the kernel does (a timeout or an error after some
 *     bytes returns the count). SO_RCVTIMEO/SO_SNDTIMEO, recorded when
 *     set through setsockopt, become a deadline per call and end in
 *     EAGAIN (EINPROGRESS for connect), as in the kernel;
 *   - a pipe, FIFO, terminal or other pollable stream: go_fd_wait for
 *     readiness, then the blocking call in syscall mode (another reader
 *     may take the data in between: then the thread blocks, its P does
 *     not);
 *   - a regular file (and anything epoll refuses): the blocking call in
 *     syscall mode, as Go does for files, so a slow disk blocks only this
 *     goroutine's thread. open, openat and fsync likewise; and
 *     getaddrinfo, getnameinfo and gethostbyname(_r), whose DNS traffic
 *     runs inside libc where no hook reaches.
 * A descriptor's kind (socket, stream, file) is cached per number, set
 * when a hooked call creates it and looked up with fstat otherwise; a
 * number closed and reused without our close (fclose, libc internals)
 * may carry a stale kind. A stale "socket" is caught by ENOTSOCK (then we
 * look again); a stale stream or file only costs a thread, never changes
 * a result.
 *
 * The user's O_NONBLOCK. Since we never leave O_NONBLOCK set on a user's
 * descriptor, the kernel's flag *is* the user's view, read with F_GETFL
 * only on the slow path (after the call said EAGAIN). The one exception
 * is connect, which has no per-call non-blocking flag: a blocking connect
 * sets O_NONBLOCK across the connect call itself, waits for writability,
 * and returns SO_ERROR's verdict (the real result, not EINPROGRESS: the
 * bug libco issue #13 reported with hiredis and MySQL). While the flag is
 * ours, the descriptor's entry says so (rtnb), and our fcntl(F_GETFL)
 * hides it. ioctl(FIONBIO) therefore needs no hook.
 *
 * Multiple descriptors (poll with more than one, select, pselect): the
 * ready check is one poll(2) with a zero timeout; if nothing is ready,
 * the descriptors go into a private epoll instance, the goroutine waits
 * for that instance with go_fd_wait, and poll(2) runs again for the
 * answer. One descriptor waits on the runtime directly. A user's own
 * epoll descriptor (epoll_wait) is waited for the same way. Calls with a
 * signal mask (ppoll, pselect, epoll_pwait given a mask) run blocking in
 * syscall mode instead: atomically swapping the thread's mask means
 * nothing to a goroutine that may move between threads. Parked calls do
 * not return EINTR (as if every handler had SA_RESTART).
 *
 * Sleeps (sleep, usleep, nanosleep, clock_nanosleep on the realtime,
 * monotonic, boottime and TAI clocks) become go_sleep.
 *
 * Symbol resolution. The next definition of each name (libc's, or
 * ASan's interceptor in a sanitized program) is found with
 * dlsym(RTLD_NEXT), all at once, in a constructor or at the first hooked
 * call, whichever comes first (another library's constructor may call
 * read before ours runs, and this may be inside the dynamic loader; its
 * lock is recursive, so dlsym works there). dlsym itself may call hooked
 * functions (a malloc replacement reading /proc, a loader opening a
 * file): while resolution is in progress, on that thread or any other,
 * every hooked call makes the raw system call with syscall(2) instead
 * (a state word CASed 0 -> 1 -> 2, no locks, no TLS, no allocation).
 *
 * The runtime's own calls. The runtime calls recv, poll, close, fcntl,
 * getaddrinfo, ... and those bind to these hooks too. All of them either
 * cannot block (MSG_DONTWAIT, poll with a zero timeout, O_NONBLOCK
 * descriptors of its own) or run in syscall mode, where go_can_park says
 * no: each passes straight through. (A test of return addresses was
 * rejected: ASan's interceptors sit between caller and hook.)
 *
 * errno. A goroutine may resume on another thread after a wait, and
 * compilers compute errno's address once per function, so code here
 * reads and writes errno after a possible park only through err_get and
 * err_set, which are never inlined.
 *
 * Where it does not reach: calls inside libc (fopen's open, getaddrinfo's
 * sockets, system()'s waits), fully static programs (nothing to
 * interpose), raw syscall(2), and the _chk fortify variants. See
 * docs/hooks.md.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <goroutine.h>

#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <netdb.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/mman.h>
#include <sys/select.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/time.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

#define HOOK __attribute__((visibility("default")))

/* ---- the real functions ---------------------------------------------------- */

#define HOOK_LIST(X)                                                                    \
    X(read, ssize_t, (int, void *, size_t))                                            \
    X(write, ssize_t, (int, const void *, size_t))                                     \
    X(readv, ssize_t, (int, const struct iovec *, int))                                \
    X(writev, ssize_t, (int, const struct iovec *, int))                               \
    X(pread, ssize_t, (int, void *, size_t, off_t))                                    \
    X(pwrite, ssize_t, (int, const void *, size_t, off_t))                             \
    X(pread64, ssize_t, (int, void *, size_t, off64_t))                                \
    X(pwrite64, ssize_t, (int, const void *, size_t, off64_t))                         \
    X(recv, ssize_t, (int, void *, size_t, int))                                       \
    X(recvfrom, ssize_t, (int, void *, size_t, int, struct sockaddr *, socklen_t *))   \
    X(recvmsg, ssize_t, (int, struct msghdr *, int))                                   \
    X(send, ssize_t, (int, const void *, size_t, int))                                 \
    X(sendto, ssize_t, (int, const void *, size_t, int, const struct sockaddr *, socklen_t)) \
    X(sendmsg, ssize_t, (int, const struct msghdr *, int))                             \
    X(accept, int, (int, struct sockaddr *, socklen_t *))                              \
    X(accept4, int, (int, struct sockaddr *, socklen_t *, int))                        \
    X(connect, int, (int, const struct sockaddr *, socklen_t))                         \
    X(poll, int, (struct pollfd *, nfds_t, int))                                       \
    X(ppoll, int, (struct pollfd *, nfds_t, const struct timespec *, const sigset_t *)) \
    X(select, int, (int, fd_set *, fd_set *, fd_set *, struct timeval *))              \
    X(pselect, int, (int, fd_set *, fd_set *, fd_set *, const struct timespec *, const sigset_t *)) \
    X(epoll_wait, int, (int, struct epoll_event *, int, int))                          \
    X(epoll_pwait, int, (int, struct epoll_event *, int, int, const sigset_t *))       \
    X(sleep, unsigned, (unsigned))                                                     \
    X(usleep, int, (useconds_t))                                                       \
    X(nanosleep, int, (const struct timespec *, struct timespec *))                    \
    X(clock_nanosleep, int, (clockid_t, int, const struct timespec *, struct timespec *)) \
    X(close, int, (int))                                                               \
    X(shutdown, int, (int, int))                                                       \
    X(dup, int, (int))                                                                 \
    X(dup2, int, (int, int))                                                           \
    X(dup3, int, (int, int, int))                                                      \
    X(fcntl, int, (int, int, ...))                                                     \
    X(fcntl64, int, (int, int, ...))                                                   \
    X(socket, int, (int, int, int))                                                    \
    X(socketpair, int, (int, int, int, int *))                                         \
    X(pipe, int, (int *))                                                              \
    X(pipe2, int, (int *, int))                                                        \
    X(setsockopt, int, (int, int, int, const void *, socklen_t))                       \
    X(open, int, (const char *, int, ...))                                             \
    X(open64, int, (const char *, int, ...))                                           \
    X(openat, int, (int, const char *, int, ...))                                      \
    X(openat64, int, (int, const char *, int, ...))                                    \
    X(fsync, int, (int))                                                               \
    X(fdatasync, int, (int))                                                           \
    X(getaddrinfo, int, (const char *, const char *, const struct addrinfo *, struct addrinfo **)) \
    X(getnameinfo, int, (const struct sockaddr *, socklen_t, char *, socklen_t, char *, socklen_t, int)) \
    X(gethostbyname, struct hostent *, (const char *))                                 \
    X(gethostbyname_r, int, (const char *, struct hostent *, char *, size_t, struct hostent **, int *))

static struct {
#define X(name, ret, args) ret(*name) args;
    HOOK_LIST(X)
#undef X
} real;

static const struct {
    const char *name;
    size_t off;
} real_names[] = {
#define X(name, ret, args) {#name, offsetof(__typeof__(real), name)},
    HOOK_LIST(X)
#undef X
};

/*
 * A sanitizer's runtime (clang's ASan and TSan are linked statically)
 * interposes libc as well. When it sits in the same object as these hooks
 * (the executable, hooks linked statically), RTLD_NEXT skips it, and
 * calling libc past it would hide our descriptors' lives from it: TSan
 * then reports races between a close it never saw and the next user of
 * the number. There its interceptor is the "real" function (it calls libc
 * itself). Anywhere else it must not be: in an object before ours (hooks
 * as a shared library or preloaded) its own "real" call is our hook, and
 * in one after ours (gcc's libtsan.so) RTLD_NEXT already finds it.
 */
static void *sanitizer_interceptor(const char *name)
{
    static const char pre[] = "__interceptor_";
    char sym[64];
    size_t n = strlen(name);
    if (sizeof pre + n > sizeof sym)
        return NULL;
    memcpy(sym, pre, sizeof pre - 1);
    memcpy(sym + sizeof pre - 1, name, n + 1);
    void *f = dlsym(RTLD_DEFAULT, sym);
    Dl_info them, us;
    if (!f || !dladdr(f, &them) || !dladdr((void *)sanitizer_interceptor, &us) ||
        them.dli_fbase != us.dli_fbase)
        return NULL;
    return f;
}

/* 0: not resolved; 1: resolving (some thread is inside dlsym); 2: done. */
static int resolve_state;

__attribute__((noinline)) static bool resolve(void)
{
    int st = 0;
    if (!__atomic_compare_exchange_n(&resolve_state, &st, 1, false, __ATOMIC_ACQ_REL,
                                     __ATOMIC_ACQUIRE))
        return st == 2;
    for (size_t i = 0; i < sizeof real_names / sizeof real_names[0]; i++) {
        void *f = sanitizer_interceptor(real_names[i].name);
        if (!f)
            f = dlsym(RTLD_NEXT, real_names[i].name);
        memcpy((char *)&real + real_names[i].off, &f, sizeof f);
    }
    __atomic_store_n(&resolve_state, 2, __ATOMIC_RELEASE);
    return true;
}

/* True once every real function is known; false while some thread is
 * resolving them (the caller then makes the raw system call). */
static inline bool ready(void)
{
    if (__builtin_expect(__atomic_load_n(&resolve_state, __ATOMIC_ACQUIRE) == 2, 1))
        return true;
    return resolve();
}

__attribute__((constructor)) static void hook_init(void)
{
    ready();
}

/* ---- errno, freshly addressed (see the top of the file) --------------------- */

__attribute__((noinline)) static int err_get(void)
{
    __asm__ __volatile__("" ::: "memory");
    return errno;
}

__attribute__((noinline)) static void err_set(int e)
{
    __asm__ __volatile__("" ::: "memory");
    errno = e;
}

__attribute__((noinline)) static int herr_get(void)
{
    __asm__ __volatile__("" ::: "memory");
    return h_errno;
}

__attribute__((noinline)) static void herr_set(int e)
{
    __asm__ __volatile__("" ::: "memory");
    h_errno = e;
}

/* ---- per-descriptor state ---------------------------------------------------- */

enum { K_UNKNOWN, K_SOCKET, K_STREAM, K_FILE };

struct fdent {
    uint8_t kind;
    uint8_t rtnb;      /* O_NONBLOCK is ours (inside a blocking connect) */
    int64_t rcvtimeo;  /* SO_RCVTIMEO in ns, 0: none */
    int64_t sndtimeo;  /* SO_SNDTIMEO in ns, 0: none */
};

/* Two levels, as the runtime's poll descriptors: 1024 chunks of 4096
 * entries, each chunk mmap'd on first use and never freed. Descriptors
 * beyond (numbers >= 4M) have no entry: their kind is looked up per call
 * and their socket timeouts are not seen. Entries are written by the
 * descriptor's users without a lock, as the kernel's own per-descriptor
 * state is: racing a close against a call on the same number is already
 * a bug in the caller. */
#define FD_CHUNK 4096
#define FD_NCHUNKS 1024
static struct fdent *fd_chunks[FD_NCHUNKS];

static struct fdent *fd_get(int fd, bool create)
{
    if (fd < 0 || fd >= FD_CHUNK * FD_NCHUNKS)
        return NULL;
    struct fdent **slot = &fd_chunks[fd / FD_CHUNK];
    struct fdent *c = __atomic_load_n(slot, __ATOMIC_ACQUIRE);
    if (!c) {
        if (!create)
            return NULL;
        void *m = (void *)syscall(SYS_mmap, NULL, FD_CHUNK * sizeof(struct fdent),
                                  PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        if (m == MAP_FAILED)
            return NULL;
        struct fdent *expect = NULL;
        if (__atomic_compare_exchange_n(slot, &expect, (struct fdent *)m, false,
                                        __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE)) {
            c = m;
        } else {
            syscall(SYS_munmap, m, FD_CHUNK * sizeof(struct fdent));
            c = expect;
        }
    }
    return &c[fd % FD_CHUNK];
}

/* Fields are read and written with relaxed atomics: a number closed on
 * one thread and reused on another is ordered by the kernel, which
 * neither the compiler nor TSan can see. */
#define FD_LOAD(e, f) __atomic_load_n(&(e)->f, __ATOMIC_RELAXED)
#define FD_STORE(e, f, v) __atomic_store_n(&(e)->f, (v), __ATOMIC_RELAXED)

static void fd_set_all(struct fdent *e, uint8_t kind, int64_t rcv, int64_t snd)
{
    FD_STORE(e, kind, kind);
    FD_STORE(e, rtnb, 0);
    FD_STORE(e, rcvtimeo, rcv);
    FD_STORE(e, sndtimeo, snd);
}

static int classify(int fd)
{
    struct stat st;
    if (fstat(fd, &st) != 0)
        return K_UNKNOWN;
    if (S_ISSOCK(st.st_mode))
        return K_SOCKET;
    if (S_ISREG(st.st_mode) || S_ISDIR(st.st_mode) || S_ISBLK(st.st_mode))
        return K_FILE;
    /* Pipes, terminals, and the anonymous inodes (eventfd, timerfd,
     * signalfd, epoll), which have no file type: the runtime's own wake-up
     * eventfd, written under its locks, is one of them and must pass
     * through untouched (it is non-blocking, so it does). */
    return K_STREAM;
}

static int kind_of(int fd, bool fresh)
{
    struct fdent *e = fd_get(fd, true);
    if (e && FD_LOAD(e, kind) != K_UNKNOWN && !fresh)
        return FD_LOAD(e, kind);
    int k = classify(fd);
    if (e)
        FD_STORE(e, kind, (uint8_t)k);
    return k;
}

/* A new descriptor of a known kind, or a number closed. */
static void fd_reset(int fd, int kind)
{
    struct fdent *e = fd_get(fd, kind != K_UNKNOWN);
    if (e)
        fd_set_all(e, (uint8_t)kind, 0, 0);
}

/* newfd is a duplicate of oldfd: same open file, same socket options. */
static void fd_copy(int oldfd, int newfd)
{
    struct fdent *o = fd_get(oldfd, false), *n = fd_get(newfd, true);
    if (n)
        fd_set_all(n, o ? FD_LOAD(o, kind) : K_UNKNOWN, o ? FD_LOAD(o, rcvtimeo) : 0,
                   o ? FD_LOAD(o, sndtimeo) : 0);
}

/* 1 if the user made fd non-blocking, 0 if not, -1 with errno. */
static int user_nonblock(int fd)
{
    int fl = real.fcntl(fd, F_GETFL);
    if (fl < 0)
        return -1;
    struct fdent *e = fd_get(fd, false);
    if (e && FD_LOAD(e, rtnb))
        return 0;
    return (fl & O_NONBLOCK) != 0;
}

/* ---- waiting ------------------------------------------------------------------ */

static int64_t deadline_in(int64_t ns)
{
    return ns > 0 ? go_now() + ns : 0;
}

/* Wait until fd is ready for events or the deadline (0: none) passes.
 * 0 when ready, -ETIMEDOUT, or another -errno (-EBADF). */
static int wait_fd(int fd, int events, int64_t deadline)
{
    int64_t left = INT64_MAX;
    if (deadline) {
        left = deadline - go_now();
        if (left <= 0)
            return -ETIMEDOUT;
    }
    int r = go_fd_wait(fd, events, left);
    return r > 0 ? 0 : r;
}

static int64_t ts_ns(const struct timespec *ts)
{
    if (ts->tv_sec > INT64_MAX / 1000000000 - 1)
        return INT64_MAX;
    return (int64_t)ts->tv_sec * 1000000000 + ts->tv_nsec;
}

/* ---- one system call ---------------------------------------------------------- */

enum op_code { C_READ, C_READV, C_PREAD, C_RECV, C_RECVMSG,
               C_WRITE, C_WRITEV, C_PWRITE, C_SEND, C_SENDMSG };

struct op {
    enum op_code code;
    int fd;
    void *buf;
    size_t n;
    const struct iovec *iov;
    int iovcnt;
    off64_t off;
    int flags;
    struct sockaddr *from;
    socklen_t *fromlen;
    const struct sockaddr *to;
    socklen_t tolen;
    struct msghdr *msg;
};

static bool op_writes(const struct op *op)
{
    return op->code >= C_WRITE;
}

/* The call as the user made it. */
static ssize_t op_plain(const struct op *op)
{
    switch (op->code) {
    case C_READ: return real.read(op->fd, op->buf, op->n);
    case C_READV: return real.readv(op->fd, op->iov, op->iovcnt);
    case C_PREAD: return real.pread64(op->fd, op->buf, op->n, op->off);
    case C_RECV: return real.recvfrom(op->fd, op->buf, op->n, op->flags, op->from, op->fromlen);
    case C_RECVMSG: return real.recvmsg(op->fd, op->msg, op->flags);
    case C_WRITE: return real.write(op->fd, op->buf, op->n);
    case C_WRITEV: return real.writev(op->fd, op->iov, op->iovcnt);
    case C_PWRITE: return real.pwrite64(op->fd, op->buf, op->n, op->off);
    case C_SEND: return real.sendto(op->fd, op->buf, op->n, op->flags, op->to, op->tolen);
    case C_SENDMSG: return real.sendmsg(op->fd, op->msg, op->flags);
    }
    return -1;
}

/* The call on a socket with MSG_DONTWAIT, starting `done` bytes in. */
static ssize_t op_dontwait(const struct op *op, size_t done, struct iovec *iovbuf)
{
    int f = op->flags | MSG_DONTWAIT;
    struct msghdr m;
    switch (op->code) {
    case C_READ:
        return real.recvfrom(op->fd, op->buf, op->n, MSG_DONTWAIT, NULL, NULL);
    case C_RECV:
        return real.recvfrom(op->fd, (char *)op->buf + done, op->n - done, f & ~MSG_WAITALL,
                             op->from, op->fromlen);
    case C_READV:
        memset(&m, 0, sizeof m);
        m.msg_iov = (struct iovec *)op->iov;
        m.msg_iovlen = (size_t)op->iovcnt;
        return real.recvmsg(op->fd, &m, MSG_DONTWAIT);
    case C_RECVMSG:
        return real.recvmsg(op->fd, op->msg, f);
    case C_WRITE:
        return real.sendto(op->fd, (const char *)op->buf + done, op->n - done, MSG_DONTWAIT,
                           NULL, 0);
    case C_SEND:
        return real.sendto(op->fd, (const char *)op->buf + done, op->n - done, f, op->to,
                           op->tolen);
    case C_WRITEV:
    case C_SENDMSG: {
        /* The iovecs from `done` on (iovbuf holds a copy to trim). */
        if (op->code == C_SENDMSG)
            m = *op->msg;
        else {
            memset(&m, 0, sizeof m);
            m.msg_iov = (struct iovec *)op->iov;
            m.msg_iovlen = (size_t)op->iovcnt;
        }
        if (done) {
            size_t skip = done, i = 0, k = 0;
            while (i < m.msg_iovlen && skip >= m.msg_iov[i].iov_len)
                skip -= m.msg_iov[i++].iov_len;
            for (; i < m.msg_iovlen; i++, k++) {
                iovbuf[k] = m.msg_iov[i];
                if (skip) {
                    iovbuf[k].iov_base = (char *)iovbuf[k].iov_base + skip;
                    iovbuf[k].iov_len -= skip;
                    skip = 0;
                }
            }
            m.msg_iov = iovbuf;
            m.msg_iovlen = k;
            m.msg_control = NULL; /* sent with the first bytes */
            m.msg_controllen = 0;
            m.msg_name = op->code == C_SENDMSG ? m.msg_name : NULL;
        }
        return real.sendmsg(op->fd, &m, op->code == C_SENDMSG ? f : MSG_DONTWAIT);
    }
    default:
        return op_plain(op);
    }
}

static size_t op_len(const struct op *op)
{
    const struct iovec *iov = op->iov;
    size_t cnt = (size_t)op->iovcnt;
    if (op->code == C_SENDMSG) {
        iov = op->msg->msg_iov;
        cnt = op->msg->msg_iovlen;
    } else if (op->code != C_WRITEV) {
        return op->n;
    }
    size_t n = 0;
    for (size_t i = 0; i < cnt; i++)
        n += iov[i].iov_len;
    return n;
}

/* The blocking call in syscall mode: this thread may block, the P moves on. */
static ssize_t op_syscall(const struct op *op)
{
    go_syscall_enter();
    ssize_t r = op_plain(op);
    int e = err_get();
    go_syscall_exit();
    if (r < 0)
        err_set(e);
    return r;
}

static int sock_type(int fd)
{
    int t = 0;
    socklen_t l = sizeof t;
    return getsockopt(fd, SOL_SOCKET, SO_TYPE, &t, &l) == 0 ? t : -1;
}

/* A blocking socket call from a goroutine. */
static ssize_t sock_op(const struct op *op, struct fdent *e, bool *notsock)
{
    bool wr = op_writes(op);
    int64_t deadline = deadline_in(e ? (wr ? FD_LOAD(e, sndtimeo) : FD_LOAD(e, rcvtimeo)) : 0);
    /* Sends that may come back short go on until everything is sent, as a
     * blocking send does; so do receives with MSG_WAITALL on a stream. */
    size_t want = 0;
    bool all = false;
    if (wr && op->code != C_PWRITE) {
        want = op_len(op);
        all = true;
    } else if (op->code == C_RECV && (op->flags & MSG_WAITALL) &&
               sock_type(op->fd) == SOCK_STREAM) {
        want = op->n;
        all = true;
    }
    struct iovec small[16], *iovbuf = small;
    if (op->code == C_WRITEV || op->code == C_SENDMSG) {
        size_t cnt = op->code == C_WRITEV ? (size_t)op->iovcnt : op->msg->msg_iovlen;
        if (cnt > 16 && !(iovbuf = malloc(cnt * sizeof *iovbuf))) {
            err_set(ENOMEM);
            return -1;
        }
    }
    size_t done = 0;
    bool checked = false;
    ssize_t r;
    for (;;) {
        r = op_dontwait(op, done, iovbuf);
        if (r >= 0) {
            done += (size_t)r;
            if (!all || done >= want || (r == 0 && !wr))
                break;
            continue;
        }
        int err = err_get();
        if (err == ENOTSOCK && !done) {
            *notsock = true;
            break;
        }
        if (err != EAGAIN)
            break;
        if (!checked) {
            int nb = user_nonblock(op->fd);
            if (nb != 0)
                break; /* the user's EAGAIN, or F_GETFL's errno */
            checked = true;
        }
        int w = wait_fd(op->fd, wr ? GO_POLL_OUT : GO_POLL_IN, deadline);
        if (w != 0) {
            r = -1;
            err_set(w == -ETIMEDOUT ? EAGAIN : -w);
            break;
        }
    }
    if (iovbuf != small)
        free(iovbuf);
    if (all && done > 0)
        return (ssize_t)done; /* a later error is reported by the next call */
    return r;
}

/* A plain thread's data call goes straight to libc's function (before
 * any descriptor of the call is built: this is the hooks' whole cost to
 * a program's threads). */
#define PLAIN(call)                                                            \
    do {                                                                       \
        if (!go_can_park())                                                    \
            return call;                                                       \
    } while (0)

/* Every data call from a goroutine goes through here (its hook has
 * already sent a plain thread's call to libc: PLAIN). */
static ssize_t do_op(const struct op *op)
{
    int saved = err_get();
    bool fresh = false;
again:;
    int k = kind_of(op->fd, fresh);
    ssize_t r;
    if (k == K_SOCKET) {
        bool has_flags = op->code == C_RECV || op->code == C_SEND ||
                         op->code == C_RECVMSG || op->code == C_SENDMSG;
        if (op->code == C_PREAD || op->code == C_PWRITE) /* ESPIPE */
            return op_plain(op);
        if (has_flags && (op->flags & MSG_DONTWAIT))
            return op_plain(op);
        if (op->code == C_RECVMSG && (op->flags & MSG_WAITALL))
            return op_syscall(op); /* rare: the kernel fills it, on this thread */
        bool notsock = false;
        r = sock_op(op, fd_get(op->fd, false), &notsock);
        if (notsock && !fresh) {
            fresh = true;
            goto again;
        }
    } else if (k == K_STREAM) {
        int nb = user_nonblock(op->fd);
        if (nb != 0)
            return nb > 0 ? op_plain(op) : -1;
        int w = wait_fd(op->fd, op_writes(op) ? GO_POLL_OUT : GO_POLL_IN, 0);
        if (w != 0 && w != -ETIMEDOUT) {
            err_set(-w);
            return -1;
        }
        r = op_syscall(op);
    } else if (k == K_FILE) {
        r = op_syscall(op);
    } else {
        return op_plain(op); /* fstat failed: let the call say why */
    }
    if (r >= 0)
        err_set(saved);
    return r;
}

/* ---- data calls ------------------------------------------------------------------ */

HOOK ssize_t read(int fd, void *buf, size_t n)
{
    if (!ready())
        return syscall(SYS_read, fd, buf, n);
    PLAIN(real.read(fd, buf, n));
    return do_op(&(struct op){.code = C_READ, .fd = fd, .buf = buf, .n = n});
}

HOOK ssize_t write(int fd, const void *buf, size_t n)
{
    if (!ready())
        return syscall(SYS_write, fd, buf, n);
    PLAIN(real.write(fd, buf, n));
    return do_op(&(struct op){.code = C_WRITE, .fd = fd, .buf = (void *)buf, .n = n});
}

HOOK ssize_t readv(int fd, const struct iovec *iov, int cnt)
{
    if (!ready())
        return syscall(SYS_readv, fd, iov, cnt);
    PLAIN(real.readv(fd, iov, cnt));
    return do_op(&(struct op){.code = C_READV, .fd = fd, .iov = iov, .iovcnt = cnt});
}

HOOK ssize_t writev(int fd, const struct iovec *iov, int cnt)
{
    if (!ready())
        return syscall(SYS_writev, fd, iov, cnt);
    PLAIN(real.writev(fd, iov, cnt));
    return do_op(&(struct op){.code = C_WRITEV, .fd = fd, .iov = iov, .iovcnt = cnt});
}

HOOK ssize_t pread64(int fd, void *buf, size_t n, off64_t off)
{
    if (!ready())
        return syscall(SYS_pread64, fd, buf, n, off);
    PLAIN(real.pread64(fd, buf, n, off));
    return do_op(&(struct op){.code = C_PREAD, .fd = fd, .buf = buf, .n = n, .off = off});
}

HOOK ssize_t pread(int fd, void *buf, size_t n, off_t off)
{
    return pread64(fd, buf, n, off);
}

HOOK ssize_t pwrite64(int fd, const void *buf, size_t n, off64_t off)
{
    if (!ready())
        return syscall(SYS_pwrite64, fd, buf, n, off);
    PLAIN(real.pwrite64(fd, buf, n, off));
    return do_op(&(struct op){.code = C_PWRITE, .fd = fd, .buf = (void *)buf, .n = n, .off = off});
}

HOOK ssize_t pwrite(int fd, const void *buf, size_t n, off_t off)
{
    return pwrite64(fd, buf, n, off);
}

HOOK ssize_t recvfrom(int fd, void *buf, size_t n, int flags, __SOCKADDR_ARG from,
                      socklen_t *fromlen)
{
    if (!ready())
        return syscall(SYS_recvfrom, fd, buf, n, flags, from.__sockaddr__, fromlen);
    PLAIN(real.recvfrom(fd, buf, n, flags, from.__sockaddr__, fromlen));
    return do_op(&(struct op){.code = C_RECV, .fd = fd, .buf = buf, .n = n, .flags = flags,
                              .from = from.__sockaddr__, .fromlen = fromlen});
}

HOOK ssize_t recv(int fd, void *buf, size_t n, int flags)
{
    if (!ready())
        return syscall(SYS_recvfrom, fd, buf, n, flags, NULL, NULL);
    PLAIN(real.recvfrom(fd, buf, n, flags, NULL, NULL));
    return do_op(&(struct op){.code = C_RECV, .fd = fd, .buf = buf, .n = n, .flags = flags});
}

HOOK ssize_t recvmsg(int fd, struct msghdr *msg, int flags)
{
    if (!ready())
        return syscall(SYS_recvmsg, fd, msg, flags);
    PLAIN(real.recvmsg(fd, msg, flags));
    return do_op(&(struct op){.code = C_RECVMSG, .fd = fd, .msg = msg, .flags = flags});
}

HOOK ssize_t sendto(int fd, const void *buf, size_t n, int flags, __CONST_SOCKADDR_ARG to,
                    socklen_t tolen)
{
    if (!ready())
        return syscall(SYS_sendto, fd, buf, n, flags, to.__sockaddr__, tolen);
    PLAIN(real.sendto(fd, buf, n, flags, to.__sockaddr__, tolen));
    return do_op(&(struct op){.code = C_SEND, .fd = fd, .buf = (void *)buf, .n = n,
                              .flags = flags, .to = to.__sockaddr__, .tolen = tolen});
}

HOOK ssize_t send(int fd, const void *buf, size_t n, int flags)
{
    if (!ready())
        return syscall(SYS_sendto, fd, buf, n, flags, NULL, 0);
    PLAIN(real.sendto(fd, buf, n, flags, NULL, 0));
    return do_op(&(struct op){.code = C_SEND, .fd = fd, .buf = (void *)buf, .n = n,
                              .flags = flags});
}

HOOK ssize_t sendmsg(int fd, const struct msghdr *msg, int flags)
{
    if (!ready())
        return syscall(SYS_sendmsg, fd, msg, flags);
    PLAIN(real.sendmsg(fd, msg, flags));
    return do_op(&(struct op){.code = C_SENDMSG, .fd = fd, .msg = (struct msghdr *)msg,
                              .flags = flags});
}

/* ---- accept, connect ---------------------------------------------------------------- */

static int accept_common(int fd, struct sockaddr *addr, socklen_t *len, int flags)
{
    if (!go_can_park() || kind_of(fd, false) != K_SOCKET)
        return real.accept4(fd, addr, len, flags);
    int nb = user_nonblock(fd);
    if (nb != 0)
        return nb > 0 ? real.accept4(fd, addr, len, flags) : -1;
    int saved = err_get();
    struct fdent *e = fd_get(fd, false);
    int64_t deadline = deadline_in(e ? FD_LOAD(e, rcvtimeo) : 0);
    int w = wait_fd(fd, GO_POLL_IN, deadline);
    if (w != 0) {
        err_set(w == -ETIMEDOUT ? EAGAIN : -w);
        return -1;
    }
    /* Ready: accept(2) returns at once unless another acceptor took the
     * connection, and then it blocks only this thread. */
    go_syscall_enter();
    int r = real.accept4(fd, addr, len, flags);
    int err = err_get();
    go_syscall_exit();
    if (r < 0) {
        err_set(err);
        return -1;
    }
    err_set(saved);
    return r;
}

HOOK int accept4(int fd, __SOCKADDR_ARG addr, socklen_t *len, int flags)
{
    if (!ready())
        return (int)syscall(SYS_accept4, fd, addr.__sockaddr__, len, flags);
    int r = accept_common(fd, addr.__sockaddr__, len, flags);
    if (r >= 0)
        fd_reset(r, K_SOCKET);
    return r;
}

HOOK int accept(int fd, __SOCKADDR_ARG addr, socklen_t *len)
{
    if (!ready())
        return (int)syscall(SYS_accept4, fd, addr.__sockaddr__, len, 0);
    int r = accept_common(fd, addr.__sockaddr__, len, 0);
    if (r >= 0)
        fd_reset(r, K_SOCKET);
    return r;
}

HOOK int connect(int fd, __CONST_SOCKADDR_ARG addr, socklen_t len)
{
    if (!ready())
        return (int)syscall(SYS_connect, fd, addr.__sockaddr__, len);
    if (!go_can_park() || kind_of(fd, false) != K_SOCKET)
        return real.connect(fd, addr.__sockaddr__, len);
    int fl = real.fcntl(fd, F_GETFL);
    if (fl < 0 || (fl & O_NONBLOCK))
        return real.connect(fd, addr.__sockaddr__, len);
    struct fdent *e = fd_get(fd, true);
    int saved = err_get();
    if (e)
        FD_STORE(e, rtnb, 1);
    real.fcntl(fd, F_SETFL, fl | O_NONBLOCK);
    int r = real.connect(fd, addr.__sockaddr__, len);
    int err = err_get();
    real.fcntl(fd, F_SETFL, fl);
    if (e)
        FD_STORE(e, rtnb, 0);
    if (r == 0) {
        err_set(saved);
        return 0;
    }
    if (err == EAGAIN) {
        /* A Unix socket's listener has a full backlog: a blocking connect
         * waits for room; let the kernel do that on this thread. */
        go_syscall_enter();
        r = real.connect(fd, addr.__sockaddr__, len);
        err = err_get();
        go_syscall_exit();
        err_set(r == 0 ? saved : err);
        return r;
    }
    if (err != EINPROGRESS) {
        err_set(err);
        return -1;
    }
    int w = wait_fd(fd, GO_POLL_OUT, deadline_in(e ? FD_LOAD(e, sndtimeo) : 0));
    if (w != 0) {
        err_set(w == -ETIMEDOUT ? EINPROGRESS : -w);
        return -1;
    }
    int soerr = 0;
    socklen_t sl = sizeof soerr;
    if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &soerr, &sl) != 0)
        return -1;
    if (soerr) {
        err_set(soerr);
        return -1;
    }
    err_set(saved);
    return 0;
}

/* ---- poll, select, epoll ------------------------------------------------------------ */

static int events_of(short ev)
{
    int r = 0;
    if (ev & (POLLIN | POLLPRI | POLLRDNORM | POLLRDBAND | POLLRDHUP))
        r |= GO_POLL_IN;
    if (ev & (POLLOUT | POLLWRNORM | POLLWRBAND))
        r |= GO_POLL_OUT;
    return r ? r : GO_POLL_IN; /* only hang-up and errors: they make it readable */
}

/* Wait for any of fds to be ready (nothing was at the last look), or the
 * deadline: 0 to look again, -ETIMEDOUT, or -errno. */
static int wait_many(struct pollfd *fds, nfds_t n, int64_t deadline)
{
    int one = -1;
    bool several = false;
    nfds_t live = 0;
    for (nfds_t i = 0; i < n; i++) {
        if (fds[i].fd >= 0) {
            live++;
            if (one >= 0 && fds[i].fd != one)
                several = true;
            one = fds[i].fd;
        }
    }
    if (live == 0) {
        if (!deadline)
            return -EDEADLK; /* poll(2) with nothing to wait for, forever */
        int64_t left = deadline - go_now();
        if (left > 0)
            go_sleep(left);
        return -ETIMEDOUT;
    }
    if (!several) {
        int ev = 0;
        for (nfds_t i = 0; i < n; i++)
            if (fds[i].fd == one)
                ev |= events_of(fds[i].events);
        return wait_fd(one, ev, deadline);
    }
    int ep = epoll_create1(EPOLL_CLOEXEC);
    if (ep < 0)
        return -err_get();
    for (nfds_t i = 0; i < n; i++) {
        if (fds[i].fd < 0)
            continue;
        struct epoll_event ev = {0};
        for (nfds_t j = 0; j < n; j++)
            if (fds[j].fd == fds[i].fd) {
                int g = events_of(fds[j].events);
                if (g & GO_POLL_IN)
                    ev.events |= EPOLLIN | EPOLLPRI | EPOLLRDHUP;
                if (g & GO_POLL_OUT)
                    ev.events |= EPOLLOUT;
            }
        /* EEXIST: a descriptor listed twice, all its events are in. EPERM:
         * a regular file, always ready, so the last look would have said. */
        epoll_ctl(ep, EPOLL_CTL_ADD, fds[i].fd, &ev);
    }
    int w = wait_fd(ep, GO_POLL_IN, deadline);
    real.close(ep);
    return w;
}

/* poll from a goroutine; timeout_ns < 0: none. */
static int poll_park(struct pollfd *fds, nfds_t n, int64_t timeout_ns)
{
    int saved = err_get();
    int64_t deadline = timeout_ns < 0 ? 0 : go_now() + (timeout_ns ? timeout_ns : 1);
    for (;;) {
        int r = real.poll(fds, n, 0);
        if (r != 0) {
            if (r > 0)
                err_set(saved);
            return r;
        }
        int w = wait_many(fds, n, deadline);
        if (w == -ETIMEDOUT) {
            err_set(saved);
            return 0;
        }
        if (w == -EDEADLK) {
            /* Nothing to wait for and no timeout: block as poll(2) would. */
            go_syscall_enter();
            r = real.poll(fds, n, -1);
            int e = err_get();
            go_syscall_exit();
            err_set(e);
            return r;
        }
        if (w < 0 && w != -EBADF) {
            err_set(-w);
            return -1;
        }
        /* Ready, or a descriptor closed: poll(2) says which. */
    }
}

HOOK int poll(struct pollfd *fds, nfds_t n, int timeout)
{
    if (!ready())
        return (int)syscall(SYS_ppoll, fds, n,
                            timeout < 0 ? NULL
                                        : &(struct timespec){timeout / 1000,
                                                             (timeout % 1000) * 1000000L},
                            NULL, _NSIG / 8);
    if (timeout == 0 || !go_can_park())
        return real.poll(fds, n, timeout);
    return poll_park(fds, n, timeout < 0 ? -1 : (int64_t)timeout * 1000000);
}

/* A call with a signal mask, or on a clock we do not keep: blocking, in
 * syscall mode. */
#define SYSCALL_MODE(type, call)              \
    do {                                      \
        go_syscall_enter();                   \
        type r_ = call;                       \
        int e_ = err_get();                   \
        go_syscall_exit();                    \
        err_set(e_);                          \
        return r_;                            \
    } while (0)

HOOK int ppoll(struct pollfd *fds, nfds_t n, const struct timespec *ts, const sigset_t *mask)
{
    if (!ready())
        return (int)syscall(SYS_ppoll, fds, n, ts, mask, _NSIG / 8);
    if ((ts && ts->tv_sec == 0 && ts->tv_nsec == 0) || !go_can_park())
        return real.ppoll(fds, n, ts, mask);
    if (mask)
        SYSCALL_MODE(int, real.ppoll(fds, n, ts, mask));
    if (ts && (ts->tv_sec < 0 || ts->tv_nsec < 0 || ts->tv_nsec >= 1000000000))
        return real.ppoll(fds, n, ts, mask); /* EINVAL */
    return poll_park(fds, n, ts ? ts_ns(ts) : -1);
}

/* select and pselect as poll: fd_sets to pollfds and back. */
static int select_park(int nfds, fd_set *rd, fd_set *wr, fd_set *ex, int64_t timeout_ns)
{
    if (nfds < 0 || nfds > FD_SETSIZE) {
        err_set(EINVAL);
        return -1;
    }
    struct pollfd small[64], *p = small;
    int n = 0;
    for (int fd = 0; fd < nfds; fd++)
        if ((rd && FD_ISSET(fd, rd)) || (wr && FD_ISSET(fd, wr)) || (ex && FD_ISSET(fd, ex)))
            n++;
    if (n > 64 && !(p = malloc((size_t)n * sizeof *p))) {
        err_set(ENOMEM);
        return -1;
    }
    n = 0;
    for (int fd = 0; fd < nfds; fd++) {
        short ev = 0;
        if (rd && FD_ISSET(fd, rd))
            ev |= POLLIN;
        if (wr && FD_ISSET(fd, wr))
            ev |= POLLOUT;
        if (ex && FD_ISSET(fd, ex))
            ev |= POLLPRI;
        if (ev)
            p[n++] = (struct pollfd){.fd = fd, .events = ev};
    }
    int r = poll_park(p, (nfds_t)n, timeout_ns);
    if (r >= 0) {
        for (int i = 0; i < n; i++)
            if (p[i].revents & POLLNVAL) {
                r = -1;
                err_set(EBADF);
                break;
            }
    }
    if (r >= 0) {
        r = 0;
        for (int i = 0; i < n; i++) {
            int fd = p[i].fd;
            short re = p[i].revents;
            if (rd && FD_ISSET(fd, rd)) {
                if (re & (POLLIN | POLLHUP | POLLERR))
                    r++;
                else
                    FD_CLR(fd, rd);
            }
            if (wr && FD_ISSET(fd, wr)) {
                if (re & (POLLOUT | POLLERR))
                    r++;
                else
                    FD_CLR(fd, wr);
            }
            if (ex && FD_ISSET(fd, ex)) {
                if (re & POLLPRI)
                    r++;
                else
                    FD_CLR(fd, ex);
            }
        }
    }
    if (p != small)
        free(p);
    return r;
}

HOOK int select(int nfds, fd_set *rd, fd_set *wr, fd_set *ex, struct timeval *tv)
{
    if (!ready()) {
        struct timespec ts;
        if (tv)
            ts = (struct timespec){tv->tv_sec, tv->tv_usec * 1000};
        return (int)syscall(SYS_pselect6, nfds, rd, wr, ex, tv ? &ts : NULL, NULL);
    }
    if ((tv && tv->tv_sec == 0 && tv->tv_usec == 0) || !go_can_park())
        return real.select(nfds, rd, wr, ex, tv);
    if (tv && (tv->tv_sec < 0 || tv->tv_usec < 0))
        return real.select(nfds, rd, wr, ex, tv); /* EINVAL */
    int64_t t = -1, start = 0;
    if (tv) {
        t = tv->tv_sec > INT64_MAX / 1000000000 - 1
                ? INT64_MAX
                : (int64_t)tv->tv_sec * 1000000000 + (int64_t)tv->tv_usec * 1000;
        start = go_now();
    }
    int r = select_park(nfds, rd, wr, ex, t);
    if (tv) { /* Linux leaves the time not slept in *tv */
        int64_t left = t - (go_now() - start);
        if (left < 0 || r == 0)
            left = 0;
        tv->tv_sec = (time_t)(left / 1000000000);
        tv->tv_usec = (suseconds_t)(left % 1000000000 / 1000);
    }
    return r;
}

HOOK int pselect(int nfds, fd_set *rd, fd_set *wr, fd_set *ex, const struct timespec *ts,
                 const sigset_t *mask)
{
    if (!ready()) {
        struct { const sigset_t *ss; size_t len; } m = {mask, _NSIG / 8};
        return (int)syscall(SYS_pselect6, nfds, rd, wr, ex, ts, &m);
    }
    if ((ts && ts->tv_sec == 0 && ts->tv_nsec == 0) || !go_can_park())
        return real.pselect(nfds, rd, wr, ex, ts, mask);
    if (mask)
        SYSCALL_MODE(int, real.pselect(nfds, rd, wr, ex, ts, mask));
    if (ts && (ts->tv_sec < 0 || ts->tv_nsec < 0 || ts->tv_nsec >= 1000000000))
        return real.pselect(nfds, rd, wr, ex, ts, mask); /* EINVAL */
    return select_park(nfds, rd, wr, ex, ts ? ts_ns(ts) : -1);
}

static int epoll_park(int ep, struct epoll_event *evs, int max, int timeout)
{
    int saved = err_get();
    int64_t deadline = timeout < 0 ? 0 : go_now() + (int64_t)timeout * 1000000;
    for (;;) {
        int r = real.epoll_wait(ep, evs, max, 0);
        if (r != 0) {
            if (r > 0)
                err_set(saved);
            return r;
        }
        int w = wait_fd(ep, GO_POLL_IN, deadline);
        if (w == -ETIMEDOUT) {
            err_set(saved);
            return 0;
        }
        if (w < 0) {
            err_set(-w);
            return -1;
        }
    }
}

HOOK int epoll_wait(int ep, struct epoll_event *evs, int max, int timeout)
{
    if (!ready())
        return (int)syscall(SYS_epoll_pwait, ep, evs, max, timeout, NULL, _NSIG / 8);
    if (timeout == 0 || !go_can_park())
        return real.epoll_wait(ep, evs, max, timeout);
    return epoll_park(ep, evs, max, timeout);
}

HOOK int epoll_pwait(int ep, struct epoll_event *evs, int max, int timeout, const sigset_t *mask)
{
    if (!ready())
        return (int)syscall(SYS_epoll_pwait, ep, evs, max, timeout, mask, _NSIG / 8);
    if (timeout == 0 || !go_can_park())
        return real.epoll_pwait(ep, evs, max, timeout, mask);
    if (mask)
        SYSCALL_MODE(int, real.epoll_pwait(ep, evs, max, timeout, mask));
    return epoll_park(ep, evs, max, timeout);
}

/* ---- sleeps ----------------------------------------------------------------------------- */

HOOK int nanosleep(const struct timespec *req, struct timespec *rem)
{
    if (!ready())
        return (int)syscall(SYS_nanosleep, req, rem);
    if (!go_can_park() || !req || req->tv_sec < 0 || req->tv_nsec < 0 ||
        req->tv_nsec >= 1000000000)
        return real.nanosleep(req, rem); /* EFAULT, EINVAL as libc says */
    go_sleep(ts_ns(req));
    return 0;
}

HOOK int clock_nanosleep(clockid_t clk, int flags, const struct timespec *req,
                         struct timespec *rem)
{
    if (!ready()) {
        long r = syscall(SYS_clock_nanosleep, clk, flags, req, rem);
        return r < 0 ? errno : 0;
    }
    if (!go_can_park() || !req || req->tv_sec < 0 || req->tv_nsec < 0 ||
        req->tv_nsec >= 1000000000)
        return real.clock_nanosleep(clk, flags, req, rem);
    if (clk != CLOCK_REALTIME && clk != CLOCK_MONOTONIC && clk != CLOCK_BOOTTIME &&
        clk != CLOCK_TAI) {
        /* CPU-time clocks and the like: the kernel decides (EINVAL,
         * ENOTSUP, or a real wait), on this thread. */
        go_syscall_enter();
        int r = real.clock_nanosleep(clk, flags, req, rem);
        go_syscall_exit();
        return r;
    }
    int64_t ns = ts_ns(req);
    if (flags & TIMER_ABSTIME) {
        /* Wait in steps against the clock itself: a realtime clock may be
         * set while we sleep. */
        for (;;) {
            struct timespec now;
            clock_gettime(clk, &now);
            int64_t left = ns - ts_ns(&now);
            if (left <= 0)
                return 0;
            go_sleep(left);
        }
    }
    go_sleep(ns);
    return 0;
}

HOOK int usleep(useconds_t us)
{
    if (!ready())
        return (int)syscall(SYS_nanosleep,
                            &(struct timespec){us / 1000000, (long)(us % 1000000) * 1000}, NULL);
    if (!go_can_park())
        return real.usleep(us);
    go_sleep((int64_t)us * 1000);
    return 0;
}

HOOK unsigned sleep(unsigned s)
{
    if (!ready()) {
        struct timespec ts = {s, 0};
        return syscall(SYS_nanosleep, &ts, &ts) == 0 ? 0 : (unsigned)ts.tv_sec;
    }
    if (!go_can_park())
        return real.sleep(s);
    go_sleep((int64_t)s * 1000000000);
    return 0;
}

/* ---- descriptors: creation, duplication, flags, close ------------------------------- */

HOOK int socket(int domain, int type, int proto)
{
    if (!ready())
        return (int)syscall(SYS_socket, domain, type, proto);
    int r = real.socket(domain, type, proto);
    if (r >= 0)
        fd_reset(r, K_SOCKET);
    return r;
}

HOOK int socketpair(int domain, int type, int proto, int sv[2])
{
    if (!ready())
        return (int)syscall(SYS_socketpair, domain, type, proto, sv);
    int r = real.socketpair(domain, type, proto, sv);
    if (r == 0) {
        fd_reset(sv[0], K_SOCKET);
        fd_reset(sv[1], K_SOCKET);
    }
    return r;
}

HOOK int pipe2(int fds[2], int flags)
{
    if (!ready())
        return (int)syscall(SYS_pipe2, fds, flags);
    int r = real.pipe2(fds, flags);
    if (r == 0) {
        fd_reset(fds[0], K_STREAM);
        fd_reset(fds[1], K_STREAM);
    }
    return r;
}

HOOK int pipe(int fds[2])
{
    return pipe2(fds, 0);
}

HOOK int close(int fd)
{
    if (!ready())
        return (int)syscall(SYS_close, fd);
    fd_reset(fd, K_UNKNOWN);
    return real.close(fd);
}

HOOK int shutdown(int fd, int how)
{
    if (!ready())
        return (int)syscall(SYS_shutdown, fd, how);
    return real.shutdown(fd, how);
}

HOOK int dup(int fd)
{
    if (!ready())
        return (int)syscall(SYS_dup, fd);
    int r = real.dup(fd);
    if (r >= 0)
        fd_copy(fd, r);
    return r;
}

HOOK int dup3(int fd, int fd2, int flags)
{
    if (!ready())
        return (int)syscall(SYS_dup3, fd, fd2, flags);
    int r = real.dup3(fd, fd2, flags);
    if (r >= 0)
        fd_copy(fd, r);
    return r;
}

HOOK int dup2(int fd, int fd2)
{
    if (!ready()) {
        if (fd == fd2) /* dup3 refuses what dup2 allows */
            return (int)syscall(SYS_fcntl, fd, F_GETFD) < 0 ? -1 : fd;
        return (int)syscall(SYS_dup3, fd, fd2, 0);
    }
    int r = real.dup2(fd, fd2);
    if (r >= 0 && fd != fd2)
        fd_copy(fd, r);
    return r;
}

static int fcntl_common(int (*f)(int, int, ...), int fd, int cmd, void *arg)
{
    if (!ready())
        return (int)syscall(SYS_fcntl, fd, cmd, arg);
    switch (cmd) {
    case F_GETFL: {
        int r = f(fd, cmd);
        struct fdent *e = fd_get(fd, false);
        if (r >= 0 && e && FD_LOAD(e, rtnb))
            r &= ~O_NONBLOCK;
        return r;
    }
    case F_DUPFD:
    case F_DUPFD_CLOEXEC: {
        int r = f(fd, cmd, (int)(intptr_t)arg);
        if (r >= 0)
            fd_copy(fd, r);
        return r;
    }
    case F_SETLKW:
    case F_OFD_SETLKW:
        /* Waits for a file lock: on this thread, in syscall mode. */
        if (go_can_park())
            SYSCALL_MODE(int, f(fd, cmd, arg));
        return f(fd, cmd, arg);
    default:
        return f(fd, cmd, arg);
    }
}

HOOK int fcntl(int fd, int cmd, ...)
{
    va_list ap;
    va_start(ap, cmd);
    void *arg = va_arg(ap, void *);
    va_end(ap);
    return fcntl_common(real.fcntl, fd, cmd, arg);
}

HOOK int fcntl64(int fd, int cmd, ...)
{
    va_list ap;
    va_start(ap, cmd);
    void *arg = va_arg(ap, void *);
    va_end(ap);
    return fcntl_common(real.fcntl64 ? real.fcntl64 : real.fcntl, fd, cmd, arg);
}

HOOK int setsockopt(int fd, int level, int name, const void *val, socklen_t len)
{
    if (!ready())
        return (int)syscall(SYS_setsockopt, fd, level, name, val, len);
    int r = real.setsockopt(fd, level, name, val, len);
    if (r == 0 && level == SOL_SOCKET && (name == SO_RCVTIMEO || name == SO_SNDTIMEO) &&
        len >= sizeof(struct timeval)) {
        const struct timeval *tv = val;
        int64_t ns = (int64_t)tv->tv_sec * 1000000000 + (int64_t)tv->tv_usec * 1000;
        struct fdent *e = fd_get(fd, true);
        if (e) {
            if (name == SO_RCVTIMEO)
                FD_STORE(e, rcvtimeo, ns);
            else
                FD_STORE(e, sndtimeo, ns);
        }
    }
    return r;
}

/* ---- files --------------------------------------------------------------------------- */

static bool open_needs_mode(int flags)
{
    return (flags & O_CREAT) || (flags & O_TMPFILE) == O_TMPFILE;
}

/* Reads the mode argument, which open(2) takes only with O_CREAT or
 * O_TMPFILE (reading it otherwise would read past the caller's arguments). */
#define OPEN_MODE(mode, flags)                                                 \
    do {                                                                       \
        if (open_needs_mode(flags)) {                                          \
            va_list ap;                                                        \
            va_start(ap, flags);                                               \
            (mode) = va_arg(ap, mode_t);                                       \
            va_end(ap);                                                        \
        }                                                                      \
    } while (0)

/* Every open variant: the raw system call before the hooks are ready, a
 * blocking-call hand-off from a goroutine (a file open can block on a slow
 * or remote file system), and a fresh descriptor record for the result. */
static int open_common(int (*f)(int, const char *, int, ...), int dir, const char *path,
                       int flags, mode_t mode)
{
    if (!ready())
        return (int)syscall(SYS_openat, dir, path, flags, mode);
    int r;
    if (go_can_park()) {
        go_syscall_enter();
        r = f(dir, path, flags, mode);
        int e = err_get();
        go_syscall_exit();
        if (r < 0)
            err_set(e);
    } else {
        r = f(dir, path, flags, mode);
    }
    if (r >= 0)
        fd_reset(r, K_UNKNOWN);
    return r;
}

HOOK int openat(int dir, const char *path, int flags, ...)
{
    mode_t mode = 0;
    OPEN_MODE(mode, flags);
    return open_common(real.openat, dir, path, flags, mode);
}

HOOK int openat64(int dir, const char *path, int flags, ...)
{
    mode_t mode = 0;
    OPEN_MODE(mode, flags);
    return open_common(real.openat64 ? real.openat64 : real.openat, dir, path, flags, mode);
}

HOOK int open(const char *path, int flags, ...)
{
    mode_t mode = 0;
    OPEN_MODE(mode, flags);
    return open_common(real.openat, AT_FDCWD, path, flags, mode);
}

HOOK int open64(const char *path, int flags, ...)
{
    mode_t mode = 0;
    OPEN_MODE(mode, flags);
    return open_common(real.openat64 ? real.openat64 : real.openat, AT_FDCWD, path, flags, mode);
}

HOOK int fsync(int fd)
{
    if (!ready())
        return (int)syscall(SYS_fsync, fd);
    if (!go_can_park())
        return real.fsync(fd);
    SYSCALL_MODE(int, real.fsync(fd));
}

HOOK int fdatasync(int fd)
{
    if (!ready())
        return (int)syscall(SYS_fdatasync, fd);
    if (!go_can_park())
        return real.fdatasync(fd);
    SYSCALL_MODE(int, real.fdatasync(fd));
}

/* ---- names: libc's resolver, in syscall mode ------------------------------------------ */

HOOK int getaddrinfo(const char *node, const char *service, const struct addrinfo *hints,
                     struct addrinfo **res)
{
    if (!ready())
        return EAI_AGAIN; /* only from inside dlsym; nothing to call yet */
    if (!go_can_park())
        return real.getaddrinfo(node, service, hints, res);
    SYSCALL_MODE(int, real.getaddrinfo(node, service, hints, res));
}

HOOK int getnameinfo(const struct sockaddr *sa, socklen_t salen, char *host, socklen_t hostlen,
                     char *serv, socklen_t servlen, int flags)
{
    if (!ready())
        return EAI_AGAIN;
    if (!go_can_park())
        return real.getnameinfo(sa, salen, host, hostlen, serv, servlen, flags);
    SYSCALL_MODE(int, real.getnameinfo(sa, salen, host, hostlen, serv, servlen, flags));
}

HOOK struct hostent *gethostbyname(const char *name)
{
    if (!ready()) {
        h_errno = TRY_AGAIN;
        return NULL;
    }
    if (!go_can_park())
        return real.gethostbyname(name);
    /* h_errno is thread-local too: read it on the thread that set it,
     * write it on the one we return on. */
    go_syscall_enter();
    struct hostent *r = real.gethostbyname(name);
    int he = herr_get();
    go_syscall_exit();
    herr_set(he);
    return r;
}

HOOK int gethostbyname_r(const char *name, struct hostent *ret, char *buf, size_t len,
                         struct hostent **result, int *herr)
{
    if (!ready()) {
        *result = NULL;
        *herr = TRY_AGAIN;
        return EAGAIN;
    }
    if (!go_can_park())
        return real.gethostbyname_r(name, ret, buf, len, result, herr);
    SYSCALL_MODE(int, real.gethostbyname_r(name, ret, buf, len, result, herr));
}
