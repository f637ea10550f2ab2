/*
 * test_stack.c - goroutine stacks:
 *
 *  - a goroutine recursing without bound dies with Go's "fatal error:
 *    stack overflow", and the report names the goroutine (id and the name
 *    given with go_spawn) and its stack size; for the default stack, for a
 *    custom 64 KiB stack, and for a default changed by GOROUTINE_STACK_SIZE
 *    (each in a child process, while other goroutines run); and for a
 *    default stack at every position of a batch of guards, and with the
 *    batch refused (seccomp makes process_madvise fail, as on old kernels);
 *  - a stack really has the room it was given: the default, the minimum
 *    (GO_STACK_MIN), 64 KiB, a size that is not a multiple of the page and
 *    8 MiB, each used almost to the end;
 *  - custom stacks are given back when their goroutines exit (the number
 *    of mappings does not grow with the number of goroutines spawned);
 *  - the pages of default stacks left over after a burst are given back
 *    to the kernel (RSS falls) once the goroutines are gone.
 *
 * Under sanitizers the last two measure differently, because the
 * sanitizer's own memory would hide the answer. TSan re-maps the shadow of
 * every range we munmap (splitting its shadow mapping, so the mapping
 * count grows however well we behave): there the custom stacks are
 * checked by address space (VmSize), which a leaked stack or a leaked TSan
 * fiber (~770 KiB of address space each) would inflate. Both keep shadow
 * memory per stack that our madvise does not drop (TSan twice what was
 * dirtied; ASan an eighth of the whole stack, written when a goroutine
 * starts on it), so RSS falls by less than half: there the scavenger is
 * checked with mincore() over the very pages the goroutines dirtied.
 *
 * Under ASan the overflow reports are skipped: ASan installs its own
 * SIGSEGV handling and instruments every frame with redzones, so what
 * catches the fault (and what it prints) is the sanitizer's business, not
 * the runtime's; the room tests still run (they measure by address).
 */
#include "test_util.h"

#include <limits.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <pthread.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/syscall.h>

/* ---- a child's stderr ------------------------------------------------------------- */

/* Run fn in a forked child; return its stderr and whether it died. */
static int run_child(void (*fn)(void *), void *arg, char *out, size_t cap)
{
    int fds[2];
    CHECK(pipe(fds) == 0);
    fflush(NULL);
    pid_t pid = fork();
    CHECK(pid >= 0);
    if (pid == 0) {
        close(fds[0]);
        dup2(fds[1], 2);
        fn(arg);
        _exit(0);
    }
    close(fds[1]);
    size_t n = 0;
    ssize_t r;
    while (n < cap - 1 && (r = read(fds[0], out + n, cap - 1 - n)) > 0)
        n += (size_t)r;
    out[n] = 0;
    char sink[4096];
    while (read(fds[0], sink, sizeof sink) > 0)
        ;
    close(fds[0]);
    int st;
    waitpid(pid, &st, 0);
    return WIFSIGNALED(st) || (WIFEXITED(st) && WEXITSTATUS(st) != 0);
}

static void want(const char *out, const char *s)
{
    if (!strstr(out, s)) {
        fprintf(stderr, "wanted \"%s\" in the child's stderr:\n%s\n", s, out);
        CHECK(strstr(out, s) != NULL);
    }
}

/* The N of "stack exceeds its N-byte limit". */
static long reported_size(const char *out)
{
    const char *p = strstr(out, "stack exceeds its ");
    if (!p)
        return -1;
    return strtol(p + strlen("stack exceeds its "), NULL, 10);
}

/* ---- unbounded recursion (test_overflower, test_util.h) ------------------------------- */

static void bystander(void *arg)
{
    (void)arg;
    for (;;)
        go_yield();
}

struct overflow_case {
    size_t stack_size; /* 0: default */
    const char *name;
    int parked;          /* goroutines spawned (and parked) just before it */
    bool from_goroutine; /* spawned by a goroutine (its P's arena), not main */
    bool deny_batch;     /* process_madvise fails with ENOSYS (seccomp) */
};

/* Make process_madvise fail with ENOSYS in this process, as an old kernel
 * or a container's seccomp policy would, so that stacks get their guards
 * one madvise at a time. */
static void deny_process_madvise(void)
{
#ifdef SYS_process_madvise
    struct sock_filter f[] = {
        BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr)),
        BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, SYS_process_madvise, 0, 1),
        BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | ENOSYS),
        BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
    };
    struct sock_fprog prog = {.len = sizeof f / sizeof f[0], .filter = f};
    if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0 ||
        prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &prog) != 0)
        _exit(4);
    if (syscall(SYS_process_madvise, -1, NULL, 0, 0, 0) != -1 || errno != ENOSYS)
        _exit(5);
#endif
}

