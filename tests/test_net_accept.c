/*
 * test_net_accept.c - an accept loop survives descriptor exhaustion.
 *
 * A child process (this program run again with "child") lowers its
 * RLIMIT_NOFILE to 40 and serves a listener with the accept loop a Go
 * server uses: on -EMFILE/-ENFILE it sleeps 5 ms, doubling up to 1 s, and
 * tries again. The parent (unlimited) dials 150 connections, which queue
 * in the listener's backlog; the child accepts until it runs out of
 * descriptors and tells the parent so. Only then does the parent go
 * through its connections in order: send a byte, wait for the echo,
 * close. Each close frees a descriptor in the child, whose loop must
 * recover and accept the next; it exits 0 once it has served all 150.
 */
#include "test_util.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <spawn.h>
#include <stdint.h>
#include <sys/resource.h>
#include <sys/socket.h>

enum { CONNS = 150, CHILD_LIMIT = 40 };

extern char **environ;

/* ---- the child ------------------------------------------------------------------ */

static go_wg served_wg;

static void serve_one(void *arg)
{
    int fd = (int)(intptr_t)arg;
    char c;
    CHECK_EQ(go_read(fd, &c, 1), 1);
    CHECK_EQ(go_write(fd, &c, 1), 1);
    CHECK_EQ(go_read(fd, &c, 1), 0);
    CHECK_EQ(go_close(fd), 0);
    go_wg_done(&served_wg);
}

static int child(void)
{
    struct rlimit rl;
    CHECK_EQ(getrlimit(RLIMIT_NOFILE, &rl), 0);
    rl.rlim_cur = CHILD_LIMIT;
    CHECK_EQ(setrlimit(RLIMIT_NOFILE, &rl), 0);
    int ln = go_listen("tcp", "127.0.0.1:0", 0);
    CHECK(ln >= 0);
    struct sockaddr_in sa;
    socklen_t len = sizeof sa;
    CHECK_EQ(getsockname(ln, (struct sockaddr *)&sa, &len), 0);
    char msg[32];
    int n = snprintf(msg, sizeof msg, "%d\n", ntohs(sa.sin_port));
    CHECK_EQ(go_write(1, msg, (size_t)n), n);

    int accepted = 0, exhausted = 0;
    int64_t backoff = 0;
    go_wg_add(&served_wg, CONNS);
    while (accepted < CONNS) {
        int c = go_accept(ln, NULL, NULL);
        if (c == -EMFILE || c == -ENFILE) {
            if (exhausted++ == 0)
                CHECK_EQ(go_write(1, "E", 1), 1); /* the parent may go on */
            backoff = backoff ? backoff * 2 : 5000000;
            if (backoff > 1000000000)
                backoff = 1000000000;
            go_sleep(backoff);
            continue;
        }
        CHECK(c >= 0);
        backoff = 0;
        accepted++;
        CHECK_EQ(go(serve_one, (void *)(intptr_t)c), 0);
    }
    go_wg_wait(&served_wg);
    CHECK_EQ(go_close(ln), 0);
    fprintf(stderr, "child: accepted %d, ran out of descriptors %d times\n", accepted,
            exhausted);
    return exhausted > 0 ? 0 : 3;
}

/* ---- the parent ----------------------------------------------------------------- */

int main(int argc, char **argv)
{
    setvbuf(stdout, NULL, _IONBF, 0);
    if (argc > 1 && strcmp(argv[1], "child") == 0)
        return child();

    int out[2];
    CHECK_EQ(pipe2(out, O_CLOEXEC), 0);
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_adddup2(&fa, out[1], 1);
    char *args[] = {argv[0], "child", NULL};
    pid_t pid;
    CHECK_EQ(posix_spawn(&pid, "/proc/self/exe", &fa, NULL, args, environ), 0);
    posix_spawn_file_actions_destroy(&fa);
    CHECK_EQ(go_close(out[1]), 0);

    char line[32];
    size_t got = 0;
    while (got == 0 || line[got - 1] != '\n') {
        ssize_t r = go_read(out[0], line + got, 1);
        CHECK_EQ(r, 1);
        got++;
        CHECK(got < sizeof line);
    }
    line[got - 1] = 0;
    char addr[64];
    snprintf(addr, sizeof addr, "127.0.0.1:%s", line);

    int conns[CONNS];
    for (int i = 0; i < CONNS; i++) {
        conns[i] = go_dial("tcp", addr);
        CHECK(conns[i] >= 0);
    }
    char e;
    CHECK_EQ(go_read(out[0], &e, 1), 1); /* the child is out of descriptors */
    CHECK_EQ(e, 'E');
    for (int i = 0; i < CONNS; i++) {
        char c = (char)('a' + i % 26), back = 0;
        CHECK_EQ(go_write(conns[i], &c, 1), 1);
        CHECK_EQ(go_read(conns[i], &back, 1), 1);
        CHECK_EQ(back, c);
        CHECK_EQ(go_close(conns[i]), 0);
    }
    int st;
    CHECK_EQ(waitpid(pid, &st, 0), pid);
    CHECK(WIFEXITED(st));
    CHECK_EQ(WEXITSTATUS(st), 0);
    CHECK_EQ(go_close(out[0]), 0);
    printf("ok  accept loop backed off on EMFILE and served all %d connections\n", CONNS);
    return 0;
}
