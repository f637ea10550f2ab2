/*
 * trace.c - the execution trace: GOROUTINE_TRACE=FILE writes what the
 * scheduler does, as Chrome trace-event JSON, which Perfetto
 * (ui.perfetto.dev) and chrome://tracing open.
 *
 * Mechanism. Each thread that records (every M, plus plain threads that
 * spawn or ready goroutines, and sysmon) owns a buffer, found through a
 * thread-local pointer and created at its first event. A buffer fills
 * chunks of fixed-size records (32 bytes: a time stamp with the event kind
 * in its top byte, and three 64-bit arguments). Recording an event reads
 * the cycle counter, stores the record and publishes the chunk's count
 * with a release store: no lock, no shared cache line, no formatting.
 * A full chunk is pushed on a lock-free list of full chunks (one CAS) and
 * the thread takes a chunk the writer has handed back to it, or a new one
 * (malloc) if there is none: in a steady state each thread cycles
 * through the chunks it filled in one writer period (5 ms), whose pages
 * stay resident.
 *
 * A writer thread ("gort-trace") wakes every 5 ms, takes the whole full
 * list with one exchange, appends the chunks as they are (binary, one
 * writev each) to a spill file, FILE.raw, unlinked as soon as it is
 * opened, and hands each chunk back to its thread (a push on the
 * thread's own returned list, which only the owner empties, all at
 * once). At exit (atexit, so also when main returns) recording stops,
 * the writer is stopped, the full list and then every thread's partly
 * filled chunk (up to its published count) are spilled, and the spill
 * file is read back and formatted into FILE. Per thread, chunks reach the
 * spill file in the order they were filled, which is all the formatting
 * needs. Formatting costs ~10 times what recording does (~500
 * instructions an event, by hand, no snprintf); done while running it
 * fell behind and took CPU from the Ms, so it is done once, at exit,
 * like go tool trace's parsing. The cost: exit takes longer (~0.3 s per
 * million events).
 *
 * Dying. The runtime's own deaths finish FILE too: a fatal error or
 * panic (debug.c's die(), after the dump, before abort) and SIGQUIT's
 * dump-then-exit-2 call trace_dying, which does what the exit flush
 * does, then adds a last instant named after the death ("fatal error",
 * "panic", "SIGQUIT") with its message, at the moment of death; slices
 * still open end there. It may run in a signal handler (SIGQUIT, the
 * stack-overflow report on the 64 KiB alternate stack), with runtime
 * locks held (the deadlock report), or with the malloc lock held by the
 * dying thread, so it allocates nothing (the spill file is read back
 * through a static buffer, names are cut by hand), takes no runtime lock,
 * and calls only what the dump already relies on (write, read, lseek,
 * the symboliser of traceback.c). It does not join the writer, which
 * may be the thread that is stuck: it sets trace_done (so that threads
 * still running stop recording, and so that only one finish, at exit or
 * dying, ever runs), then trylocks wlock, which only the writer can hold
 * at that point (it takes no signals) and only while spilling, for up to
 * 2 s; if the writer does not let go (a disk that does not answer), FILE
 * is left as it is. What it cannot save: a death the runtime does not see
 * (SIGKILL, the default action of another signal, a crash outside the
 * runtime's handlers) leaves FILE empty, the spill file (already
 * unlinked) going with it; a second death while the first is finishing
 * (a SIGQUIT during a fatal error's flush, exit() on another thread)
 * may cut FILE short; events in flight on other threads at that moment
 * may miss it, as at exit.
 *
 * Goroutine slices: the switch hook records "stop g" and "start g'" in
 * one record (TEV_SWITCH), with one time stamp. The formatter keeps, per
 * thread, the slice that is open and emits one complete event ("ph":"X",
 * with its duration) when it closes, so the file has no unmatched begin/end pairs even if events are
 * dropped: a start while a slice is open closes that slice first, a stop
 * that matches nothing is ignored, and slices still open at exit end at
 * the last time stamp seen. A stop of a goroutine that is waiting carries
 * its wait reason (the dump's words: "chan receive", "sleep"...), which
 * becomes a "block" instant. The other events become instants on the
 * recording thread's track. Tracks: tid is the M's id; other threads get
 * ids from 100000 on, and every track is named with a metadata event.
 *
 * Nothing is lost silently: when MAX_PENDING chunks wait for the writer
 * (the disk cannot keep up), a thread whose chunk is full drops events
 * and counts them, as does the writer for chunks the spill file refused;
 * the counts are written at the end, in "otherData" ("dropped_events"),
 * and as a "trace_dropped" metadata event. Events recorded on another
 * thread at the very moment of exit may miss the final flush.
 *
 * Time: the cycle counter (rdtsc; cntvct on aarch64; nanotime elsewhere),
 * converted at write time with a rate measured over ~5 ms at start. The
 * map is linear and the same for every thread, so order is exact; a
 * small error in the rate scales all durations alike.
 *
 * When tracing is off each hook is one compare of trace_on (in memory)
 * with zero and a branch predicted not taken (trace.h: cmpl+jne on
 * x86-64, where gcc would load, test and branch); trace_on never changes
 * after start-up, and the end of recording at exit is a second flag,
 * trace_done, tested only once an event is being recorded. Rejected:
 * patching each hook's jump in the code at start-up (Linux's static
 * keys: one nop when off), which needs writable text pages, breaks with
 * W^X policies and is invisible to debuggers and valgrind's translation
 * cache.
 *
 * Why JSON: it is the one format that both Perfetto and chrome://tracing
 * open, that a test can check with a small parser, and that a user can
 * grep; one event per line keeps it so. Rejected: Perfetto's protobuf
 * format (smaller and faster to load, but needs a protobuf encoder and
 * is opaque without Perfetto's tools); Go's own trace format (go tool
 * trace reads only Go's versioned binary format, tied to its runtime);
 * formatting JSON on the hot path (snprintf costs more than the switch it
 * records), or in the writer while running (see above); one global ring
 * under a lock (every M would bounce its line
 * on every switch); begin/end pairs written as recorded (a dropped or
 * unflushed end would leave unbalanced slices).
 */
