/*
 * fuzz_chan - channel and select operations read from the fuzz input and
 * checked, one by one, against a model of Go's semantics.
 *
 * Mechanism. The input is a program: a byte picks an operation, the next
 * bytes its channel slot and arguments. Four slots hold channels (an
 * unmade slot is Go's nil channel); the model keeps, per slot, the element
 * size, capacity, closed flag and the buffered values in order. After each
 * operation the library's answer (returned value, element written, ok
 * flag, len, cap) must equal the model's, and elements and ok flags a call
 * must not write (those of cases a select did not choose, or of a receive
 * that did not happen) must keep their sentinel bytes.
 *
 * Exactness. The model is exact because the interpreter is the only actor
 * on the channels, except for partner goroutines whose effect is fixed:
 * a partner that receives k values while the interpreter sends k gets the
 * first k of (buffer, then the sent values) whatever the interleaving, and
 * symmetrically for a partner that sends; a partner blocked on an empty
 * channel that the interpreter closes gets (zero, false). Partners are
 * joined (go_wg_wait) before the next operation. Non-blocking operations
 * (try_send/try_recv, the *_timeout calls with timeouts <= 0,
 * go_select_try) on an unbuffered channel with no partner never proceed.
 * Blocking calls are made only when the model says they return at once
 * (a value or room is there) or a partner will complete them. Timed calls
 * with a positive timeout are made only where nothing can become ready, so
 * they must time out (among them the selects with only nil channels or
 * no cases at all, which once crashed the runtime).
 *
 * The interpreter runs on the fuzzer's own thread (a plain thread, which
 * sleeps on a futex when it blocks) or, if the first input byte is odd,
 * in a goroutine the thread waits for: both paths of every call.
 *
 * Not done: operations that are fatal in Go (send on or close of a closed
 * channel, close of nil, free with blocked goroutines) would end the
 * fuzzing process; the interpreter avoids them (tests/test_chan_death.c
 * checks their messages). Multiple concurrent partners on one channel are
 * left out: which of them gets which value is then not fixed.
 */
#include <goroutine.h>

#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define NSLOT 4
#define MAXCAP 5
#define MAXELEM 16
#define MAXCASES 6
#define SENTINEL 0xA5
#define BIG_TIMEOUT (60LL * 1000000000) /* never reached: a hang is a bug */

/* An ok flag with room for a sentinel: the library writes .b (a bool, as
 * through any bool *); .u tells whether it did, without reading a bool
 * that holds neither 0 nor 1. */
union okbox {
    bool b;
    uint8_t u;
};

struct slot {
    go_chan *c; /* NULL: nil channel */
    size_t esz, cap;
    bool closed;
    size_t len, head;
    uint8_t buf[MAXCAP][MAXELEM];
};

struct input {
    const uint8_t *p;
    size_t n;
};

static struct slot slots[NSLOT];
static uint32_t seq; /* makes every sent value distinct (per input) */

static const size_t esizes[] = {0, 1, 4, 8, 13, 16};

static unsigned take(struct input *in)
{
    if (!in->n)
        return 0;
    in->n--;
    return *in->p++;
}

#include "fuzz_check.h"

/* A fresh value: the sequence number, then filler, never all zero. */
static void make_value(uint8_t *v, size_t esz)
{
    uint32_t s = ++seq;
    for (size_t i = 0; i < esz; i++)
        v[i] = (uint8_t)((i < 4 ? s >> (8 * i) : s * 7 + i) | (i == 0));
}

static bool is_sentinel(const uint8_t *v, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (v[i] != SENTINEL)
            return false;
    return true;
}

/* ---- the model ---- */

static bool m_can_send(const struct slot *s)
{
    return s->c && !s->closed && s->len < s->cap;
}

static bool m_can_recv(const struct slot *s)
{
    return s->c && (s->len > 0 || s->closed);
}

static void m_push(struct slot *s, const uint8_t *v)
{
    memcpy(s->buf[(s->head + s->len) % s->cap], v, s->esz);
    s->len++;
}

/* Receive per the model into want; returns ok. */
static bool m_pop(struct slot *s, uint8_t *want)
{
    if (s->len == 0) {
        memset(want, 0, s->esz);
        return false;
    }
    memcpy(want, s->buf[s->head], s->esz);
    s->head = (s->head + 1) % s->cap;
    s->len--;
    return true;
}

