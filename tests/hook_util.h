/*
 * hook_util.h - what the libgoroutine-hook tests share: a free loopback
 * port, starting a real server (Redis, PostgreSQL, the HTTP example) as a
 * child process and stopping it, waiting for it to listen, counting this
 * process's threads. Servers are started before the runtime is (fork of
 * a single-threaded process) and stopped by the test, also when a CHECK
 * fails (an atexit handler kills what is still running).
 *
 * A missing package is a failure, not a skip: the message says which
 * package to install (tools/deps.sh test installs them all).
 */
#ifndef GO_TEST_HOOK_UTIL_H
#define GO_TEST_HOOK_UTIL_H

#include "test_util.h"

#include <arpa/inet.h>
#include <dirent.h>
#include <fcntl.h>
#include <glob.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdarg.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>

#define HOOK_MAX_CHILDREN 8
static pid_t hook_children[HOOK_MAX_CHILDREN];

static void hook_kill_children(void)
{
    for (int i = 0; i < HOOK_MAX_CHILDREN; i++)
        if (hook_children[i] > 0) {
            kill(hook_children[i], SIGTERM);
            waitpid(hook_children[i], NULL, 0);
            hook_children[i] = 0;
        }
}

static void hook_on_abort(int sig)
{
    (void)sig;
    for (int i = 0; i < HOOK_MAX_CHILDREN; i++)
        if (hook_children[i] > 0)
            kill(hook_children[i], SIGTERM);
    signal(SIGABRT, SIG_DFL);
    abort();
}

/* Fail (exit 1) with a clear message if `path` is not executable. */
static inline void hook_need(const char *path, const char *package)
{
    if (access(path, X_OK) != 0) {
        fprintf(stderr, "FAIL: %s not found: install the Debian package %s "
                        "(tools/deps.sh test installs it)\n", path, package);
        exit(1);
    }
}

/* The first match of a glob pattern (e.g. a versioned PostgreSQL bin dir). */
static inline int hook_glob1(const char *pattern, char *out, size_t len)
{
    glob_t g;
    if (glob(pattern, 0, NULL, &g) != 0 || g.gl_pathc == 0)
        return -1;
    snprintf(out, len, "%s", g.gl_pathv[g.gl_pathc - 1]);
    globfree(&g);
    return 0;
}

/* A loopback port nobody listens on now. */
static inline int hook_free_port(void)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    CHECK(fd >= 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    CHECK(bind(fd, (struct sockaddr *)&a, sizeof a) == 0);
    socklen_t l = sizeof a;
    CHECK(getsockname(fd, (struct sockaddr *)&a, &l) == 0);
    close(fd);
    return ntohs(a.sin_port);
}

/* Start argv[0] (a path) with stdout and stderr into `log`, as user uid
 * (-1: as we are); returns its pid. */
static inline pid_t hook_spawn_as(char *const argv[], const char *log, int uid, int gid);

static inline pid_t hook_spawn(char *const argv[], const char *log)
{
    return hook_spawn_as(argv, log, -1, -1);
}

static inline pid_t hook_spawn_as(char *const argv[], const char *log, int uid, int gid)
{
    static int registered;
    if (!registered) {
        atexit(hook_kill_children);
        signal(SIGABRT, hook_on_abort);
        registered = 1;
    }
    pid_t pid = fork();
    CHECK(pid >= 0);
    if (pid == 0) {
        int fd = open(log, O_WRONLY | O_CREAT | O_TRUNC, 0644);
        if (fd >= 0) {
            dup2(fd, 1);
            dup2(fd, 2);
        }
        unsetenv("LD_PRELOAD");
        if (gid >= 0 && setgid((gid_t)gid) != 0)
            _exit(126);
        if (uid >= 0 && setuid((uid_t)uid) != 0)
            _exit(126);
        execv(argv[0], argv);
        _exit(127);
    }
    for (int i = 0; i < HOOK_MAX_CHILDREN; i++)
        if (hook_children[i] == 0) {
            hook_children[i] = pid;
            break;
        }
    return pid;
}