#include "trace.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

#if defined(__x86_64__)
#include <x86intrin.h>
#endif

#include "debug.h"
#include "lock.h"
#include "traceback.h"

#define TRACE_CHUNK 8192 /* records per chunk (256 KiB) */
#define MAX_PENDING 256  /* full chunks waiting for the writer before drops */
#define PLAIN_TID0 100000

struct trec {
    uint64_t tsk; /* time stamp (low 56 bits) and kind (top 8) */
    uint64_t a, b, c;
};

struct tbuf;

struct tchunk {
    struct tchunk *next;  /* in the full list */
    struct tbuf *owner;
    uint32_t n;           /* records filled; owner stores (release) */
    struct trec rec[TRACE_CHUNK];
};

struct tbuf {
    struct tchunk *cur;   /* owner; read at exit (atomic) */
    struct tchunk *returned; /* chunks the writer is done with (push: writer,
                              * take all: owner); atomic */
    struct tchunk *stash; /* taken from `returned`; owner only */
    struct tbuf *next;    /* in the list of all buffers (push only) */
    uint64_t dropped;     /* owner increments; read by the writer (atomic) */
    int64_t tid;
    char name[32];
    /* The writer's per-thread state (writer only). */
    bool named;
    uint8_t pidtid_len;   /* ,"pid":P,"tid":T, formatted once */
    char pidtid[48];
    int64_t open_g;       /* goroutine whose slice is open, 0: none */
    uint64_t open_ts;
    uintptr_t open_fn;
};

int trace_on;
static int trace_done;          /* set at exit: record nothing more; atomic */
static int trace_fd = -1;
static uint64_t ts0;            /* counter at start */
static double ticks_per_us = 1000.0; /* nanotime fallback: 1000 per us */
static struct tbuf *allbufs;    /* push only */
static struct tchunk *fullq;    /* full chunks, newest first */
static uint32_t npending;       /* chunks in fullq; atomic */
static int32_t nplainbufs;      /* atomic */
static pthread_t writer;
static int writer_stop;         /* atomic */
static bool writer_started;
static pthread_mutex_t wlock = PTHREAD_MUTEX_INITIALIZER; /* formatting and the file */
static uint64_t last_ts;        /* greatest time stamp written; wlock */
static bool first_event = true; /* wlock */
static int trace_pid;
static __thread struct tbuf *my_buf __attribute__((tls_model("initial-exec")));

static inline uint64_t ticks(void)
{
#if defined(__x86_64__)
    return __rdtsc();
#elif defined(__aarch64__)
    uint64_t v;
    __asm__ __volatile__("mrs %0, cntvct_el0" : "=r"(v));
    return v;
#else
    return (uint64_t)nanotime();
#endif
}

/* ---- recording ---------------------------------------------------------- */

static struct tchunk *chunk_new(struct tbuf *b)
{
    struct tchunk *c = malloc(sizeof *c);
    if (c) {
        c->next = NULL;
        c->owner = b;
        c->n = 0;
    }
    return c;
}