static void check_lencap(int i)
{
    struct slot *s = &slots[i];
    CHECK(go_chan_len(s->c) == s->len, "slot %d len %zu want %zu", i, go_chan_len(s->c), s->len);
    CHECK(go_chan_cap(s->c) == (s->c ? s->cap : 0), "slot %d cap %zu", i, go_chan_cap(s->c));
}

/* After a receive that the model says completed. */
static void check_received(int i, bool ok, const uint8_t *got, bool want_ok, const uint8_t *want)
{
    CHECK(ok == want_ok, "slot %d recv ok %d want %d", i, ok, want_ok);
    CHECK(memcmp(got, want, slots[i].esz) == 0, "slot %d recv value differs", i);
    CHECK(is_sentinel(got + slots[i].esz, MAXELEM - slots[i].esz),
          "slot %d recv wrote past the element", i);
}

/* ---- operations ---- */

static void op_make(struct input *in)
{
    int i = take(in) % NSLOT;
    struct slot *s = &slots[i];
    go_chan_free(s->c);
    memset(s, 0, sizeof *s);
    unsigned a = take(in);
    if (a % 8 == 7)
        return; /* back to nil */
    s->esz = esizes[a % 6];
    s->cap = take(in) % (MAXCAP + 1);
    s->c = go_chan_make(s->esz, s->cap);
    CHECK(s->c, "go_chan_make(%zu, %zu): errno %d", s->esz, s->cap, errno);
}

/* Non-blocking send, in one of three spellings. */
static void op_try_send(struct input *in)
{
    int i = take(in) % NSLOT;
    struct slot *s = &slots[i];
    if (s->closed)
        return; /* fatal in Go */
    unsigned how = take(in) % 4;
    uint8_t v[MAXELEM];
    make_value(v, s->esz);
    bool want = m_can_send(s), got;
    const void *ep = s->esz ? v : (how & 1 ? NULL : v);
    if (how == 0 || how == 1)
        got = go_chan_try_send(s->c, ep);
    else {
        int r = go_chan_send_timeout(s->c, ep, how == 2 ? 0 : -(int64_t)take(in) - 1);
        CHECK(r == 0 || r == -ETIMEDOUT, "send_timeout returned %d", r);
        got = r == 0;
    }
    CHECK(got == want, "slot %d try_send %d want %d (len %zu cap %zu)", i, got, want, s->len, s->cap);
    if (got)
        m_push(s, v);
    check_lencap(i);
}

static void op_try_recv(struct input *in)
{
    int i = take(in) % NSLOT;
    struct slot *s = &slots[i];
    unsigned how = take(in) % 4;
    uint8_t got[MAXELEM], want[MAXELEM];
    memset(got, SENTINEL, sizeof got);
    union okbox ok = {.u = SENTINEL};
    bool done, can = m_can_recv(s);
    bool *okp = how & 1 ? &ok.b : NULL;
    if (how < 2)
        done = go_chan_try_recv(s->c, got, okp);
    else {
        int r = go_chan_recv_timeout(s->c, got, okp, how == 2 ? 0 : INT64_MIN);
        CHECK(r == 0 || r == -ETIMEDOUT, "recv_timeout returned %d", r);
        done = r == 0;
    }
    CHECK(done == can, "slot %d try_recv %d want %d", i, done, can);
    if (done) {
        bool want_ok = m_pop(s, want);
        CHECK(!okp || ok.u <= 1, "try_recv did not set ok");
        check_received(i, okp ? ok.b : want_ok, got, want_ok, want);
    } else {
        CHECK(is_sentinel(got, sizeof got), "failed try_recv wrote elem");
        CHECK(ok.u == SENTINEL, "failed try_recv wrote ok");
    }
    check_lencap(i);
}

