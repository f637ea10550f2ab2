/*
 * fuzz_api - the public API's argument checks with fuzzed arguments.
 *
 * Mechanism. The input is a list of calls: a byte picks a function, the
 * following bytes (read as little-endian integers, often biased towards
 * the boundaries GO_CHAN_ELEM_MAX, GO_COPY_MAX, GO_STACK_MIN/MAX,
 * GO_MAXPROCS_MAX, INT_MAX, IOV_MAX, 0, -1, INT64_MIN/MAX) its arguments.
 * For each call the documented answer is worked out here from
 * include/goroutine.h alone, and the call's result must be exactly that:
 * the negative errno (or NULL with errno) for invalid arguments, success
 * for valid ones (where the call then did what it says: a spawned
 * goroutine runs once with its argument block intact, a timer that
 * go_timer_stop() did not stop has sent its value). ENOMEM is accepted
 * where documented, for valid arguments only. Under ASan any out-of-bounds
 * access (say, select reading cases[] before rejecting n) is a crash.
 *
 * Calls that would use real resources without limit are kept small:
 * channel buffers of valid size are made only up to 16 MiB, and address
 * strings for go_listen() use only digits and punctuation, so that no
 * host name is ever looked up (no DNS traffic, nothing slow). Fatal
 * errors (documented as aborting) are not called.
 */
#include <goroutine.h>

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/uio.h>
#include <unistd.h>

#include "fuzz_check.h"

struct input {
    const uint8_t *p;
    size_t n;
};

static int pipefd[2] = {-1, -1};

static unsigned take8(struct input *in)
{
    if (!in->n)
        return 0;
    in->n--;
    return *in->p++;
}

static uint64_t take64(struct input *in)
{
    uint64_t v = 0;
    for (int i = 0; i < 8; i++)
        v |= (uint64_t)take8(in) << (8 * i);
    return v;
}

/* A 64-bit value, half of the time near an interesting boundary. */
static uint64_t number(struct input *in, const uint64_t *edges, size_t nedges)
{
    unsigned sel = take8(in);
    if (sel < 128 || !nedges)
        return take64(in);
    int64_t delta = (int8_t)take8(in) % 3; /* -2 .. 2 */
    return edges[sel % nedges] + (uint64_t)delta;
}

#define NUMBER(in, ...)                                                            \
    number((in), (const uint64_t[]){__VA_ARGS__},                                  \
           sizeof((const uint64_t[]){__VA_ARGS__}) / sizeof(uint64_t))

/* ---- channels ---- */

static void call_chan_make(struct input *in)
{
    size_t esz = NUMBER(in, 0, 1, GO_CHAN_ELEM_MAX, SIZE_MAX, (uint64_t)1 << 20, (uint64_t)1 << 40);
    size_t cap = NUMBER(in, 0, 1, (uint64_t)1 << 40, (uint64_t)1 << 24, SIZE_MAX, (uint64_t)1 << 32);
    bool overflow = esz != 0 && cap > SIZE_MAX / esz;
    /* Above 2^40 elements is refused even for elem_size 0: it is what a
     * negative capacity converted to size_t looks like. */
    bool invalid = esz > GO_CHAN_ELEM_MAX || cap > ((uint64_t)1 << 40) || overflow ||
                   esz * cap > ((uint64_t)1 << 40);
    if (!invalid && esz * cap > ((size_t)16 << 20))
        return; /* valid but large: not the point here */
    errno = 0;
    go_chan *c = go_chan_make(esz, cap);
    if (invalid) {
        CHECK(!c && errno == EINVAL, "go_chan_make(%zu, %zu) = %p errno %d", esz, cap, (void *)c, errno);
        return;
    }
    CHECK(c || errno == ENOMEM, "go_chan_make(%zu, %zu) NULL errno %d", esz, cap, errno);
    if (!c)
        return;
    CHECK(go_chan_cap(c) == cap && go_chan_len(c) == 0, "cap %zu len %zu", go_chan_cap(c), go_chan_len(c));
    /* A buffered channel takes a value at once; a signal channel any. */
    if (cap) {
        char v[64] = {0};
        if (esz <= sizeof v) {
            CHECK(go_chan_try_send(c, v), "try_send on an empty buffer");
            CHECK(go_chan_len(c) == 1, "len after send");
        }
    }
    go_chan_free(c);
}