static __attribute__((noinline)) struct tbuf *buf_new(void)
{
    struct tbuf *b = calloc(1, sizeof *b);
    if (!b)
        return NULL;
    m_t *m = sched_tls_m;
    if (m) {
        b->tid = m->id;
        snprintf(b->name, sizeof b->name, "M%lld", (long long)m->id);
    } else {
        int32_t k = __atomic_add_fetch(&nplainbufs, 1, __ATOMIC_RELAXED);
        b->tid = PLAIN_TID0 + k;
        char tn[16] = "";
        pthread_getname_np(pthread_self(), tn, sizeof tn);
        snprintf(b->name, sizeof b->name, "thread %d %s", (int)k, tn);
    }
    __atomic_store_n(&b->cur, chunk_new(b), __ATOMIC_RELEASE);
    b->next = __atomic_load_n(&allbufs, __ATOMIC_RELAXED);
    while (!__atomic_compare_exchange_n(&allbufs, &b->next, b, true, __ATOMIC_RELEASE,
                                        __ATOMIC_RELAXED))
        ;
    my_buf = b;
    return b;
}

/* The current chunk is full: queue it for the writer and start another,
 * unless the writer is too far behind. Returns the chunk to write in, or
 * NULL (the event is dropped). */
static __attribute__((noinline)) struct tchunk *chunk_full(struct tbuf *b, struct tchunk *c)
{
    if (c && __atomic_load_n(&npending, __ATOMIC_RELAXED) >= MAX_PENDING)
        return NULL;
    /* A chunk the writer is done with, its pages still resident: fresh
     * ones would cost a page fault every 128 records. The writer only
     * pushes and the owner only takes the whole list, so no ABA. */
    if (!b->stash)
        b->stash = __atomic_exchange_n(&b->returned, NULL, __ATOMIC_ACQUIRE);
    struct tchunk *nc = b->stash;
    if (nc) {
        b->stash = nc->next;
        nc->next = NULL;
        nc->n = 0;
    } else if (!(nc = chunk_new(b))) {
        return NULL;
    }
    if (c) {
        c->next = __atomic_load_n(&fullq, __ATOMIC_RELAXED);
        while (!__atomic_compare_exchange_n(&fullq, &c->next, c, true, __ATOMIC_RELEASE,
                                            __ATOMIC_RELAXED))
            ;
        __atomic_add_fetch(&npending, 1, __ATOMIC_RELAXED);
    }
    __atomic_store_n(&b->cur, nc, __ATOMIC_RELEASE);
    return nc;
}

/* Room for k records in the caller's buffer, or NULL (k dropped). */
static inline struct tchunk *reserve(uint32_t k)
{
    struct tbuf *b = my_buf;
    if (__builtin_expect(!b, 0) && !(b = buf_new()))
        return NULL;
    struct tchunk *c = b->cur;
    if (__builtin_expect(!c || c->n + k > TRACE_CHUNK, 0)) {
        c = chunk_full(b, c);
        if (!c) {
            __atomic_store_n(&b->dropped, b->dropped + k, __ATOMIC_RELAXED);
            return NULL;
        }
    }
    return c;
}

static inline void put(struct trec *r, uint64_t ts, enum trace_ev ev, uint64_t a, uint64_t b,
                       uint64_t c)
{
    r->tsk = ((ts - ts0) & 0x00ffffffffffffffULL) | (uint64_t)ev << 56;
    r->a = a;
    r->b = b;
    r->c = c;
}

void trace_event(enum trace_ev ev, uint64_t a, uint64_t b, uint64_t c)
{
    if (__builtin_expect(__atomic_load_n(&trace_done, __ATOMIC_RELAXED), 0))
        return;
    struct tchunk *ch = reserve(1);
    if (!ch)
        return;
    uint32_t n = ch->n;
    put(&ch->rec[n], ticks(), ev, a, b, c);
    __atomic_store_n(&ch->n, n + 1, __ATOMIC_RELEASE);
}

#define SW_ID_MASK ((1ULL << 48) - 1)

/* One record for both sides of a switch: half the bytes to store, spill
 * and copy of a STOP and a START. Goroutine ids stay below 2^48 (one a
 * nanosecond for three days). */