/* Whether a child can install deny_process_madvise's filter. */
static bool seccomp_works(void)
{
    fflush(NULL);
    pid_t pid = fork();
    CHECK(pid >= 0);
    if (pid == 0) {
        deny_process_madvise();
        _exit(0);
    }
    int st;
    CHECK(waitpid(pid, &st, 0) == pid);
    return WIFEXITED(st) && WEXITSTATUS(st) == 0;
}

static go_wg never = GO_WG_INIT; /* in a child; nobody calls done */

static void parked(void *arg)
{
    (void)arg;
    go_wg_wait(&never);
}

static void spawn_overflower(void *p)
{
    struct overflow_case *c = p;
    for (int i = 0; i < c->parked; i++)
        if (go(parked, NULL) != 0)
            _exit(3);
    go_attr a = {.stack_size = c->stack_size, .name = c->name};
    if (go_spawn(&a, test_overflower, NULL) != 0)
        _exit(3);
    go_wg_wait(&never);
}

static void overflow_child(void *p)
{
    struct overflow_case *c = p;
    if (c->deny_batch)
        deny_process_madvise();
    go_wg_add(&never, 1);
    /* Others run meanwhile, so the report must pick the right goroutine. */
    for (int i = 0; i < 4; i++)
        go(bystander, NULL);
    if (c->from_goroutine)
        go(spawn_overflower, c);
    else
        spawn_overflower(c);
    go_wg_wait(&never);
}

static void env_overflow_child(void *p)
{
    setenv("GOROUTINE_STACK_SIZE", "131072", 1);
    overflow_child(p);
}

static void check_overflow(void (*child)(void *), struct overflow_case *c, long lo, long hi)
{
    static char out[1 << 16];
    int died = run_child(child, c, out, sizeof out);
    if (!died)
        fprintf(stderr, "child survived unbounded recursion; stderr:\n%s\n", out);
    CHECK(died);
    want(out, "fatal error: stack overflow");
    want(out, c->name);
    want(out, "runtime: goroutine ");
    long n = reported_size(out);
    if (n < lo || n > hi) {
        fprintf(stderr, "reported stack size %ld, want %ld..%ld:\n%s\n", n, lo, hi, out);
        CHECK(n >= lo && n <= hi);
    }
    /* The dump follows, and shows the goroutine by name too, with the same
     * stack size as the report. */
    want(out, "goroutine ");
    want(out, "name: ");
    char named[64];
    snprintf(named, sizeof named, "name: %s\n", c->name);
    const char *d = strstr(out, named);
    /* "stack: USED of SIZE bytes used" */
    const char *ds = d ? strstr(d, "stack: ") : NULL;
    ds = ds ? strstr(ds, " of ") : NULL;
    long dn = ds ? strtol(ds + strlen(" of "), NULL, 10) : -1;
    if (dn != n) {
        fprintf(stderr, "the dump shows stack %ld bytes, the report %ld:\n%s\n", dn, n, out);
        CHECK_EQ(dn, n);
    }
    printf("overflow of a %ld-byte stack reported as such, naming \"%s\"\n", n, c->name);
}

/* A default stack spawned after `parked` others, by main or by a
 * goroutine, with or without the batched guards, overflows into a guard. */
static void overflow_at(int parked, bool from_goroutine, bool deny_batch)
{
    char name[48];
    snprintf(name, sizeof name, "%s-slot-%d%s", from_goroutine ? "p" : "main", parked,
             deny_batch ? "-unbatched" : "");
    struct overflow_case c = {
        .name = name, .parked = parked, .from_goroutine = from_goroutine, .deny_batch = deny_batch};
    check_overflow(overflow_child, &c, 128 * 1024, 256 * 1024);
}

static void test_overflow_reports(void)
{
    /* The default: 256 KiB of address space per goroutine, of which the
     * guard and the descriptor take a part. */
    struct overflow_case def = {.name = "deep-diver"};
    check_overflow(overflow_child, &def, 128 * 1024, 256 * 1024);
    /* A custom size is reported as exactly that size. */
    struct overflow_case small = {.stack_size = 64 * 1024, .name = "small-stack"};
    check_overflow(overflow_child, &small, 64 * 1024, 64 * 1024);
    /* The default changed through the environment: exactly that too. */
    struct overflow_case env = {.name = "env-sized"};
    check_overflow(env_overflow_child, &env, 128 * 1024, 128 * 1024);
    /* New stacks have their guards installed 16 at a time (stack.c): a
     * stack at each position of a batch, and the first of the next one,
     * is guarded; from main (the shared arena) and from a goroutine (its
     * P's own arena, where the positions are exactly 0..16). */
    for (int from_g = 0; from_g < 2; from_g++)
        for (int k = 0; k <= 16; k++)
            overflow_at(k, from_g, false);
    /* Where the kernel refuses the batch, each stack still gets a guard. */
    if (!seccomp_works()) {
        printf("unbatched guards: skipped, this kernel has no seccomp filters\n");
        return;
    }
    static const int at[] = {0, 1, 16};
    for (int from_g = 0; from_g < 2; from_g++)
        for (size_t i = 0; i < sizeof at / sizeof at[0]; i++)
            overflow_at(at[i], from_g, true);
}