/* go_select / go_select_try / go_select_timeout with fuzzed n, dirs and
 * array: invalid ones must fail with -EINVAL before touching anything. */
static void call_select(struct input *in)
{
    static go_chan *ready; /* a buffered channel holding a value */
    if (!ready) {
        ready = go_chan_make(sizeof(int), 1);
        int one = 1;
        go_chan_send(ready, &one);
    }
    unsigned which = take8(in) % 3;
    size_t n = NUMBER(in, 0, 1, 16, 17, 64, INT_MAX, (uint64_t)INT_MAX + 1, SIZE_MAX);
    size_t room = 40;
    go_select_case cases[40];
    int vals[40];
    bool oks[40];
    bool null_cases = take8(in) % 8 == 0;
    bool bad_dir = false, has_ready = false;
    size_t used = n < room ? n : room;
    for (size_t k = 0; k < used; k++) {
        unsigned b = take8(in);
        int dir = b % 8 < 6 ? 1 + b % 2 : (int)(int8_t)take8(in); /* sometimes anything */
        /* Descriptor cases get fd -1, which never fires (as a NULL
         * channel does). */
        bad_dir |= dir != GO_SELECT_SEND && dir != GO_SELECT_RECV && dir != GO_SELECT_READABLE &&
                   dir != GO_SELECT_WRITABLE;
        /* Only receives from `ready` (sends to it would find it full). */
        bool real = dir == GO_SELECT_RECV && (b & 32);
        has_ready |= real;
        cases[k] = (go_select_case){
            .chan = real ? ready : NULL, .dir = dir, .elem = &vals[k], .ok = &oks[k], .fd = -1};
    }
    int64_t timeout = (int64_t)NUMBER(in, 0, (uint64_t)-1, (uint64_t)INT64_MIN, 1000);
    if (timeout > 100000)
        timeout = 100000; /* 0.1 ms at most: a valid select with nothing ready waits that long */
    /* What the header says, in order: NULL cases with n > 0, n > INT_MAX,
     * a bad dir: -EINVAL. n larger than the array is used only when one
     * of the first two checks fails. */
    bool einval = (null_cases && n > 0) || n > INT_MAX || bad_dir;
    if (n > used && !((null_cases && n > 0) || n > INT_MAX))
        return; /* the library would rightly read cases past our array */
    go_select_case *arg = null_cases ? NULL : cases;
    int r;
    if (which == 0 && (einval || has_ready))
        r = go_select(arg, n);
    else if (which == 1)
        r = go_select_try(arg, n);
    else
        r = go_select_timeout(arg, n, timeout);
    if (einval) {
        CHECK(r == -EINVAL, "select(%s, %zu) kind %u = %d, want -EINVAL", null_cases ? "NULL" : "cases", n, which, r);
        return;
    }
    if (has_ready) {
        CHECK(r >= 0 && (size_t)r < n && cases[r].chan == ready, "select %d with a ready case", r);
        CHECK(vals[r] == 1 && oks[r], "select received %d ok %d", vals[r], oks[r]);
        int one = 1;
        go_chan_send(ready, &one); /* put it back */
    } else {
        CHECK(which == 1 ? r == -1 : r == -ETIMEDOUT, "select kind %u with nothing ready = %d", which, r);
    }
}

/* ---- goroutines ---- */

struct spawned {
    go_wg wg;
    int runs;
    unsigned char want[GO_COPY_MAX];
    size_t size;
    bool copied;
    const void *orig;
};
static struct spawned sp;