void trace_switch(g_t *from, g_t *to)
{
    if (__builtin_expect(__atomic_load_n(&trace_done, __ATOMIC_RELAXED), 0))
        return;
    struct tchunk *ch = reserve(1);
    if (!ch)
        return;
    uint32_t n = ch->n;
    uint64_t a = 0, b = 0, c = 0;
    if (from)
        a = ((uint64_t)from->id & SW_ID_MASK) |
            (uint64_t)(__atomic_load_n(&from->status, __ATOMIC_RELAXED) & 0xff) << 48 |
            (uint64_t)(from->waitreason & 0xff) << 56;
    if (to) {
        b = (uint64_t)to->id;
        c = (uint64_t)(uintptr_t)to->fn;
    }
    put(&ch->rec[n], ticks(), TEV_SWITCH, a, b, c);
    __atomic_store_n(&ch->n, n + 1, __ATOMIC_RELEASE);
}

/* ---- formatting (writer, or the exit flush; under wlock) ------------------ */

/* The writer formats a few million events a second: by hand, with
 * integer arithmetic only (snprintf of a double costs ten times more). */
static char obuf[1 << 16];
static size_t olen;
#define EV_MAX 512 /* room reserved per event line: names are cut to fit */

static void out_flush(void)
{
    size_t off = 0;
    while (off < olen) {
        ssize_t r = write(trace_fd, obuf + off, olen - off);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            break;
        off += (size_t)r;
    }
    olen = 0;
}

/* Appenders: the caller has reserved room (ev_begin). */
static inline void ps(const char *s)
{
    size_t n = strlen(s);
    memcpy(obuf + olen, s, n);
    olen += n;
}

static void pu(uint64_t v)
{
    static const char d2[] = "00010203040506070809101112131415161718192021222324"
                             "25262728293031323334353637383940414243444546474849"
                             "50515253545556575859606162636465666768697071727374"
                             "75767778798081828384858687888990919293949596979899";
    char tmp[24];
    int n = sizeof tmp;
    while (v >= 100) {
        uint32_t r = (uint32_t)(v % 100);
        v /= 100;
        tmp[--n] = d2[2 * r + 1];
        tmp[--n] = d2[2 * r];
    }
    if (v >= 10) {
        tmp[--n] = d2[2 * v + 1];
        tmp[--n] = d2[2 * v];
    } else {
        tmp[--n] = (char)('0' + v);
    }
    memcpy(obuf + olen, tmp + n, sizeof tmp - (size_t)n);
    olen += sizeof tmp - (size_t)n;
}

static void pi(int64_t v)
{
    if (v < 0) {
        obuf[olen++] = '-';
        pu((uint64_t)0 - (uint64_t)v);
    } else {
        pu((uint64_t)v);
    }
}

/* Ticks to ns: ns = ticks * ns_mult >> 32. */
static uint64_t ns_mult;

static uint64_t to_ns(uint64_t t)
{
    return (uint64_t)(((unsigned __int128)t * ns_mult) >> 32);
}

/* A duration in ns as microseconds with three decimals. */
static void pus(uint64_t ns)
{
    pu(ns / 1000);
    uint32_t f = (uint32_t)(ns % 1000);
    obuf[olen++] = '.';
    obuf[olen++] = (char)('0' + f / 100);
    obuf[olen++] = (char)('0' + f / 10 % 10);
    obuf[olen++] = (char)('0' + f % 10);
}

/* Start one event line: room for it, the separator, then "{". */
static void ev_begin(void)
{
    if (olen + EV_MAX > sizeof obuf)
        out_flush();
    ps(first_event ? "\n{" : ",\n{");
    first_event = false;
}

/* s as a JSON string body (no quotes), cut to fit dst. */
static const char *json_str(char *dst, size_t cap, const char *s)
{
    static const char hex[] = "0123456789abcdef";
    size_t j = 0;
    for (; s && *s && j + 7 < cap; s++) {
        unsigned char ch = (unsigned char)*s;
        if (ch == '"' || ch == '\\') {
            dst[j++] = '\\';
            dst[j++] = (char)ch;
        } else if (ch < 0x20 || ch >= 0x7f) {
            memcpy(dst + j, "\\u00", 4);
            dst[j + 4] = hex[ch >> 4];
            dst[j + 5] = hex[ch & 15];
            j += 6;
        } else {
            dst[j++] = (char)ch;
        }
    }
    dst[j] = 0;
    return dst;
}

/* Names of entry functions and timer callbacks, looked up once each. */
#define NAMECACHE 512
static struct {
    uintptr_t pc;
    char name[80];
} namecache[NAMECACHE];