static inline void hook_stop(pid_t pid)
{
    kill(pid, SIGTERM);
    int st;
    waitpid(pid, &st, 0);
    for (int i = 0; i < HOOK_MAX_CHILDREN; i++)
        if (hook_children[i] == pid)
            hook_children[i] = 0;
}

/* Run a command to completion; its exit status (or -1). */
static inline int hook_run(char *const argv[], const char *log)
{
    pid_t pid = fork();
    CHECK(pid >= 0);
    if (pid == 0) {
        if (log) {
            int fd = open(log, O_WRONLY | O_CREAT | O_APPEND, 0644);
            if (fd >= 0) {
                dup2(fd, 1);
                dup2(fd, 2);
            }
        }
        execvp(argv[0], argv);
        _exit(127);
    }
    int st;
    if (waitpid(pid, &st, 0) != pid)
        return -1;
    return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

static inline void hook_dump(const char *log)
{
    FILE *f = fopen(log, "r");
    if (!f)
        return;
    char line[512];
    while (fgets(line, sizeof line, f))
        fprintf(stderr, "  | %s", line);
    fclose(f);
}

/* Wait (up to 20 s) until 127.0.0.1:port accepts a connection. */
static inline void hook_wait_port(int port, pid_t pid, const char *log)
{
    for (int i = 0; i < 2000; i++) {
        int fd = socket(AF_INET, SOCK_STREAM, 0);
        struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port),
                                .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
        int r = connect(fd, (struct sockaddr *)&a, sizeof a);
        close(fd);
        if (r == 0)
            return;
        if (pid > 0 && waitpid(pid, NULL, WNOHANG) == pid) {
            fprintf(stderr, "FAIL: the server exited before listening on %d; its log:\n", port);
            hook_dump(log);
            exit(1);
        }
        usleep(10000);
    }
    fprintf(stderr, "FAIL: nothing listens on 127.0.0.1:%d after 20 s; log:\n", port);
    hook_dump(log);
    exit(1);
}

/* Threads of this process now (/proc/self/task). */
static inline int hook_threads(void)
{
    DIR *d = opendir("/proc/self/task");
    CHECK(d != NULL);
    int n = 0;
    struct dirent *e;
    while ((e = readdir(d)))
        if (e->d_name[0] != '.')
            n++;
    closedir(d);
    return n;
}

/* A goroutine that samples hook_threads() every 5 ms (a hooked usleep,
 * so a go_sleep) from hook_sampler_start() until hook_sampler_stop(),
 * which waits for it to finish and returns the most threads it saw. */
struct hook_sampler {
    int stop; /* atomic */
    int max;  /* the sampler's; read after done */
    go_wg done;
};

static void hook_sampler_run(void *arg)
{
    struct hook_sampler *s = arg;
    while (!__atomic_load_n(&s->stop, __ATOMIC_ACQUIRE)) {
        int n = hook_threads();
        if (n > s->max)
            s->max = n;
        usleep(5000);
    }
    go_wg_done(&s->done);
}

static inline void hook_sampler_start(struct hook_sampler *s)
{
    memset(s, 0, sizeof *s);
    go_wg_add(&s->done, 1);
    CHECK_EQ(go(hook_sampler_run, s), 0);
}

static inline int hook_sampler_stop(struct hook_sampler *s)
{
    __atomic_store_n(&s->stop, 1, __ATOMIC_RELEASE);
    go_wg_wait(&s->done);
    return s->max;
}

static inline double hook_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Lift the descriptor limit to the hard one (a thousand connections). */
static inline void hook_raise_nofile(void)
{
    struct rlimit r;
    if (getrlimit(RLIMIT_NOFILE, &r) == 0) {
        r.rlim_cur = r.rlim_max;
        setrlimit(RLIMIT_NOFILE, &r);
    }
}

static inline int hook_maxprocs(void)
{
    const char *s = getenv("GOMAXPROCS");
    int n = s ? atoi(s) : 0;
    return n > 0 ? n : (int)sysconf(_SC_NPROCESSORS_ONLN);
}

#endif /* GO_TEST_HOOK_UTIL_H */
