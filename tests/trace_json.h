/*
 * trace_json.h - for the tests of the execution trace: a strict JSON
 * checker, and readers of the fields of one event line (trace.c writes
 * one event per line).
 */
#ifndef GO_TEST_TRACE_JSON_H
#define GO_TEST_TRACE_JSON_H

#include <ctype.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- a strict JSON checker (RFC 8259) -------------------------------------- */

struct js {
    const char *p, *end;
    int depth;
};

static void ws(struct js *j)
{
    while (j->p < j->end && (*j->p == ' ' || *j->p == '\t' || *j->p == '\n' || *j->p == '\r'))
        j->p++;
}

static bool value(struct js *j);

static bool string(struct js *j)
{
    if (j->p >= j->end || *j->p != '"')
        return false;
    j->p++;
    while (j->p < j->end && *j->p != '"') {
        unsigned char c = (unsigned char)*j->p;
        if (c < 0x20)
            return false;
        if (c == '\\') {
            j->p++;
            if (j->p >= j->end)
                return false;
            if (*j->p == 'u') {
                for (int i = 1; i <= 4; i++)
                    if (j->p + i >= j->end || !isxdigit((unsigned char)j->p[i]))
                        return false;
                j->p += 4;
            } else if (!strchr("\"\\/bfnrt", *j->p)) {
                return false;
            }
        }
        j->p++;
    }
    if (j->p >= j->end)
        return false;
    j->p++;
    return true;
}

static bool number(struct js *j)
{
    const char *s = j->p;
    if (j->p < j->end && *j->p == '-')
        j->p++;
    if (j->p >= j->end || !isdigit((unsigned char)*j->p))
        return false;
    if (*j->p == '0')
        j->p++;
    else
        while (j->p < j->end && isdigit((unsigned char)*j->p))
            j->p++;
    if (j->p < j->end && *j->p == '.') {
        j->p++;
        if (j->p >= j->end || !isdigit((unsigned char)*j->p))
            return false;
        while (j->p < j->end && isdigit((unsigned char)*j->p))
            j->p++;
    }
    if (j->p < j->end && (*j->p == 'e' || *j->p == 'E')) {
        j->p++;
        if (j->p < j->end && (*j->p == '+' || *j->p == '-'))
            j->p++;
        if (j->p >= j->end || !isdigit((unsigned char)*j->p))
            return false;
        while (j->p < j->end && isdigit((unsigned char)*j->p))
            j->p++;
    }
    return j->p > s;
}

static bool lit(struct js *j, const char *w)
{
    size_t n = strlen(w);
    if ((size_t)(j->end - j->p) < n || memcmp(j->p, w, n) != 0)
        return false;
    j->p += n;
    return true;
}

static bool seq(struct js *j, char close, bool obj)
{
    j->p++;
    if (++j->depth > 64)
        return false;
    ws(j);
    if (j->p < j->end && *j->p == close) {
        j->p++;
        j->depth--;
        return true;
    }
    for (;;) {
        ws(j);
        if (obj) {
            if (!string(j))
                return false;
            ws(j);
            if (j->p >= j->end || *j->p++ != ':')
                return false;
            ws(j);
        }
        if (!value(j))
            return false;
        ws(j);
        if (j->p >= j->end)
            return false;
        if (*j->p == ',') {
            j->p++;
            continue;
        }
        if (*j->p != close)
            return false;
        j->p++;
        j->depth--;
        return true;
    }
}

static bool value(struct js *j)
{
    if (j->p >= j->end)
        return false;
    switch (*j->p) {
    case '{':
        return seq(j, '}', true);
    case '[':
        return seq(j, ']', false);
    case '"':
        return string(j);
    case 't':
        return lit(j, "true");
    case 'f':
        return lit(j, "false");
    case 'n':
        return lit(j, "null");
    default:
        return number(j);
    }
}

static bool json_valid(const char *s, size_t n)
{
    struct js j = {s, s + n, 0};
    ws(&j);
    if (j.p >= j.end || *j.p != '{')
        return false; /* the object form: {"traceEvents": [...], ...} */
    if (!value(&j))
        return false;
    ws(&j);
    return j.p == j.end;
}

/* ---- reading the events (one per line, as trace.c writes them) -------------- */

/* The string value of "key" in line, into buf; false if absent. */
static bool str_field(const char *line, const char *key, char *buf, size_t cap)
{
    char pat[64];
    snprintf(pat, sizeof pat, "\"%s\":\"", key);
    const char *s = strstr(line, pat);
    if (!s)
        return false;
    s += strlen(pat);
    const char *e = strchr(s, '"');
    if (!e || (size_t)(e - s) >= cap)
        return false;
    memcpy(buf, s, (size_t)(e - s));
    buf[e - s] = 0;
    return true;
}

static bool num_field(const char *line, const char *key, double *v)
{
    char pat[64];
    snprintf(pat, sizeof pat, "\"%s\":", key);
    const char *s = strstr(line, pat);
    if (!s)
        return false;
    char *end;
    *v = strtod(s + strlen(pat), &end);
    return end != s + strlen(pat);
}

/* ---- what a check collects: per-goroutine counts, tracks, slices ---- */

#define MAXG 4096 /* goroutine ids a check can follow */
#define MAXTID 256
#define MAXSLICES 200000

struct slice {
    double ts, dur;
    long tid;
};

static int spawned[MAXG], ran[MAXG], blocks[MAXG], unblocks[MAXG];
static long named_tids[MAXTID], used_tids[MAXTID];
static int nnamed, nused;
static struct slice slices[MAXSLICES];
static int nslices;