static const char *fn_name(uintptr_t pc)
{
    if (!pc)
        return "?";
    uint32_t h = (uint32_t)((pc >> 4) * 2654435761u) % NAMECACHE;
    for (uint32_t i = 0; i < 8; i++) {
        uint32_t k = (h + i) % NAMECACHE;
        if (namecache[k].pc == pc)
            return namecache[k].name;
        if (namecache[k].pc == 0) {
            const char *n = tb_fn_name(pc);
            char raw[24];
            if (!n) {
                /* By hand: this may run in a signal handler (trace_dying). */
                int j = (int)sizeof raw - 1;
                raw[j] = 0;
                for (uintptr_t v = pc; v && j > 2; v >>= 4)
                    raw[--j] = "0123456789abcdef"[v & 15];
                raw[--j] = 'x';
                raw[--j] = '0';
                n = raw + j;
            }
            json_str(namecache[k].name, sizeof namecache[k].name, n);
            namecache[k].pc = pc;
            return namecache[k].name;
        }
    }
    return "?"; /* cache full around this slot: keep going unnamed */
}

/* ,"pid":P,"tid":T (made once per track) */
static void pid_tid(struct tbuf *b)
{
    if (!b->pidtid_len) {
        size_t o = olen;
        ps(",\"pid\":");
        pi(trace_pid);
        ps(",\"tid\":");
        pi(b->tid);
        b->pidtid_len = (uint8_t)(olen - o);
        memcpy(b->pidtid, obuf + o, b->pidtid_len);
        return;
    }
    memcpy(obuf + olen, b->pidtid, b->pidtid_len);
    olen += b->pidtid_len;
}

static void name_track(struct tbuf *b)
{
    char nm[80];
    ev_begin();
    ps("\"ph\":\"M\",\"name\":\"thread_name\"");
    pid_tid(b);
    ps(",\"args\":{\"name\":\"");
    ps(json_str(nm, sizeof nm, b->name));
    ps("\"}}");
    ev_begin();
    ps("\"ph\":\"M\",\"name\":\"thread_sort_index\"");
    pid_tid(b);
    ps(",\"args\":{\"sort_index\":");
    pi(b->tid);
    ps("}}");
    b->named = true;
}

static void close_slice(struct tbuf *b, uint64_t t)
{
    if (!b->open_g)
        return;
    ev_begin();
    ps("\"ph\":\"X\",\"name\":\"G");
    pi(b->open_g);
    ps(" ");
    ps(fn_name(b->open_fn));
    ps("\"");
    pid_tid(b);
    uint64_t start = to_ns(b->open_ts);
    ps(",\"ts\":");
    pus(start);
    ps(",\"dur\":");
    pus(to_ns(t) - start);
    ps(",\"args\":{\"g\":");
    pi(b->open_g);
    ps("}}");
    b->open_g = 0;
}

/* An instant's head, up to its args object's "{". */
static void instant(struct tbuf *b, uint64_t t, const char *name)
{
    ev_begin();
    /* No "s": an instant's scope is its thread by default. */
    ps("\"ph\":\"i\",\"name\":\"");
    ps(name);
    ps("\"");
    pid_tid(b);
    ps(",\"ts\":");
    pus(to_ns(t));
    ps(",\"args\":{");
}

/* "key":v for an integer argument; ,"key":v with comma. */
static void arg_i(const char *key, int64_t v, bool first)
{
    ps(first ? "\"" : ",\"");
    ps(key);
    ps("\":");
    pi(v);
}

static void arg_s(const char *key, const char *v)
{
    ps(",\"");
    ps(key);
    ps("\":\"");
    ps(v);
    ps("\"");
}

static const char *const sysexit_how[] = {"kept P", "idle P", "no P"};