static void spawned_fn(void *arg)
{
    sp.runs++;
    if (sp.copied) {
        CHECK(((uintptr_t)arg & 15) == 0, "copied argument not 16-byte aligned");
        CHECK(sp.size == 0 || memcmp(arg, sp.want, sp.size) == 0, "argument copy differs");
    } else {
        CHECK(arg == sp.orig, "argument pointer changed");
    }
    go_wg_done(&sp.wg);
}

static void call_spawn(struct input *in)
{
    unsigned how = take8(in) % 3;
    go_attr attr = {0};
    attr.stack_size = NUMBER(in, 0, GO_STACK_MIN, GO_STACK_MAX, 4096, 65536, SIZE_MAX);
    attr.arg_size = NUMBER(in, 0, 1, GO_COPY_MAX, 16, SIZE_MAX);
    bool nullfn = take8(in) % 8 == 0, nullarg = take8(in) % 4 == 0;
    size_t fill = attr.arg_size < sizeof sp.want ? attr.arg_size : sizeof sp.want;
    memset(&sp, 0, sizeof sp);
    for (size_t i = 0; i < fill; i++)
        sp.want[i] = (unsigned char)take8(in);
    static unsigned char src[GO_COPY_MAX + 64];
    memcpy(src, sp.want, fill);
    void *arg = nullarg ? NULL : src;
    go_func fn = nullfn ? NULL : spawned_fn;
    bool einval;
    int r;
    switch (how) {
    case 0:
        einval = nullfn;
        sp.orig = arg;
        go_wg_add(&sp.wg, 1);
        r = go(fn, arg);
        break;
    case 1:
        einval = nullfn || attr.arg_size > GO_COPY_MAX || (arg == NULL && attr.arg_size > 0);
        sp.copied = true;
        sp.size = attr.arg_size;
        go_wg_add(&sp.wg, 1);
        r = go_copy(fn, arg, attr.arg_size);
        break;
    default:
        if (take8(in) & 1)
            attr.name = "fuzz \xff\x01 with a name longer than thirty-one characters";
        einval = nullfn || (attr.stack_size && (attr.stack_size < GO_STACK_MIN || attr.stack_size > GO_STACK_MAX)) ||
                 attr.arg_size > GO_COPY_MAX || (arg == NULL && attr.arg_size > 0);
        sp.copied = attr.arg_size > 0;
        sp.size = attr.arg_size;
        sp.orig = arg;
        go_wg_add(&sp.wg, 1);
        r = go_spawn(&attr, fn, arg);
        break;
    }
    if (einval) {
        CHECK(r == -EINVAL, "spawn kind %u stack %zu argsize %zu fn %d arg %d = %d", how,
              attr.stack_size, attr.arg_size, !nullfn, !nullarg, r);
        go_wg_add(&sp.wg, -1);
        return;
    }
    CHECK(r == 0 || r == -ENOMEM || r == -EAGAIN, "spawn kind %u = %d", how, r);
    if (r)
        go_wg_add(&sp.wg, -1);
    go_wg_wait(&sp.wg);
    CHECK(sp.runs == (r == 0), "goroutine ran %d times", sp.runs);
}

static void call_maxprocs(struct input *in)
{
    int n = (int)NUMBER(in, 0, 1, 2, 8, GO_MAXPROCS_MAX, (uint64_t)GO_MAXPROCS_MAX + 1, (uint64_t)-1,
                        INT_MAX, (uint64_t)INT_MIN);
    int before = go_maxprocs(0);
    CHECK(before >= 1 && before <= GO_MAXPROCS_MAX, "go_maxprocs(0) = %d", before);
    if (n > 8 && n <= GO_MAXPROCS_MAX)
        n = 8; /* valid; more Ps than that only slows the fuzzer */
    int r = go_maxprocs(n);
    if (n > GO_MAXPROCS_MAX) {
        CHECK(r == -EINVAL, "go_maxprocs(%d) = %d", n, r);
    } else {
        CHECK(r == before, "go_maxprocs(%d) = %d, want %d", n, r, before);
        CHECK(go_maxprocs(0) == (n <= 0 ? before : n), "go_maxprocs(%d) took %d", n, go_maxprocs(0));
    }
    go_maxprocs(before);
}