/* ---- room: a stack holds what it was given ---------------------------------------------- */

/* Recurse until `want` bytes of stack below `top` are in use. */
__attribute__((noinline)) static size_t use_stack(uintptr_t top, size_t want)
{
    volatile char frame[256];
    frame[0] = 1;
    uintptr_t here = (uintptr_t)&frame[0];
    if (top - here >= want)
        return top - here;
    return use_stack(top, want) + frame[0] - 1;
}

struct room_arg {
    size_t want;
    size_t used;
    go_wg *wg;
};

static void room_worker(void *p)
{
    struct room_arg *a = p;
    volatile char anchor = 0;
    a->used = use_stack((uintptr_t)&anchor, a->want);
    (void)anchor;
    go_wg_done(a->wg);
}

static void room(size_t stack_size, size_t want_bytes)
{
    go_wg wg = GO_WG_INIT;
    struct room_arg a = {want_bytes, 0, &wg};
    go_attr attr = {.stack_size = stack_size, .name = "room"};
    go_wg_add(&wg, 1);
    CHECK_EQ(go_spawn(&attr, room_worker, &a), 0);
    go_wg_wait(&wg);
    CHECK(a.used >= want_bytes);
    printf("room: %zu-byte stack (0: default) held %zu bytes of frames\n", stack_size, a.used);
}

static void test_room(void)
{
    /* Leave room for the frames above the anchor and, under ASan, for
     * its redzones and the sanitizer's own needs. */
    room(0, 192 * 1024);
    room(GO_STACK_MIN, 8 * 1024);
    room(64 * 1024, 48 * 1024);
    room(20000, 12 * 1024);
    room(8 * 1024 * 1024, 7 * 1024 * 1024);
}

/* ---- custom stacks are given back ----------------------------------------------------- */

#ifdef GO_TEST_TSAN
/* VmSize in KiB: see the comment at the top for why, under TSan. */
static long vm_size_kb(void)
{
    FILE *f = fopen("/proc/self/status", "r");
    CHECK(f != NULL);
    char line[256];
    long kb = -1;
    while (fgets(line, sizeof line, f))
        if (strncmp(line, "VmSize:", 7) == 0)
            kb = atol(line + 7);
    fclose(f);
    CHECK(kb > 0);
    return kb;
}
#endif

static int count_mappings(void)
{
    FILE *f = fopen("/proc/self/maps", "r");
    CHECK(f != NULL);
    int n = 0, c;
    while ((c = fgetc(f)) != EOF)
        n += c == '\n';
    fclose(f);
    return n;
}

static go_wg custom_wg;

static void custom_worker(void *arg)
{
    (void)arg;
    volatile char touch[4096];
    touch[0] = 1;
    (void)touch[0];
    go_yield();
    go_wg_done(&custom_wg);
}

static void test_custom_released(void)
{
    go_attr a = {.stack_size = 96 * 1024, .name = "custom"};
    /* Warm up whatever the runtime allocates once. */
    go_wg_add(&custom_wg, 100);
    for (int i = 0; i < 100; i++)
        CHECK_EQ(go_spawn(&a, custom_worker, NULL), 0);
    go_wg_wait(&custom_wg);
    for (int i = 0; i < 1000 && go_num_goroutine() != 0; i++)
        usleep(1000);
    int before = count_mappings();
#ifdef GO_TEST_TSAN
    long vm_before = vm_size_kb();
#endif
    int rounds = TEST_SANITIZED ? 20 : 100;
    for (int r = 0; r < rounds; r++) {
        go_wg_add(&custom_wg, 100);
        for (int i = 0; i < 100; i++)
            CHECK_EQ(go_spawn(&a, custom_worker, NULL), 0);
        go_wg_wait(&custom_wg);
    }
    for (int i = 0; i < 1000 && go_num_goroutine() != 0; i++)
        usleep(1000);
    int after = count_mappings();
    printf("custom stacks: %d goroutines, mappings %d -> %d\n", rounds * 100, before, after);
#ifdef GO_TEST_TSAN
    /* 100 goroutines at a time: kept stacks (112 KiB each) or fibers
     * would add hundreds of MiB; allow the room of 150 stacks. */
    long vm_after = vm_size_kb();
    printf("custom stacks: VmSize %ld -> %ld KiB\n", vm_before, vm_after);
    CHECK(vm_after < vm_before + 150 * 112);
#else
    /* 100 goroutines at a time, each with its own mapping: if exited
     * stacks were kept, the count would grow by thousands. */
    CHECK(after < before + 150);
#endif
}

