/*
 * hook_pg - the pg-hook workload: G goroutines, each with its own
 * synchronous libpq connection, run `SELECT 1` TOTAL times in all and
 * check every answer. Built twice from this file: bench_hook_pg with
 * libgoroutine-hook (libpq's socket waits park on the netpoller) and
 * bench_hook_pg_nohook with the plain runtime (each query blocks its
 * thread and P). bench/hook.sh runs both next to pgbench running the same
 * query from as many connections (-c G -j 2) against the same server.
 *
 * Connections are opened before the clock starts, as pgbench's figure
 * excludes its connection time.
 *
 * Usage: bench_hook_pg CONNINFO [GOROUTINES [TOTAL]]
 */
#include "bench.h"

#include <libpq-fe.h>
#include <stdbool.h>

static const char *conninfo;
static int per;
static int errors;
static go_wg ready, done;
static go_chan *start;

static void worker(void *arg)
{
    (void)arg;
    PGconn *c = PQconnectdb(conninfo);
    bool ok = PQstatus(c) == CONNECTION_OK;
    if (!ok) {
        fprintf(stderr, "hook_pg: connect: %s", PQerrorMessage(c));
        __atomic_fetch_add(&errors, 1, __ATOMIC_RELAXED);
    }
    go_wg_done(&ready);
    go_chan_recv(start, NULL); /* closed when every worker is connected */
    for (int i = 0; ok && i < per; i++) {
        PGresult *r = PQexec(c, "SELECT 1");
        if (PQresultStatus(r) != PGRES_TUPLES_OK || PQntuples(r) != 1 ||
            strcmp(PQgetvalue(r, 0, 0), "1") != 0)
            __atomic_fetch_add(&errors, 1, __ATOMIC_RELAXED);
        PQclear(r);
    }
    PQfinish(c);
    go_wg_done(&done);
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: %s CONNINFO [GOROUTINES [TOTAL]]\n", argv[0]);
        return 2;
    }
    conninfo = argv[1];
    int g = argc > 2 ? atoi(argv[2]) : 50;
    long total = argc > 3 ? atol(argv[3]) : 100000;
    if (g <= 0 || total < g) {
        fprintf(stderr, "hook_pg: need 0 < GOROUTINES <= TOTAL\n");
        return 2;
    }
    per = (int)(total / g);
    total = (long)per * g;
    start = go_chan_make(0, 0);
    if (!start)
        return 1;
    for (int i = 0; i < g; i++) {
        go_wg_add(&ready, 1);
        go_wg_add(&done, 1);
        if (go(worker, NULL) != 0)
            return 1;
    }
    go_wg_wait(&ready);
    int64_t t0 = bench_now();
    go_chan_close(start);
    go_wg_wait(&done);
    double s = (double)(bench_now() - t0) / 1e9;
    if (errors) {
        fprintf(stderr, "hook_pg: %d errors\n", errors);
        return 1;
    }
    printf("RESULT name=pg-hook metric=queries/s value=%.0f goroutines=%d total=%ld\n",
           (double)total / s, g, total);
    return 0;
}
