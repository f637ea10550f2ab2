/*
 * hook_redis - the redis-hook workload: G goroutines, each with its own
 * synchronous hiredis connection, INCR one counter N times in total.
 * Built twice from this file: bench_hook_redis with libgoroutine-hook
 * (the calls park on the netpoller) and bench_hook_redis_nohook with the
 * plain runtime (each call blocks its thread and P). bench/hook.sh runs
 * both next to redis-benchmark -c G -t incr on the same server.
 *
 * Usage: bench_hook_redis PORT [GOROUTINES [TOTAL]]
 * Checks that the counter grew by exactly TOTAL.
 */
#include "bench.h"

#include <hiredis/hiredis.h>

static int port, per;
static int errors;
static go_wg wg;

static void worker(void *arg)
{
    (void)arg;
    redisContext *c = redisConnect("127.0.0.1", port);
    if (!c || c->err) {
        __atomic_fetch_add(&errors, 1, __ATOMIC_RELAXED);
    } else {
        for (int i = 0; i < per; i++) {
            redisReply *r = redisCommand(c, "INCR hook:bench");
            if (!r || r->type != REDIS_REPLY_INTEGER)
                __atomic_fetch_add(&errors, 1, __ATOMIC_RELAXED);
            if (r)
                freeReplyObject(r);
        }
    }
    if (c)
        redisFree(c);
    go_wg_done(&wg);
}

static long long counter(void)
{
    redisContext *c = redisConnect("127.0.0.1", port);
    if (!c || c->err)
        return -1;
    redisReply *r = redisCommand(c, "GET hook:bench");
    long long v = r && r->type == REDIS_REPLY_STRING ? atoll(r->str) : 0;
    if (r)
        freeReplyObject(r);
    redisFree(c);
    return v;
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: %s PORT [GOROUTINES [TOTAL]]\n", argv[0]);
        return 2;
    }
    port = atoi(argv[1]);
    int g = argc > 2 ? atoi(argv[2]) : 100;
    long total = argc > 3 ? atol(argv[3]) : 200000;
    per = (int)(total / g);
    total = (long)per * g;
    long long before = counter();
    int64_t t0 = bench_now();
    for (int i = 0; i < g; i++) {
        go_wg_add(&wg, 1);
        if (go(worker, NULL) != 0)
            return 1;
    }
    go_wg_wait(&wg);
    double s = (double)(bench_now() - t0) / 1e9;
    long long after = counter();
    if (errors || after - before != total) {
        fprintf(stderr, "hook_redis: %d errors, counter grew by %lld, want %ld\n", errors,
                after - before, total);
        return 1;
    }
    printf("RESULT name=redis-hook metric=ops/s value=%.0f goroutines=%d total=%ld\n",
           (double)total / s, g, total);
    return 0;
}