/* ---- timers, tickers, contexts ---- */

static go_sema fired;
static void timer_fn(void *arg)
{
    (void)arg;
    go_sema_release(&fired, 1);
}

static void call_timers(struct input *in)
{
    unsigned how = take8(in) % 4;
    int64_t ns = (int64_t)NUMBER(in, 0, (uint64_t)-1, (uint64_t)INT64_MIN, INT64_MAX, 1000, 100000);
    if (ns > 0 && ns < INT64_MAX / 2 && ns > 200000)
        ns = 200000;
    switch (how) {
    case 0: { /* go_timer_func: NULL fn is EINVAL; else stop true iff no fire */
        bool nullfn = take8(in) % 4 == 0;
        errno = 0;
        go_timer *t = go_timer_func(ns, nullfn ? NULL : timer_fn, NULL);
        if (nullfn) {
            CHECK(!t && errno == EINVAL, "go_timer_func(NULL fn) = %p errno %d", (void *)t, errno);
            return;
        }
        CHECK(t || errno == ENOMEM, "go_timer_func errno %d", errno);
        if (!t)
            return;
        CHECK(go_timer_chan(t) == NULL, "func timer has a channel");
        bool stopped = go_timer_stop(t);
        CHECK(!go_timer_stop(t), "second stop returned true");
        if (!stopped)
            go_sema_acquire(&fired); /* it fired: its function runs once */
        go_timer_free(t);
        CHECK(!go_sema_try_acquire(&fired), "stopped timer's function ran");
        break;
    }
    case 1: { /* go_timer_new: stop false means a value is (or will be) sent */
        go_timer *t = go_timer_new(ns);
        CHECK(t || errno == ENOMEM, "go_timer_new(%lld) errno %d", (long long)ns, errno);
        if (!t)
            return;
        go_chan *c = go_timer_chan(t);
        CHECK(c && go_chan_cap(c) == 1, "timer channel");
        int64_t ns2 = (int64_t)NUMBER(in, 0, (uint64_t)-1, INT64_MAX, 1000);
        if (ns2 > 200000 && ns2 < INT64_MAX / 2)
            ns2 = 200000;
        if (take8(in) & 1) {
            bool active = go_timer_reset(t, ns2);
            (void)active; /* active or not: one value or one stop below */
        }
        if (!go_timer_stop(t)) {
            int64_t when;
            CHECK(go_chan_recv(c, &when), "timer channel closed");
        }
        go_timer_free(t);
        break;
    }
    case 2: { /* tickers: period <= 0 is EINVAL */
        int64_t period = ns;
        errno = 0;
        go_ticker *t = go_ticker_new(period);
        if (period <= 0) {
            CHECK(!t && errno == EINVAL, "go_ticker_new(%lld) = %p errno %d", (long long)period, (void *)t, errno);
            return;
        }
        CHECK(t || errno == ENOMEM, "go_ticker_new errno %d", errno);
        if (!t)
            return;
        int64_t p2 = (int64_t)NUMBER(in, 0, (uint64_t)-1, (uint64_t)INT64_MIN, INT64_MAX, 1000);
        if (take8(in) & 1)
            go_ticker_stop(t);
        int r = go_ticker_reset(t, p2);
        CHECK(p2 <= 0 ? r == -EINVAL : (r == 0 || r == -ENOMEM), "go_ticker_reset(%lld) = %d", (long long)p2, r);
        go_ticker_free(t);
        break;
    }
    default: { /* contexts: NULL parent is EINVAL; any deadline is valid */
        bool nullparent = take8(in) % 4 == 0;
        go_ctx *parent = nullparent ? NULL : go_ctx_background();
        unsigned kind = take8(in) % 3;
        errno = 0;
        go_ctx *c = kind == 0   ? go_ctx_with_cancel(parent)
                    : kind == 1 ? go_ctx_with_timeout(parent, ns)
                                : go_ctx_with_deadline(parent, ns);
        if (nullparent) {
            CHECK(!c && errno == EINVAL, "go_ctx_with_* (NULL) = %p errno %d", (void *)c, errno);
            return;
        }
        CHECK(c || errno == ENOMEM, "go_ctx_with_* errno %d", errno);
        if (!c)
            return;
        int64_t dl;
        CHECK(go_ctx_deadline(c, &dl) == (kind != 0), "deadline presence");
        if (kind == 2)
            CHECK(dl == ns, "deadline %lld want %lld", (long long)dl, (long long)ns);
        int err = go_ctx_err(c);
        CHECK(err == 0 || (kind && err == -ETIMEDOUT), "go_ctx_err %d", err);
        if (take8(in) & 1) {
            go_ctx_cancel(c);
            err = go_ctx_err(c);
            CHECK(err == -ECANCELED || (kind && err == -ETIMEDOUT), "after cancel %d", err);
            CHECK(!go_chan_recv(go_ctx_done(c), NULL), "done channel not closed");
        }
        go_ctx_free(c);
        break;
    }
    }
}