static void note_tid(long *set, int *n, long tid)
{
    for (int i = 0; i < *n; i++)
        if (set[i] == tid)
            return;
    CHECK(*n < MAXTID);
    set[(*n)++] = tid;
}

static bool has_tid(const long *set, int n, long tid)
{
    for (int i = 0; i < n; i++)
        if (set[i] == tid)
            return true;
    return false;
}

static int by_tid_ts(const void *a, const void *b)
{
    const struct slice *x = a, *y = b;
    if (x->tid != y->tid)
        return x->tid < y->tid ? -1 : 1;
    return x->ts < y->ts ? -1 : x->ts > y->ts;
}

/* One line of the trace, for the caller's own checks. */
struct trace_ev {
    char name[128];
    double ts, tid, dur; /* dur: slices only */
};

/*
 * Checks and takes in one line of the trace: metadata (thread names; the
 * dropped-events count, which must be 0, setting *dropped_seen) and
 * goroutine slices (counted in ran[], kept in slices[]) are handled here.
 * Returns 0 for a line that is no event or metadata, 'X' for a slice and
 * 'i' for an instant, which the caller goes on to examine (ev filled in).
 */
static int trace_line(char *line, struct trace_ev *ev, bool *dropped_seen)
{
    if (line[0] != '{' || strncmp(line, "{\"traceEvents\"", 14) == 0)
        return 0;
    char ph[8];
    double g = -1;
    ev->tid = ev->ts = ev->dur = -1;
    CHECK(str_field(line, "ph", ph, sizeof ph));
    CHECK(str_field(line, "name", ev->name, sizeof ev->name));
    num_field(line, "tid", &ev->tid);
    if (strcmp(ph, "M") == 0) {
        if (strcmp(ev->name, "thread_name") == 0)
            note_tid(named_tids, &nnamed, (long)ev->tid);
        if (strcmp(ev->name, "trace_dropped") == 0) {
            double d = -1;
            CHECK(num_field(line, "dropped_events", &d));
            CHECK_EQ(d, 0);
            *dropped_seen = true;
        }
        return 0;
    }
    CHECK(num_field(line, "ts", &ev->ts));
    CHECK(ev->ts >= 0);
    CHECK(ev->tid >= 0);
    note_tid(used_tids, &nused, (long)ev->tid);
    if (strcmp(ph, "X") == 0) {
        CHECK(num_field(line, "dur", &ev->dur));
        CHECK(ev->dur >= 0);
        CHECK(num_field(line, "g", &g));
        CHECK(g > 0 && g < MAXG);
        ran[(int)g]++;
        CHECK(ev->name[0] == 'G');
        CHECK(nslices < MAXSLICES);
        slices[nslices++] = (struct slice){ev->ts, ev->dur, (long)ev->tid};
        return 'X';
    }
    CHECK(strcmp(ph, "i") == 0);
    return 'i';
}

static int nspawn, nrecv, nsleep; /* spawns; blocks in a receive, in a sleep */

/* Forget what an earlier check collected. */
static void trace_reset(void)
{
    memset(spawned, 0, sizeof spawned);
    memset(ran, 0, sizeof ran);
    memset(blocks, 0, sizeof blocks);
    memset(unblocks, 0, sizeof unblocks);
    nnamed = nused = nslices = 0;
    nspawn = nrecv = nsleep = 0;
}

/* Takes in a goroutine's spawn, block or unblock instant (each spawned
 * once; counts per goroutine); false for any other instant. */
static bool trace_g_instant(const char *line, const char *name)
{
    double g = -1;
    if (strcmp(name, "spawn") == 0) {
        CHECK(num_field(line, "child", &g));
        CHECK(g > 0 && g < MAXG);
        CHECK_EQ(spawned[(int)g], 0);
        spawned[(int)g] = 1;
        nspawn++;
    } else if (strcmp(name, "block") == 0) {
        char reason[64];
        CHECK(num_field(line, "g", &g));
        CHECK(g > 0 && g < MAXG);
        blocks[(int)g]++;
        CHECK(str_field(line, "reason", reason, sizeof reason));
        nrecv += strcmp(reason, "chan receive") == 0;
        nsleep += strcmp(reason, "sleep") == 0;
    } else if (strcmp(name, "unblock") == 0) {
        CHECK(num_field(line, "g", &g));
        CHECK(g > 0 && g < MAXG);
        unblocks[(int)g]++;
    } else {
        return false;
    }
    return true;
}

/* The traced child's common part: sends 1..n on in (to workers that each
 * take one and answer twice its value on out) and checks the n answers. */
static void trace_feed(go_chan *in, go_chan *out, long n)
{
    for (long i = 1; i <= n; i++)
        while (!go_chan_try_send(in, &i))
            go_yield();
    long sum = 0;
    for (long i = 0; i < n; i++) {
        long v;
        CHECK(go_chan_recv(out, &v));
        sum += v;
    }
    CHECK_EQ(sum, n * (n + 1));
}

/* The whole trace file, NUL-terminated and checked to be valid JSON
 * (free it); *size its length, 0 if the file is empty (then NULL). */
static char *trace_read(const char *path, long *size)
{
    FILE *f = fopen(path, "r");
    CHECK(f != NULL);
    fseek(f, 0, SEEK_END);
    *size = ftell(f);
    rewind(f);
    if (*size <= 0) {
        fclose(f);
        return NULL;
    }
    char *all = malloc((size_t)*size + 1);
    CHECK(all != NULL);
    CHECK_EQ(fread(all, 1, (size_t)*size, f), *size);
    all[*size] = 0;
    fclose(f);
    CHECK(json_valid(all, (size_t)*size));
    return all;
}

#endif /* GO_TEST_TRACE_JSON_H */
