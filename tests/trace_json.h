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

#endif /* GO_TEST_TRACE_JSON_H */