/* Blocking send or receive, made only when it completes at once. */
static void op_blocking(struct input *in)
{
    int i = take(in) % NSLOT;
    struct slot *s = &slots[i];
    unsigned how = take(in);
    uint8_t v[MAXELEM], want[MAXELEM];
    if (how & 1) {
        if (!m_can_send(s))
            return;
        make_value(v, s->esz);
        if (how & 2)
            go_chan_send(s->c, v);
        else
            CHECK(go_chan_send_timeout(s->c, v, BIG_TIMEOUT) == 0, "send_timeout with room");
        m_push(s, v);
    } else {
        if (!m_can_recv(s))
            return;
        bool ok;
        memset(v, SENTINEL, sizeof v);
        if (how & 2)
            ok = go_chan_recv(s->c, v);
        else
            CHECK(go_chan_recv_timeout(s->c, v, &ok, BIG_TIMEOUT) == 0, "recv_timeout ready");
        bool want_ok = m_pop(s, want);
        check_received(i, ok, v, want_ok, want);
    }
    check_lencap(i);
}

static void op_close(struct input *in)
{
    int i = take(in) % NSLOT;
    struct slot *s = &slots[i];
    if (!s->c || s->closed)
        return; /* fatal in Go */
    go_chan_close(s->c);
    s->closed = true;
    check_lencap(i);
}

static void op_lencap(struct input *in)
{
    check_lencap(take(in) % NSLOT);
}

/* A select of up to MAXCASES cases on the slots (nil ones included). */
static void op_select(struct input *in)
{
    go_select_case cases[MAXCASES];
    uint8_t elems[MAXCASES][MAXELEM];
    union okbox oks[MAXCASES];
    int slot_of[MAXCASES];
    size_t n = take(in) % (MAXCASES + 1);
    unsigned how = take(in) % 4; /* 0 try, 1 timeout 0, 2 timeout < 0, 3 blocking */
    int nready = 0;
    /* Readiness counts each case on the state before the select: only
     * one case runs, so duplicates of a channel do not interact. */
    bool ready[MAXCASES];
    for (size_t k = 0; k < n; k++) {
        unsigned b = take(in);
        int i = b % NSLOT;
        struct slot *s = &slots[i];
        slot_of[k] = i;
        memset(elems[k], SENTINEL, MAXELEM);
        oks[k].u = SENTINEL;
        bool send = b & 4;
        if (send && s->closed) /* a chosen send on a closed channel is fatal */
            send = false;
        if (send) {
            make_value(elems[k], s->esz);
            cases[k] = GO_SEND(s->c, elems[k]);
            ready[k] = m_can_send(s);
        } else {
            cases[k] = GO_RECV(s->c, b & 8 ? NULL : elems[k], b & 16 ? NULL : &oks[k].b);
            ready[k] = m_can_recv(s);
        }
        nready += ready[k];
    }
    if (how == 3 && nready == 0)
        how = 0; /* would block forever */
    int r;
    switch (how) {
    case 0:
        r = go_select_try(cases, n);
        CHECK(nready ? r >= 0 : r == -1, "select_try %d, %d ready", r, nready);
        break;
    case 1:
    case 2:
        r = go_select_timeout(cases, n, how == 1 ? 0 : -1 - (int64_t)take(in));
        CHECK(nready ? r >= 0 : r == -ETIMEDOUT, "select_timeout %d, %d ready", r, nready);
        break;
    default:
        r = go_select(cases, n);
        CHECK(r >= 0, "select %d", r);
        break;
    }
    for (size_t k = 0; k < n; k++) {
        if ((int)k == r)
            continue;
        if (cases[k].dir == GO_SELECT_RECV)
            CHECK(is_sentinel(elems[k], MAXELEM) && oks[k].u == SENTINEL,
                  "select wrote case %zu it did not choose (%d)", k, r);
    }
    if (r < 0)
        return;
    CHECK((size_t)r < n && ready[r], "select chose case %d, not ready", r);
    int i = slot_of[r];
    struct slot *s = &slots[i];
    if (cases[r].dir == GO_SELECT_SEND) {
        m_push(s, elems[r]);
    } else {
        uint8_t want[MAXELEM];
        bool want_ok = m_pop(s, want);
        if (cases[r].ok)
            CHECK(oks[r].u == want_ok, "select ok %u want %d", oks[r].u, want_ok);
        else
            CHECK(oks[r].u == SENTINEL, "select wrote ok through a NULL pointer's box");
        if (cases[r].elem)
            check_received(i, want_ok, elems[r], want_ok, want);
        else
            CHECK(is_sentinel(elems[r], MAXELEM), "select wrote a NULL elem's buffer");
    }
    check_lencap(i);
}