static void format_rec(struct tbuf *b, const struct trec *r)
{
    uint64_t t = r->tsk & 0x00ffffffffffffffULL;
    unsigned ev = (unsigned)(r->tsk >> 56);
    if (t > last_ts)
        last_ts = t;
    if (!b->named)
        name_track(b);
    if (ev == TEV_SWITCH) {
        /* As the STOP, then the START, it stands for. */
        struct trec half = {.tsk = r->tsk};
        if (r->a & SW_ID_MASK) {
            half.tsk = t | (uint64_t)TEV_STOP << 56;
            half.a = r->a & SW_ID_MASK;
            half.b = (r->a >> 48) & 0xff;
            half.c = r->a >> 56;
            format_rec(b, &half);
        }
        if (r->b) {
            half.tsk = t | (uint64_t)TEV_START << 56;
            half.a = r->b;
            half.b = r->c;
            half.c = 0;
            format_rec(b, &half);
        }
        return;
    }
    switch (ev) {
    case TEV_START:
        close_slice(b, t);
        b->open_g = (int64_t)r->a;
        b->open_ts = t;
        b->open_fn = (uintptr_t)r->b;
        return;
    case TEV_STOP:
        if (b->open_g == (int64_t)r->a)
            close_slice(b, t);
        if (r->b == G_WAITING) {
            instant(b, t, "block");
            arg_i("g", (int64_t)r->a, true);
            arg_s("reason", wait_reason_name((enum wait_reason)r->c));
        } else if (r->b == G_DEAD) {
            instant(b, t, "exit");
            arg_i("g", (int64_t)r->a, true);
        } else {
            return;
        }
        break;
    case TEV_SPAWN:
        instant(b, t, "spawn");
        arg_i("child", (int64_t)r->a, true);
        arg_s("fn", fn_name((uintptr_t)r->b));
        arg_i("parent", (int64_t)r->c, false);
        break;
    case TEV_UNBLOCK:
        instant(b, t, "unblock");
        arg_i("g", (int64_t)r->a, true);
        arg_i("by", (int64_t)r->b, false);
        break;
    case TEV_SYSCALL_ENTER:
        instant(b, t, "syscall enter");
        arg_i("g", (int64_t)r->a, true);
        break;
    case TEV_SYSCALL_EXIT:
        instant(b, t, "syscall exit");
        arg_i("g", (int64_t)r->a, true);
        arg_s("p", sysexit_how[r->b < 3 ? r->b : 2]);
        break;
    case TEV_HANDOFF:
        instant(b, t, "handoff");
        arg_i("p", (int64_t)r->a, true);
        break;
    case TEV_STEAL:
        instant(b, t, "steal");
        arg_i("victim", (int64_t)r->a, true);
        arg_i("n", (int64_t)r->b, false);
        break;
    case TEV_PREEMPT:
        instant(b, t, "preempt");
        arg_i("g", (int64_t)r->a, true);
        break;
    case TEV_TIMER:
        instant(b, t, "timer");
        ps("\"fn\":\"");
        ps(fn_name((uintptr_t)r->a));
        ps("\"");
        break;
    case TEV_NETPOLL:
        instant(b, t, "netpoll");
        arg_i("woken", (int64_t)r->a, true);
        break;
    default:
        instant(b, t, "unknown");
        arg_i("kind", ev, true);
        break;
    }
    ps("}}");
}

/* The spill file: chunks as they fill, in binary, each behind a header
 * naming its thread; read back and formatted at exit. Per thread, chunks
 * are spilled in the order they were filled. */
struct rawhdr {
    struct tbuf *owner;
    uint64_t n;
};
static int raw_fd = -1;
static uint64_t raw_lost; /* records the spill file could not take; wlock */

static void spill(struct tbuf *owner, const struct trec *r, uint32_t n)
{
    struct rawhdr h = {owner, n};
    struct iovec iov[2] = {{&h, sizeof h}, {(void *)r, n * sizeof *r}};
    size_t want = sizeof h + n * sizeof *r, done = 0;
    while (done < want) {
        ssize_t w = writev(raw_fd, iov, 2);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            break;
        done += (size_t)w;
        for (int i = 0; i < 2; i++) { /* skip what was written */
            size_t k = (size_t)w < iov[i].iov_len ? (size_t)w : iov[i].iov_len;
            iov[i].iov_base = (char *)iov[i].iov_base + k;
            iov[i].iov_len -= k;
            w -= (ssize_t)k;
        }
    }
    if (done == 0 && n) {
        raw_lost += n;
    } else if (done < want) {
        /* Cut short (disk full): the file cannot be read back past here. */
        raw_lost += n;
        __atomic_store_n(&raw_fd, -1, __ATOMIC_RELAXED);
    }
}

/* Spill every full chunk queued so far, oldest first, and hand each back
 * to its thread. */
static void drain_full(void)
{
    struct tchunk *c = __atomic_exchange_n(&fullq, NULL, __ATOMIC_ACQUIRE);
    struct tchunk *rev = NULL;
    uint32_t k = 0;
    while (c) {
        struct tchunk *nx = c->next;
        c->next = rev;
        rev = c;
        c = nx;
        k++;
    }
    while (rev) {
        struct tchunk *nx = rev->next;
        if (raw_fd >= 0)
            spill(rev->owner, rev->rec, rev->n);
        else
            raw_lost += rev->n;
        /* Back to its owner for reuse. */
        struct tbuf *o = rev->owner;
        rev->next = __atomic_load_n(&o->returned, __ATOMIC_RELAXED);
        while (!__atomic_compare_exchange_n(&o->returned, &rev->next, rev, true,
                                            __ATOMIC_RELEASE, __ATOMIC_RELAXED))
            ;
        rev = nx;
    }
    __atomic_sub_fetch(&npending, k, __ATOMIC_RELAXED);
}