/* ---- spare stacks go back to the kernel ------------------------------------- */

/*
 * SCAV_N goroutines each dirty SCAV_TOUCH bytes of stack and wait at a
 * gate, so SCAV_N distinct stacks are resident; then all exit. Their Gs
 * stay pooled for reuse, but once the pool has gone unused for a while
 * sysmon drops their stack pages (all but the descriptor's page, and all
 * but the hottest POOL_HOT Gs'). The test waits (a bounded number of
 * polls, never a time assertion) for RSS to fall by at least half of
 * what the goroutines added.
 */
#define SCAV_TOUCH (32 * 1024)
static go_wg scav_ready, scav_gate, scav_done;

#if TEST_SANITIZED
/* Where each worker's dirtied buffer lay (see the comment at the top). */
#define SCAV_MAX 4000
static uintptr_t scav_buf[SCAV_MAX];
#endif

/* What the test watches, in KiB: the process's RSS; under a sanitizer,
 * the resident part of the buffers the first n workers dirtied (see the
 * comment at the top). */
static long resident_kb(int n)
{
    long pg = sysconf(_SC_PAGESIZE);
#if TEST_SANITIZED
    long resident = 0;
    unsigned char vec[SCAV_TOUCH / 4096 + 2];
    for (int i = 0; i < n; i++) {
        uintptr_t lo = scav_buf[i] & ~(uintptr_t)(pg - 1);
        size_t len = scav_buf[i] + SCAV_TOUCH - lo;
        size_t pages = (len + (size_t)pg - 1) / (size_t)pg;
        CHECK(pages <= sizeof vec);
        /* The stack stays mapped: its G is pooled, not unmapped. */
        CHECK_EQ(mincore((void *)lo, len, vec), 0);
        for (size_t j = 0; j < pages; j++)
            resident += vec[j] & 1;
    }
    return resident * (pg / 1024);
#else
    (void)n;
    long size = 0, resident = 0;
    FILE *f = fopen("/proc/self/statm", "r");
    CHECK(f);
    CHECK_EQ(fscanf(f, "%ld %ld", &size, &resident), 2);
    fclose(f);
    return resident * (pg / 1024);
#endif
}

/* Dirty the buffer and wait at the gate in the same frame: the buffer is
 * above the stack pointer while the worker is parked, so sysmon's stack
 * trimming (src/stack.c, "Trimming"), which takes back only the pages
 * below it, leaves it resident until the worker exits. */
__attribute__((noinline)) static void dirty_stack(uintptr_t *where)
{
    volatile char buf[SCAV_TOUCH];
    for (size_t i = 0; i < sizeof buf; i += 512)
        buf[i] = (char)i;
    *where = (uintptr_t)buf;
    go_wg_done(&scav_ready);
    go_wg_wait(&scav_gate);
    (void)buf[0];
}

static void scav_worker(void *arg)
{
#if TEST_SANITIZED
    dirty_stack(&scav_buf[(intptr_t)arg]);
#else
    uintptr_t where;
    dirty_stack(&where);
    (void)arg;
#endif
    go_wg_done(&scav_done);
}

static void test_scavenge(void)
{
    const int n = TEST_SANITIZED ? 4000 : 10000;
#if TEST_SANITIZED
    CHECK(n <= SCAV_MAX);
#endif
    long base = resident_kb(0);
    go_wg_add(&scav_ready, n);
    go_wg_add(&scav_gate, 1);
    go_wg_add(&scav_done, n);
    for (int i = 0; i < n; i++)
        CHECK_EQ(go(scav_worker, (void *)(intptr_t)i), 0);
    go_wg_wait(&scav_ready);
    long peak = resident_kb(n);
    go_wg_done(&scav_gate);
    go_wg_wait(&scav_done);
    long grown = peak - base, now = peak;
    CHECK(grown > (long)n * (SCAV_TOUCH / 1024) / 2); /* they really were resident */
    int polls = 0;
    for (; polls < 600; polls++) { /* up to ~60 s on a very busy machine */
        now = resident_kb(n);
        if (peak - now >= grown / 2)
            break;
        usleep(100000);
    }
    printf("scavenge: %d goroutines added %ld KiB; %ld KiB given back after %d polls\n", n,
           grown, peak - now, polls);
    CHECK(peak - now >= grown / 2);
}

int main(void)
{
    setvbuf(stdout, NULL, _IONBF, 0);
    /* Children first, before this process starts the runtime. */
    if (TEST_SANITIZED) {
        /* See the comment at the top: with a sanitizer, the overflow is
         * the sanitizer's to report. */
        printf("overflow reports: skipped under a sanitizer\n");
    } else {
        test_overflow_reports();
    }
    test_room();
    test_custom_released();
    test_scavenge();
    printf("ok\n");
    return 0;
}