/* Timed calls that cannot complete: nothing is ready and no one else
 * touches the channels, so each must time out (a few microseconds). */
static void op_timeout(struct input *in)
{
    int i = take(in) % NSLOT;
    struct slot *s = &slots[i];
    unsigned how = take(in) % 4;
    int64_t t = 1 + take(in) * 20;
    uint8_t v[MAXELEM];
    memset(v, SENTINEL, sizeof v);
    int r;
    switch (how) {
    case 0:
        if (m_can_send(s) || s->closed)
            return;
        r = go_chan_send_timeout(s->c, v, t);
        break;
    case 1:
        if (m_can_recv(s))
            return;
        r = go_chan_recv_timeout(s->c, v, NULL, t);
        CHECK(is_sentinel(v, sizeof v), "timed-out recv wrote elem");
        break;
    case 2:
        r = go_select_timeout(NULL, 0, t);
        break;
    default: {
        go_select_case cs[3] = {GO_RECV(NULL, v, NULL), GO_SEND(NULL, v), GO_RECV(NULL, NULL, NULL)};
        r = go_select_timeout(cs, 1 + take(in) % 3, t);
        break;
    }
    }
    CHECK(r == -ETIMEDOUT, "timed call on slot %d (how %u) returned %d", i, how, r);
    check_lencap(i);
}

/* ---- partners ---- */

struct partner {
    go_chan *c;
    size_t esz;
    unsigned k, how;
    bool send;
    uint8_t vals[8][MAXELEM]; /* send: what to send; recv: what came */
    bool oks[8];
    go_wg wg;
};

static void partner_run(void *arg)
{
    struct partner *p = arg;
    for (unsigned j = 0; j < p->k; j++) {
        go_select_case cs[2];
        unsigned how = (p->how >> (2 * (j % 4))) % 4;
        if (p->send) {
            switch (how) {
            case 0:
                go_chan_send(p->c, p->vals[j]);
                break;
            case 1:
                CHECK(go_chan_send_timeout(p->c, p->vals[j], BIG_TIMEOUT) == 0, "partner send");
                break;
            default:
                cs[0] = GO_SEND(NULL, p->vals[j]);
                cs[1] = GO_SEND(p->c, p->vals[j]);
                CHECK((how == 2 ? go_select(cs, 2) : go_select_timeout(cs, 2, BIG_TIMEOUT)) == 1,
                      "partner select send");
            }
        } else {
            switch (how) {
            case 0:
                p->oks[j] = go_chan_recv(p->c, p->vals[j]);
                break;
            case 1:
                CHECK(go_chan_recv_timeout(p->c, p->vals[j], &p->oks[j], BIG_TIMEOUT) == 0,
                      "partner recv");
                break;
            default:
                cs[0] = GO_RECV(p->c, p->vals[j], &p->oks[j]);
                cs[1] = GO_RECV(NULL, NULL, NULL);
                CHECK((how == 2 ? go_select(cs, 2) : go_select_timeout(cs, 2, BIG_TIMEOUT)) == 0,
                      "partner select recv");
            }
        }
    }
    go_wg_done(&p->wg);
}

/* A partner goroutine sends (or receives) k values while the interpreter
 * receives (or sends) k; or, on an open empty channel, a receiving
 * partner blocks and the interpreter closes the channel under it. */