/* Read the spill file back and write the JSON events. A static buffer,
 * read a piece of a chunk at a time: this also runs on a dying thread
 * (trace_dying), which must not call malloc. Under wlock. */
#define CONVERT_RECS 512
static struct trec convbuf[CONVERT_RECS];

static void convert(void)
{
    if (raw_fd < 0 || lseek(raw_fd, 0, SEEK_SET) != 0)
        return;
    struct rawhdr h;
    while (read(raw_fd, &h, sizeof h) == (ssize_t)sizeof h && h.n <= TRACE_CHUNK) {
        for (uint64_t left = h.n; left > 0;) {
            size_t k = left < CONVERT_RECS ? (size_t)left : CONVERT_RECS;
            size_t want = k * sizeof convbuf[0], got = 0;
            while (got < want) {
                ssize_t r = read(raw_fd, (char *)convbuf + got, want - got);
                if (r < 0 && errno == EINTR)
                    continue;
                if (r <= 0)
                    break;
                got += (size_t)r;
            }
            for (size_t i = 0; i < got / sizeof convbuf[0]; i++)
                format_rec(h.owner, &convbuf[i]);
            if (got < want)
                return;
            left -= k;
        }
    }
}

static void *writer_main(void *arg)
{
    (void)arg;
    pthread_setname_np(pthread_self(), "gort-trace");
    while (!__atomic_load_n(&writer_stop, __ATOMIC_ACQUIRE)) {
        struct timespec ts = {0, 5 * 1000 * 1000};
        nanosleep(&ts, NULL);
        pthread_mutex_lock(&wlock);
        drain_full();
        pthread_mutex_unlock(&wlock);
    }
    return NULL;
}

/* Write everything recorded and close FILE: spill what waits in the full
 * list and every thread's current chunk (up to its published count),
 * format the spill file, close the open slices, write the tail. Under
 * wlock, with trace_done set. how/msg: the death being reported, shown as
 * a last instant on the dying thread's track (trace_dying), or NULL. */
static void finish_locked(const char *how, const char *msg)
{
    drain_full();
    uint64_t dropped = 0;
    int nbufs = 0;
    for (struct tbuf *b = __atomic_load_n(&allbufs, __ATOMIC_ACQUIRE); b; b = b->next) {
        struct tchunk *c = __atomic_load_n(&b->cur, __ATOMIC_ACQUIRE);
        if (c && raw_fd >= 0)
            spill(b, c->rec, __atomic_load_n(&c->n, __ATOMIC_ACQUIRE));
        dropped += __atomic_load_n(&b->dropped, __ATOMIC_RELAXED);
        nbufs++;
    }
    convert();
    dropped += raw_lost;
    if (raw_fd >= 0)
        close(raw_fd);
    raw_fd = -1;
    struct tbuf proc = {.tid = 0};
    if (how) {
        /* Now, on the dying thread's track if it has one: what was
         * running when the process died ran until this moment. */
        uint64_t now = (ticks() - ts0) & 0x00ffffffffffffffULL;
        if (now > last_ts)
            last_ts = now;
        struct tbuf *me = my_buf, mine = {.tid = 0};
        if (!me) {
            /* A thread that recorded nothing: a track of its own, named
             * by hand (no snprintf here). */
            me = &mine;
            m_t *m = sched_tls_m;
            int64_t id = m ? m->id
                           : PLAIN_TID0 + __atomic_add_fetch(&nplainbufs, 1, __ATOMIC_RELAXED);
            mine.tid = id;
            char d[24];
            int j = (int)sizeof d - 1;
            d[j] = 0;
            do
                d[--j] = (char)('0' + id % 10);
            while ((id /= 10) > 0 && j > 0);
            strcpy(mine.name, m ? "M" : "thread ");
            strcat(mine.name, d + j);
        }
        if (!me->named)
            name_track(me);
        char m[200];
        instant(me, last_ts, how);
        ps("\"message\":\"");
        ps(json_str(m, sizeof m, msg));
        ps("\"}}");
    }
    for (struct tbuf *b = __atomic_load_n(&allbufs, __ATOMIC_ACQUIRE); b; b = b->next)
        close_slice(b, last_ts);
    ev_begin();
    ps("\"ph\":\"M\",\"name\":\"process_name\"");
    pid_tid(&proc);
    ps(",\"args\":{\"name\":\"libgoroutine\"}}");
    ev_begin();
    ps("\"ph\":\"M\",\"name\":\"trace_dropped\"");
    pid_tid(&proc);
    ps(",\"args\":{\"dropped_events\":");
    pu(dropped);
    ps("}}");
    if (olen + EV_MAX > sizeof obuf)
        out_flush();
    ps("\n],\n\"displayTimeUnit\":\"ns\",\n\"otherData\":{\"dropped_events\":");
    pu(dropped);
    ps(",\"threads\":");
    pi(nbufs);
    ps(",\"ticks_per_ms\":");
    pu((uint64_t)(ticks_per_us * 1000.0));
    ps("}}\n");
    out_flush();
    close(trace_fd);
    trace_fd = -1;
}