/* ---- descriptors ---- */

static void call_fd(struct input *in)
{
    unsigned how = take8(in) % 5;
    int fd = (int)NUMBER(in, 0, (uint64_t)-1, (uint64_t)INT_MIN, INT_MAX, 1 << 20);
    bool valid = take8(in) & 1;
    if (valid)
        fd = pipefd[take8(in) & 1];
    else if (fd >= 0 && fcntl(fd, F_GETFD) != -1)
        return; /* an open descriptor of someone else's */
    switch (how) {
    case 0: {
        int ev = (int)NUMBER(in, 0, 1, 2, 3, 4, (uint64_t)-1);
        int r = go_fd_wait(fd, ev, 0);
        if (ev == 0 || (ev & ~3)) {
            if (valid)
                CHECK(r == -EINVAL, "go_fd_wait(pipe, %d) = %d", ev, r);
            else
                CHECK(r == -EINVAL || r == -EBADF, "go_fd_wait(%d, %d) = %d", fd, ev, r);
        } else if (!valid) {
            CHECK(r == -EBADF, "go_fd_wait(%d, %d) = %d", fd, ev, r);
        } else {
            CHECK(r > 0 || r == -ETIMEDOUT, "go_fd_wait(pipe, %d) = %d", ev, r);
        }
        break;
    }
    case 1:
    case 2: {
        int cnt = (int)NUMBER(in, 0, 1, 1024, 1025, (uint64_t)-1, (uint64_t)INT_MIN, INT_MAX);
        struct iovec iov[4];
        char b[4];
        for (int i = 0; i < 4; i++)
            iov[i] = (struct iovec){b + i, 1};
        bool einval = cnt < 0 || cnt > 1024;
        if (!einval && cnt > 4)
            return;
        if (!einval && valid && how == 1 && fd == pipefd[0])
            return; /* a read with nothing written would block */
        ssize_t r = how == 1 ? go_readv(fd, iov, cnt) : go_writev(fd, iov, cnt);
        if (einval) {
            CHECK(r == -EINVAL || (!valid && r == -EBADF), "go_%sv(%d, cnt %d) = %zd", how == 1 ? "read" : "write", fd, cnt, r);
        } else if (!valid) {
            CHECK(r == -EBADF || (cnt == 0 && r == 0), "go_%sv(%d, cnt %d) = %zd", how == 1 ? "read" : "write", fd, cnt, r);
        } else if (how == 2 && fd == pipefd[1]) {
            CHECK(r == cnt, "go_writev(pipe, %d) = %zd", cnt, r);
            char sink[8];
            ssize_t got = 0;
            while (got < r) {
                ssize_t k = go_read(pipefd[0], sink, (size_t)(r - got));
                CHECK(k > 0, "read back %zd", k);
                got += k;
            }
        }
        break;
    }
    case 3: {
        int64_t dl = (int64_t)take64(in);
        int r = go_set_deadline(fd, dl);
        if (fd < 0)
            CHECK(r == -EBADF, "go_set_deadline(%d) = %d", fd, r);
        else
            CHECK(r == 0 || r == -ENOMEM || r == -EBADF, "go_set_deadline(%d) = %d", fd, r);
        if (r == 0)
            go_set_deadline(fd, 0); /* the number may be reused */
        break;
    }
    default: {
        char buf[1];
        ssize_t r = go_read(fd, buf, 0);
        CHECK(r == 0 || (!valid && r == -EBADF), "go_read(%d, 0) = %zd", fd, r);
        break;
    }
    }
}

