/*
 * test_hook_pg - unmodified libpq (Debian's, synchronous API) in
 * goroutines, with libgoroutine-hook.so linked in (the shared variant),
 * against a throw-away PostgreSQL cluster this test creates (initdb as the
 * postgres user when run as root, trust authentication, loopback only),
 * starts on a free port, and stops and deletes.
 *
 * 80 goroutines each PQconnectdb, run SELECT pg_sleep(0.3), then five
 * parameterised queries whose results are checked. libpq waits for the
 * server in poll(2), so this is the poll hook's proof: the sleeps overlap
 * on a few threads (counted from /proc while they run) instead of taking
 * a thread, or a P, each. The phase's time is printed, not checked.
 */
#include "hook_util.h"

#include <libpq-fe.h>
#include <pwd.h>

#define NG 80

static char conninfo[256];
static int errors, sleeps_done;
static struct hook_sampler sampler;
static int max_threads;
static go_wg wg;

static void fail(int i, const char *what, PGconn *c, PGresult *r)
{
    fprintf(stderr, "goroutine %d: %s: %s%s\n", i, what, c ? PQerrorMessage(c) : "",
            r ? PQresultErrorMessage(r) : "");
    __atomic_fetch_add(&errors, 1, __ATOMIC_RELAXED);
}

static void worker(void *arg)
{
    int i = (int)(intptr_t)arg;
    PGconn *c = PQconnectdb(conninfo);
    if (PQstatus(c) != CONNECTION_OK) {
        fail(i, "connect", c, NULL);
        PQfinish(c);
        go_wg_done(&wg);
        return;
    }
    PGresult *r = PQexec(c, "SELECT pg_sleep(0.3), 'slept'");
    if (PQresultStatus(r) != PGRES_TUPLES_OK || strcmp(PQgetvalue(r, 0, 1), "slept") != 0)
        fail(i, "pg_sleep", c, r);
    else
        __atomic_fetch_add(&sleeps_done, 1, __ATOMIC_RELAXED);
    PQclear(r);
    for (int j = 0; j < 5; j++) {
        char a[32], b[32], want1[32], want2[64];
        snprintf(a, sizeof a, "%d", i * 1000 + j);
        snprintf(b, sizeof b, "g%d-q%d", i, j);
        const char *params[2] = {a, b};
        r = PQexecParams(c, "SELECT $1::int * 3 + 1, upper($2::text) || '!', pg_backend_pid() > 0",
                         2, NULL, params, NULL, NULL, 0);
        snprintf(want1, sizeof want1, "%d", (i * 1000 + j) * 3 + 1);
        snprintf(want2, sizeof want2, "G%d-Q%d!", i, j);
        if (PQresultStatus(r) != PGRES_TUPLES_OK || PQntuples(r) != 1 ||
            strcmp(PQgetvalue(r, 0, 0), want1) != 0 || strcmp(PQgetvalue(r, 0, 1), want2) != 0 ||
            strcmp(PQgetvalue(r, 0, 2), "t") != 0)
            fail(i, "params", c, r);
        PQclear(r);
    }
    PQfinish(c);
    go_wg_done(&wg);
}

int main(void)
{
    char bin[256], path[300];
    if (hook_glob1("/usr/lib/postgresql/*/bin", bin, sizeof bin) != 0) {
        fprintf(stderr, "FAIL: no /usr/lib/postgresql/*/bin: install the Debian package "
                        "postgresql (tools/deps.sh test installs it)\n");
        return 1;
    }
    snprintf(path, sizeof path, "%s/initdb", bin);
    hook_need(path, "postgresql");
    int uid = -1, gid = -1;
    if (geteuid() == 0) {
        struct passwd *pw = getpwnam("postgres");
        if (!pw) {
            fprintf(stderr, "FAIL: running as root and there is no postgres user "
                            "(the Debian package postgresql creates it)\n");
            return 1;
        }
        uid = (int)pw->pw_uid;
        gid = (int)pw->pw_gid;
    }
    char dir[] = "/tmp/hook-pg-XXXXXX";
    CHECK(mkdtemp(dir));
    if (uid >= 0)
        CHECK(chown(dir, (uid_t)uid, (gid_t)gid) == 0);
    char data[128], log[128], ilog[128], initdb[320], postgres[320], portstr[16];
    snprintf(data, sizeof data, "%s/data", dir);
    snprintf(log, sizeof log, "%s/postgres.log", dir);
    snprintf(ilog, sizeof ilog, "%s/initdb.log", dir);
    snprintf(initdb, sizeof initdb, "%s/initdb", bin);
    snprintf(postgres, sizeof postgres, "%s/postgres", bin);
    char *iargv[] = {initdb, "-D", data, "-A", "trust", "-U", "postgres", "--no-sync",
                     "-E", "UTF8", "--locale=C", NULL};
    pid_t p = hook_spawn_as(iargv, ilog, uid, gid);
    int st;
    CHECK(waitpid(p, &st, 0) == p);
    for (int i = 0; i < HOOK_MAX_CHILDREN; i++)
        if (hook_children[i] == p)
            hook_children[i] = 0;
    if (!WIFEXITED(st) || WEXITSTATUS(st) != 0) {
        fprintf(stderr, "FAIL: initdb failed; its log:\n");
        hook_dump(ilog);
        return 1;
    }
    int port = hook_free_port();
    snprintf(portstr, sizeof portstr, "%d", port);
    char *pargv[] = {postgres, "-D", data, "-p", portstr, "-k", dir,
                     "-c", "listen_addresses=127.0.0.1", "-c", "max_connections=200",
                     "-c", "fsync=off", "-c", "shared_buffers=16MB", NULL};
    pid_t srv = hook_spawn_as(pargv, log, uid, gid);
    hook_wait_port(port, srv, log);
    snprintf(conninfo, sizeof conninfo,
             "host=127.0.0.1 port=%d user=postgres dbname=postgres connect_timeout=30", port);

    /* Listening is not ready: wait until the server accepts sessions. */
    for (int i = 0; i < 3000 && PQping(conninfo) != PQPING_OK; i++)
        usleep(10000);
    /* A plain thread, runtime not started: libpq as without the hooks. */
    PGconn *c = PQconnectdb(conninfo);
    if (PQstatus(c) != CONNECTION_OK) {
        fprintf(stderr, "FAIL: plain-thread connect: %s; server log:\n", PQerrorMessage(c));
        hook_dump(log);
        return 1;
    }
    PGresult *r = PQexec(c, "SELECT 40 + 2");
    CHECK(PQresultStatus(r) == PGRES_TUPLES_OK && strcmp(PQgetvalue(r, 0, 0), "42") == 0);
    PQclear(r);

    hook_sampler_start(&sampler);
    double t0 = hook_now();
    for (int i = 0; i < NG; i++) {
        go_wg_add(&wg, 1);
        CHECK_EQ(go(worker, (void *)(intptr_t)i), 0);
    }
    go_wg_wait(&wg);
    double t = hook_now() - t0;
    max_threads = hook_sampler_stop(&sampler);
    CHECK_EQ(errors, 0);
    CHECK_EQ(sleeps_done, NG);
    PQfinish(c);
    int procs = hook_maxprocs();
    printf("pg: %d goroutines x (connect, pg_sleep(0.3), 5 parameterised queries) in %.3f s; "
           "max threads %d at GOMAXPROCS=%d\n", NG, t, max_threads, procs);
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