static void op_partner(struct input *in)
{
    int i = take(in) % NSLOT;
    struct slot *s = &slots[i];
    unsigned a = take(in);
    if (!s->c || s->closed)
        return;
    static struct partner p;
    memset(&p, 0, sizeof p);
    p.c = s->c;
    p.esz = s->esz;
    p.send = a & 1;
    p.k = 1 + (a >> 1) % 8;
    p.how = take(in) | take(in) << 8;
    bool closing = (a >> 4) % 4 == 0 && !p.send && s->len == 0;
    if (closing)
        p.k = 1;
    memset(p.vals, SENTINEL, sizeof p.vals);
    if (p.send)
        for (unsigned j = 0; j < p.k; j++)
            make_value(p.vals[j], p.esz);
    go_wg_add(&p.wg, 1);
    CHECK(go(partner_run, &p) == 0, "go");

    uint8_t mine[8][MAXELEM];
    unsigned how = take(in);
    if (closing) {
        if (how & 1)
            go_yield();
        go_chan_close(s->c);
        s->closed = true;
        go_wg_wait(&p.wg);
        uint8_t zero[MAXELEM] = {0};
        check_received(i, p.oks[0], p.vals[0], false, zero);
        check_lencap(i);
        return;
    }
    /* The values the interpreter's side moves, in order. */
    for (unsigned j = 0; j < p.k; j++) {
        go_select_case cs[2];
        unsigned h = (how >> (j % 4 * 2)) % 4;
        if (p.send) {
            bool ok = true;
            memset(mine[j], SENTINEL, MAXELEM);
            switch (h) {
            case 0:
                ok = go_chan_recv(s->c, mine[j]);
                break;
            case 1:
                CHECK(go_chan_recv_timeout(s->c, mine[j], &ok, BIG_TIMEOUT) == 0, "recv");
                break;
            default:
                cs[0] = GO_RECV(NULL, NULL, NULL);
                cs[1] = GO_RECV(s->c, mine[j], &ok);
                CHECK((h == 2 ? go_select(cs, 2) : go_select_timeout(cs, 2, BIG_TIMEOUT)) == 1,
                      "select recv");
            }
            CHECK(ok, "recv from partner: closed?");
        } else {
            make_value(mine[j], s->esz);
            switch (h) {
            case 0:
                go_chan_send(s->c, mine[j]);
                break;
            case 1:
                CHECK(go_chan_send_timeout(s->c, mine[j], BIG_TIMEOUT) == 0, "send");
                break;
            default:
                cs[0] = GO_SEND(s->c, mine[j]);
                cs[1] = GO_SEND(NULL, mine[j]);
                CHECK((h == 2 ? go_select(cs, 2) : go_select_timeout(cs, 2, BIG_TIMEOUT)) == 0,
                      "select send");
            }
        }
    }
    go_wg_wait(&p.wg);
    /* The receiver got the first k of (buffer, then the sender's values);
     * the rest of that sequence is the new buffer. */
    uint8_t (*sent)[MAXELEM] = p.send ? p.vals : mine;
    uint8_t (*got)[MAXELEM] = p.send ? mine : p.vals;
    uint8_t seqv[MAXCAP + 8][MAXELEM];
    size_t total = 0;
    uint8_t want[MAXELEM];
    while (s->len) {
        m_pop(s, want);
        memcpy(seqv[total++], want, MAXELEM);
    }
    for (unsigned j = 0; j < p.k; j++)
        memcpy(seqv[total++], sent[j], MAXELEM);
    for (unsigned j = 0; j < p.k; j++) {
        if (!p.send)
            CHECK(p.oks[j], "partner recv %u: closed?", j);
        check_received(i, true, got[j], true, seqv[j]);
    }
    for (size_t j = p.k; j < total; j++)
        m_push(s, seqv[j]);
    check_lencap(i);
}

/* ---- the interpreter ---- */

static void (*const ops[])(struct input *) = {
    op_make, op_try_send, op_try_recv, op_blocking, op_close,
    op_lencap, op_select, op_timeout, op_partner,
    /* the frequent ones again: most inputs should move values */
    op_try_send, op_try_recv, op_select, op_make,
};
#define NOPS (sizeof ops / sizeof ops[0])

static void interpret(struct input *in)
{
    memset(slots, 0, sizeof slots);
    seq = 0;
    for (unsigned steps = 0; in->n && steps < 256; steps++) {
        unsigned op = take(in);
        ops[op % NOPS](in);
    }
    for (int i = 0; i < NSLOT; i++)
        go_chan_free(slots[i].c);
}

struct run {
    struct input in;
    go_wg wg;
};

static void run_goroutine(void *arg)
{
    struct run *r = arg;
    interpret(&r->in);
    go_wg_done(&r->wg);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    if (!getenv("GOMAXPROCS"))
        go_maxprocs(2);
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size == 0)
        return 0;
    struct run r = {.in = {data + 1, size - 1}};
    if (data[0] & 1) {
        go_wg_add(&r.wg, 1);
        CHECK(go(run_goroutine, &r) == 0, "go");
        go_wg_wait(&r.wg);
    } else {
        interpret(&r.in);
    }
    return 0;
}
