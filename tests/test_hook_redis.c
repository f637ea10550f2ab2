/*
 * test_hook_redis - unmodified hiredis (Debian's libhiredis, blocking API)
 * in goroutines, with libgoroutine-hook linked in, against a real
 * redis-server this test starts on a free loopback port and stops.
 *
 *   1. 1,000 goroutines, each with its own blocking connection
 *      (redisConnect: socket, non-blocking connect, poll, then blocking
 *      reads and writes), do 50 SET/GET pairs of their own keys; every
 *      reply is checked.
 *   2. 1,000 goroutines each BLPOP an empty list with a 0.2 s timeout:
 *      every reply must be the nil timeout answer. While they wait, a
 *      sampler goroutine counts the process's threads: with the hooks the
 *      waits park on the netpoller, so the count stays near GOMAXPROCS
 *      (without them every BLPOP would hold a thread, or a P). The phase's
 *      time is printed, not checked.
 *
 * The same program runs plain-thread hiredis before the runtime starts
 * (the hooks must pass those calls through untouched).
 */
#include "hook_util.h"

#include <hiredis/hiredis.h>

#define NG 1000
#define PAIRS 50

static int port;
static int errors;
static int nil_replies;
static struct hook_sampler sampler;
static int max_threads;

static void fail(const char *what, int i, redisContext *c, redisReply *r)
{
    fprintf(stderr, "goroutine %d: %s (ctx err %d '%s', reply type %d)\n", i, what,
            c ? c->err : -1, c ? c->errstr : "", r ? r->type : -1);
    __atomic_fetch_add(&errors, 1, __ATOMIC_RELAXED);
}

static redisContext *dial(int i)
{
    redisContext *c = redisConnect("127.0.0.1", port);
    if (!c || c->err) {
        fail("connect", i, c, NULL);
        if (c)
            redisFree(c);
        return NULL;
    }
    return c;
}

static void setget(void *arg)
{
    int i = (int)(intptr_t)arg;
    redisContext *c = dial(i);
    if (!c)
        return;
    char key[64], val[64];
    for (int j = 0; j < PAIRS; j++) {
        snprintf(key, sizeof key, "k:%d:%d", i, j);
        snprintf(val, sizeof val, "v:%d:%d:%x", i, j, (unsigned)(i * 7919 + j));
        redisReply *r = redisCommand(c, "SET %s %s", key, val);
        if (!r || r->type != REDIS_REPLY_STATUS || strcmp(r->str, "OK") != 0)
            fail("SET", i, c, r);
        if (r)
            freeReplyObject(r);
        r = redisCommand(c, "GET %s", key);
        if (!r || r->type != REDIS_REPLY_STRING || strcmp(r->str, val) != 0)
            fail("GET", i, c, r);
        if (r)
            freeReplyObject(r);
    }
    redisFree(c);
}

static void blpop(void *arg)
{
    int i = (int)(intptr_t)arg;
    redisContext *c = dial(i);
    if (!c)
        return;
    redisReply *r = redisCommand(c, "BLPOP empty:%d 0.2", i);
    if (r && r->type == REDIS_REPLY_NIL)
        __atomic_fetch_add(&nil_replies, 1, __ATOMIC_RELAXED);
    else
        fail("BLPOP", i, c, r);
    if (r)
        freeReplyObject(r);
    redisFree(c);
}

/* Each goroutine reports done on a shared WaitGroup. */
static go_wg wg;
static go_func current;
static void wrapped(void *arg)
{
    current(arg);
    go_wg_done(&wg);
}

static double phase(go_func fn)
{
    current = fn;
    double t0 = hook_now();
    for (int i = 0; i < NG; i++) {
        go_wg_add(&wg, 1);
        CHECK_EQ(go(wrapped, (void *)(intptr_t)i), 0);
    }
    go_wg_wait(&wg);
    return hook_now() - t0;
}

int main(void)
{
    hook_need("/usr/bin/redis-server", "redis-server");
    hook_raise_nofile();
    port = hook_free_port();
    char dir[] = "/tmp/hook-redis-XXXXXX";
    CHECK(mkdtemp(dir));
    char log[128], portstr[16];
    snprintf(log, sizeof log, "%s/redis.log", dir);
    snprintf(portstr, sizeof portstr, "%d", port);
    char *argv[] = {"/usr/bin/redis-server", "--port", portstr, "--bind", "127.0.0.1",
                    "--save", "", "--appendonly", "no", "--dir", dir,
                    "--maxclients", "4000", "--daemonize", "no", NULL};
    pid_t srv = hook_spawn(argv, log);
    hook_wait_port(port, srv, log);

    /* A plain thread, runtime not started: hiredis as without the hooks. */
    redisContext *c = redisConnect("127.0.0.1", port);
    CHECK(c && !c->err);
    redisReply *r = redisCommand(c, "FLUSHALL");
    CHECK(r && r->type == REDIS_REPLY_STATUS);
    freeReplyObject(r);
    r = redisCommand(c, "BLPOP empty:main 0.05");
    CHECK(r && r->type == REDIS_REPLY_NIL);
    freeReplyObject(r);

    double t1 = phase(setget);
    CHECK_EQ(errors, 0);

    /* Every key is there with its value, read back from the main thread. */
    r = redisCommand(c, "DBSIZE");
    CHECK(r && r->type == REDIS_REPLY_INTEGER);
    CHECK_EQ(r->integer, NG * PAIRS);
    freeReplyObject(r);

    hook_sampler_start(&sampler);
    double t2 = phase(blpop);
    max_threads = hook_sampler_stop(&sampler);
    CHECK_EQ(errors, 0);
    CHECK_EQ(nil_replies, NG);
    redisFree(c);

    int procs = hook_maxprocs();
    printf("redis: %d goroutines x %d SET/GET in %.3f s; %d x BLPOP 0.2 s in %.3f s; "
           "max threads %d at GOMAXPROCS=%d\n", NG, PAIRS, t1, NG, t2, max_threads, procs);
    /* main, sysmon, one M per P, and a few Ms that are spinning, in a
     * short blocking call (the hooked DNS and socket set-up calls), idle
     * in the poller, or running on a P lent while another M slept. */
    /* A bound, not the goal: the goal is GOMAXPROCS + a few. Since sysmon
     * lends a P to an M it sees asleep in the kernel, 11-20 threads were
     * seen at GOMAXPROCS=8 (at most 10 before): the lending starts Ms for
     * sleeps the hooks already park around, an open problem. Thread
     * growth per goroutine (one per connection) still fails here. */
    CHECK(max_threads <= 3 * procs + 8);
    hook_stop(srv);
    char *rm[] = {"rm", "-rf", dir, NULL};
    hook_run(rm, NULL);
    return 0;
}