/* go_listen with fuzzed network and address (stream and datagram): the
 * documented errors or a socket; malformed addresses -EINVAL, unknown
 * networks -EPROTONOSUPPORT. */
static void call_listen(struct input *in)
{
    static const char *nets[] = {"tcp", "tcp4", "tcp6", "unix", "udp", "", "TCP", NULL};
    const char *net = nets[take8(in) % 8];
    static const char alpha[] = "0123456789:[].%-+ ";
    char addr[40];
    size_t len = take8(in) % sizeof addr;
    for (size_t i = 0; i < len; i++)
        addr[i] = alpha[take8(in) % (sizeof alpha - 1)];
    addr[len] = 0;
    bool nulladdr = take8(in) % 16 == 0;
    if (net && strcmp(net, "unix") == 0)
        return; /* would create files */
    int r = go_listen(net, nulladdr ? NULL : addr, (int)(int8_t)take8(in));
    /* "udp" takes TCP's address forms (goroutine.h, "Datagrams"). */
    bool known = net && (!strcmp(net, "tcp") || !strcmp(net, "tcp4") || !strcmp(net, "tcp6") ||
                         !strcmp(net, "udp"));
    if (!net || (nulladdr && known)) {
        CHECK(r == -EINVAL, "go_listen(%s, %s) = %d", net ? net : "NULL", nulladdr ? "NULL" : addr, r);
        return;
    }
    if (nulladdr) { /* both errors apply; the header does not order them */
        CHECK(r == -EINVAL || r == -EPROTONOSUPPORT, "go_listen(%s, NULL) = %d", net, r);
        return;
    }
    if (!known) {
        CHECK(r == -EPROTONOSUPPORT, "go_listen(%s, %s) = %d", net, addr, r);
        return;
    }
    if (!strchr(addr, ':'))
        CHECK(r == -EINVAL, "go_listen(%s, \"%s\") without a port = %d", net, addr, r);
    if (r >= 0) {
        CHECK(go_close(r) == 0, "go_close");
        return;
    }
    CHECK(r == -EINVAL || r == -EADDRNOTAVAIL || r == -EAGAIN || r == -EADDRINUSE || r == -EACCES ||
              r == -EAFNOSUPPORT || r == -EMFILE || r == -ENFILE || r == -ENOMEM,
          "go_listen(%s, \"%s\") = %d (%s)", net, addr, r, strerror(-r));
}

static void (*const calls[])(struct input *) = {
    call_chan_make, call_select, call_spawn, call_maxprocs, call_timers, call_fd, call_listen,
};

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    if (!getenv("GOMAXPROCS"))
        go_maxprocs(2);
    if (pipe2(pipefd, O_CLOEXEC | O_NONBLOCK) != 0)
        abort();
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct input in = {data, size};
    for (int steps = 0; in.n && steps < 64; steps++)
        calls[take8(&in) % (sizeof calls / sizeof calls[0])](&in);
    return 0;
}