/* At exit: stop recording, stop the writer, write the rest and close. */
static void trace_finish(void)
{
    if (!trace_on || getpid() != trace_pid ||
        __atomic_exchange_n(&trace_done, 1, __ATOMIC_SEQ_CST))
        return;
    if (writer_started && !pthread_equal(pthread_self(), writer)) {
        __atomic_store_n(&writer_stop, 1, __ATOMIC_RELEASE);
        pthread_join(writer, NULL);
        writer_started = false;
    }
    pthread_mutex_lock(&wlock);
    finish_locked(NULL, NULL);
    pthread_mutex_unlock(&wlock);
}

#define DYING_WAIT_MS 2000

void trace_dying(const char *how, const char *msg)
{
    if (!trace_on || getpid() != trace_pid ||
        __atomic_exchange_n(&trace_done, 1, __ATOMIC_SEQ_CST))
        return; /* not tracing, a forked child, or finished or finishing */
    /* The writer is not joined (it may be what is stuck): wait for it to
     * let go of wlock, which it holds only while spilling, and keep it
     * out from then on. Nobody else can hold it: trace_done was clear, so
     * no finish has begun, and the writer takes no signals. A trylock on
     * a mutex that this thread cannot hold does not block. */
    int waited = 0;
    while (pthread_mutex_trylock(&wlock) != 0) {
        if (++waited > DYING_WAIT_MS)
            return;
        struct timespec ts = {0, 1000000};
        nanosleep(&ts, NULL);
    }
    finish_locked(how, msg);
    pthread_mutex_unlock(&wlock);
}

static void calibrate(void)
{
#if defined(__x86_64__) || defined(__aarch64__)
    int64_t n0 = nanotime();
    uint64_t t0 = ticks();
    int64_t n1;
    do
        n1 = nanotime();
    while (n1 - n0 < 5 * 1000 * 1000);
    uint64_t t1 = ticks();
    if (t1 > t0)
        ticks_per_us = (double)(t1 - t0) * 1000.0 / (double)(n1 - n0);
#endif
}

void trace_init(void)
{
    const char *path = getenv("GOROUTINE_TRACE");
    if (!path || !*path)
        return;
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0) {
        fprintf(stderr, "libgoroutine: GOROUTINE_TRACE=%s: %s; not tracing\n", path,
                strerror(errno));
        return;
    }
    /* The spill file, next to the trace, unlinked at once: it needs no
     * cleaning up, whatever happens to the process. */
    size_t pl = strlen(path);
    char *raw = malloc(pl + sizeof ".raw");
    if (raw) {
        memcpy(raw, path, pl);
        memcpy(raw + pl, ".raw", sizeof ".raw");
        raw_fd = open(raw, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
        if (raw_fd >= 0)
            unlink(raw);
        free(raw);
    }
    if (raw_fd < 0) {
        fprintf(stderr, "libgoroutine: GOROUTINE_TRACE=%s: cannot create %s.raw: %s; not tracing\n",
                path, path, strerror(errno));
        close(fd);
        return;
    }
    trace_fd = fd;
    trace_pid = (int)getpid();
    calibrate();
    ts0 = ticks();
    ns_mult = (uint64_t)(1000.0 / ticks_per_us * 4294967296.0);
    ps("{\"traceEvents\":[");
    pthread_attr_t attr;
    pthread_attr_init(&attr);
    sigset_t all, old;
    sigfillset(&all);
    pthread_sigmask(SIG_SETMASK, &all, &old); /* the writer takes no signals */
    if (pthread_create(&writer, &attr, writer_main, NULL) == 0) {
        writer_started = true;
        /* Known to deadlock detection, which counts the process's threads. */
        __atomic_add_fetch(&sched.nruntime_threads, 1, __ATOMIC_RELAXED);
    }
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    pthread_attr_destroy(&attr);
    trace_on = 1; /* before any M exists: see trace.h */
    atexit(trace_finish);
}
