/*
 * test_go.c - the goroutine life cycle at scale: a million goroutines
 * spawned by one plain thread and joined with a WaitGroup (each seen
 * exactly once), a binary tree of goroutines spawning goroutines (depth
 * 20, every node and leaf counted exactly), go_exit from deep inside a
 * call chain (nothing after it runs), go_num_goroutine counting exactly,
 * and go_id (0 on plain threads, unique, increasing for one spawner);
 * and 36 plain threads that spawn and exit at once (their queued
 * goroutines must still run, exactly once).
 *
 * Nothing here asserts on time. Where a goroutine's exit is asynchronous
 * (it calls go_wg_done and only then returns), the test polls
 * go_num_goroutine() with a bound on the number of polls, not on time.
 */
#include "test_util.h"

#include <pthread.h>
#include <stdint.h>
#include <time.h>

/* Poll until no goroutine exists. An exit is asynchronous: the goroutine
 * that called go_wg_done still has to return and be recycled. */
static void wait_no_goroutines(void)
{
    for (long i = 0; go_num_goroutine() != 0; i++) {
        if (i > 200000) {
            fprintf(stderr, "go_num_goroutine() stuck at %d\n", go_num_goroutine());
            CHECK(!"goroutines never finished exiting");
        }
        struct timespec ts = {0, 50000};
        nanosleep(&ts, NULL);
    }
}

/* ---- a million goroutines from one plain thread ------------------------ */

static go_wg million_wg;
static long million_count;
static uint8_t *million_seen;
static long million_dups;

static void million_worker(void *arg)
{
    size_t i = (size_t)(uintptr_t)arg;
    if (__atomic_exchange_n(&million_seen[i], 1, __ATOMIC_RELAXED))
        __atomic_add_fetch(&million_dups, 1, __ATOMIC_RELAXED);
    __atomic_add_fetch(&million_count, 1, __ATOMIC_RELAXED);
    go_wg_done(&million_wg);
}

static void test_million(long n)
{
    million_seen = calloc((size_t)n, 1);
    CHECK(million_seen != NULL);
    million_count = 0;
    million_dups = 0;
    go_wg_add(&million_wg, n);
    for (long i = 0; i < n; i++) {
        int rc = go(million_worker, (void *)(uintptr_t)i);
        if (rc != 0) {
            fprintf(stderr, "go() failed at %ld: %d\n", i, rc);
            CHECK_EQ(rc, 0);
        }
    }
    go_wg_wait(&million_wg);
    CHECK_EQ(__atomic_load_n(&million_count, __ATOMIC_RELAXED), n);
    CHECK_EQ(million_dups, 0);
    for (long i = 0; i < n; i++)
        if (!million_seen[i]) {
            fprintf(stderr, "goroutine %ld never ran\n", i);
            CHECK(million_seen[i]);
        }
    free(million_seen);
    wait_no_goroutines();
    printf("million: %ld goroutines ran exactly once\n", n);
}

/* ---- a binary tree of goroutines spawning goroutines ------------------- */

/*
 * Every node of depth < tree_depth spawns two children (go_copy: the
 * argument block is copied, no malloc) and then returns, usually before
 * its children run; a leaf counts itself. Each node is counted in
 * tree_nodes, so a lost or duplicated goroutine shows at either level.
 * The WaitGroup gets +2 before the children are spawned and -1 when a
 * node is finished, so it reaches zero only when every node has run.
 */
struct node_arg {
    int depth;
    uint32_t path; /* the node's position in its level, bit per level */
};

static int tree_depth;
static int tree_full;  /* nodes above this depth have two children, below one */
static go_wg tree_wg;
static long tree_nodes, tree_leaves;
static uint64_t tree_leaf_path_sum;

static void tree_node(void *p)
{
    struct node_arg a = *(struct node_arg *)p;
    CHECK(((uintptr_t)p & 15) == 0);
    __atomic_add_fetch(&tree_nodes, 1, __ATOMIC_RELAXED);
    if (a.depth == tree_depth) {
        __atomic_add_fetch(&tree_leaves, 1, __ATOMIC_RELAXED);
        __atomic_add_fetch(&tree_leaf_path_sum, a.path, __ATOMIC_RELAXED);
        go_wg_done(&tree_wg);
        return;
    }
    uint32_t fanout = a.depth < tree_full ? 2 : 1;
    go_wg_add(&tree_wg, fanout);
    for (uint32_t side = 0; side < fanout; side++) {
        struct node_arg c = {a.depth + 1, fanout == 2 ? a.path << 1 | side : a.path};
        int rc = go_copy(tree_node, &c, sizeof c);
        if (rc != 0) {
            fprintf(stderr, "go_copy failed at depth %d: %d\n", c.depth, rc);
            CHECK_EQ(rc, 0);
        }
    }
    go_wg_done(&tree_wg);
}

static void test_tree(int depth, int full)
{
    tree_depth = depth;
    tree_full = full;
    tree_nodes = tree_leaves = 0;
    tree_leaf_path_sum = 0;
    struct node_arg root = {0, 0};
    go_wg_add(&tree_wg, 1);
    CHECK_EQ(go_copy(tree_node, &root, sizeof root), 0);
    go_wg_wait(&tree_wg);
    long leaves = 1L << full;
    CHECK_EQ(tree_leaves, leaves);
    /* A full binary tree down to `full`, then a chain below each of its
     * leaves. */
    CHECK_EQ(tree_nodes, 2 * leaves - 1 + leaves * (long)(depth - full));
    /* The leaves' paths are exactly 0 .. 2^full - 1. */
    CHECK_EQ(tree_leaf_path_sum, (uint64_t)leaves * (uint64_t)(leaves - 1) / 2);
    wait_no_goroutines();
    printf("tree: depth %d (binary to depth %d), %ld goroutines, %ld leaves\n", depth, full,
           tree_nodes, tree_leaves);
}

/* ---- go_exit from deep inside a call chain ----------------------------- */

static go_wg exit_wg;
static long exit_reached_bottom, exit_after_exit, exit_returned;
/* Always 1; read through a volatile so that the compiler sees a path on
 * which dive() returns (and does not warn of infinite recursion). */
static volatile int exit_for_real = 1;

/* Recursion with a frame that cannot be optimised away. */
__attribute__((noinline)) static int dive(int depth, int target)
{
    volatile char pad[128];
    pad[0] = (char)depth;
    if (depth == target) {
        __atomic_add_fetch(&exit_reached_bottom, 1, __ATOMIC_RELAXED);
        /* Let others run first: go_exit must also work after a switch,
         * maybe on another thread. */
        go_yield();
        go_wg_done(&exit_wg);
        if (exit_for_real)
            go_exit();
        /* Never reached. */
        __atomic_add_fetch(&exit_after_exit, 1, __ATOMIC_RELAXED);
        return 0;
    }
    int r = dive(depth + 1, target);
    /* Only reached if go_exit returned. */
    __atomic_add_fetch(&exit_after_exit, 1, __ATOMIC_RELAXED);
    return r + pad[0];
}

static void exit_worker(void *arg)
{
    int target = (int)(intptr_t)arg;
    dive(0, target);
    __atomic_add_fetch(&exit_returned, 1, __ATOMIC_RELAXED);
}

/* A goroutine that exits at once, and one whose spawner exits before it
 * runs: neither affects anybody else. */
static void exit_now(void *arg)
{
    (void)arg;
    go_wg_done(&exit_wg);
    go_exit();
}

static void exit_spawner(void *arg)
{
    (void)arg;
    CHECK_EQ(go(exit_now, NULL), 0);
    go_wg_done(&exit_wg);
    go_exit();
}

static void test_exit_deep(void)
{
    const int n = 2000;
    exit_reached_bottom = exit_after_exit = exit_returned = 0;
    go_wg_add(&exit_wg, n);
    for (int i = 0; i < n; i++)
        CHECK_EQ(go(exit_worker, (void *)(intptr_t)(i % 200)), 0);
    go_wg_wait(&exit_wg);
    /* go_wg_done happens before go_exit: wait for the exits themselves. */
    wait_no_goroutines();
    CHECK_EQ(exit_reached_bottom, n);
    CHECK_EQ(exit_after_exit, 0);
    CHECK_EQ(exit_returned, 0);

    /* The stacks of exited goroutines are recycled: many more rounds
     * than any cache holds, all fine. */
    for (int round = 0; round < 20; round++) {
        go_wg_add(&exit_wg, 2 * 500);
        for (int i = 0; i < 500; i++)
            CHECK_EQ(go(exit_spawner, NULL), 0);
        go_wg_wait(&exit_wg);
    }
    wait_no_goroutines();
    CHECK_EQ(exit_after_exit, 0);
    printf("exit: %d deep go_exit calls, nothing ran after them\n", n);
}

/* ---- go_num_goroutine -------------------------------------------------- */

static go_wg num_started, num_gate, num_done;
static int num_seen_inside;

static void num_parked(void *arg)
{
    (void)arg;
    go_wg_done(&num_started);
    go_wg_wait(&num_gate);
    go_wg_done(&num_done);
}

static void num_self(void *arg)
{
    (void)arg;
    num_seen_inside = go_num_goroutine();
    go_wg_done(&num_done);
}

static void test_num_goroutine(void)
{
    wait_no_goroutines();
    CHECK_EQ(go_num_goroutine(), 0);

    /* One goroutine counts itself. */
    go_wg_add(&num_done, 1);
    CHECK_EQ(go(num_self, NULL), 0);
    go_wg_wait(&num_done);
    CHECK_EQ(num_seen_inside, 1);
    wait_no_goroutines();

    for (int round = 0; round < 3; round++) {
        int n = round == 0 ? 1 : round == 1 ? 1000 : 10000;
        go_wg_add(&num_started, n);
        go_wg_add(&num_gate, 1);
        go_wg_add(&num_done, n);
        for (int i = 0; i < n; i++)
            CHECK_EQ(go(num_parked, NULL), 0);
        go_wg_wait(&num_started);
        /* All n are parked on the gate (or about to): exactly n exist,
         * and the count stays put while nothing happens. */
        for (int k = 0; k < 100; k++)
            CHECK_EQ(go_num_goroutine(), n);
        go_wg_done(&num_gate);
        go_wg_wait(&num_done);
        wait_no_goroutines();
        CHECK_EQ(go_num_goroutine(), 0);
    }
    printf("num_goroutine: exact for 1, 1000, 10000 parked goroutines\n");
}

/* ---- go_id --------------------------------------------------------------- */

#define NIDS 4000
static int64_t ids[2][NIDS];
static go_wg id_wg;

struct id_arg {
    int round, idx;
};

static void id_worker(void *p)
{
    struct id_arg a = *(struct id_arg *)p;
    int64_t id = go_id();
    /* Stable across switches. */
    go_yield();
    CHECK_EQ(go_id(), id);
    ids[a.round][a.idx] = id;
    go_wg_done(&id_wg);
}

/* A goroutine that spawns half of a round: its ids come from its P's
 * cache, unique but only "increasing-ish". */
static void id_spawner(void *p)
{
    int round = *(int *)p;
    int64_t self = go_id();
    CHECK(self > 0);
    for (int i = NIDS / 2; i < NIDS; i++) {
        struct id_arg a = {round, i};
        CHECK_EQ(go_copy(id_worker, &a, sizeof a), 0);
    }
    go_wg_done(&id_wg);
}

static int cmp_i64(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return (x > y) - (x < y);
}

static void *id_thread(void *arg)
{
    (void)arg;
    CHECK_EQ(go_id(), 0);
    return NULL;
}

static void test_id(void)
{
    CHECK_EQ(go_id(), 0);
    pthread_t th;
    CHECK_EQ(pthread_create(&th, NULL, id_thread, NULL), 0);
    pthread_join(th, NULL);

    for (int round = 0; round < 2; round++) {
        go_wg_add(&id_wg, NIDS + 1);
        /* The first half from this plain thread, in order. */
        for (int i = 0; i < NIDS / 2; i++) {
            struct id_arg a = {round, i};
            CHECK_EQ(go_copy(id_worker, &a, sizeof a), 0);
        }
        CHECK_EQ(go_copy(id_spawner, &round, sizeof round), 0);
        go_wg_wait(&id_wg);
        wait_no_goroutines();
        /* One spawner, spawning in order: strictly increasing ids. */
        for (int i = 1; i < NIDS / 2; i++)
            if (ids[round][i] <= ids[round][i - 1]) {
                fprintf(stderr, "ids not increasing: [%d]=%lld then [%d]=%lld\n", i - 1,
                        (long long)ids[round][i - 1], i, (long long)ids[round][i]);
                CHECK(ids[round][i] > ids[round][i - 1]);
            }
    }
    /* Never reused, even though the second round ran on recycled Gs. */
    static int64_t all[2 * NIDS];
    memcpy(all, ids, sizeof all);
    qsort(all, 2 * NIDS, sizeof all[0], cmp_i64);
    CHECK(all[0] > 0);
    for (int i = 1; i < 2 * NIDS; i++)
        if (all[i] == all[i - 1]) {
            fprintf(stderr, "goroutine id %lld given out twice\n", (long long)all[i]);
            CHECK(all[i] != all[i - 1]);
        }
    /* The second round started after the first round's plain-thread
     * spawns: its plain-thread ids are all larger. */
    CHECK(ids[1][0] > ids[0][NIDS / 2 - 1]);
    printf("id: unique over %d goroutines, 0 on plain threads\n", 2 * NIDS);
}

/* ---- many plain threads spawning, then exiting at once ----------------- */

/*
 * Each plain thread that spawns gets a run-queue ring of its own while
 * rings last (sched.c), and the rest use the shared inject stack. A thread
 * that exits right after spawning leaves Gs in its ring, which must move
 * to the global queue and run; its ring is then reused by a later thread.
 * 3 waves of 12 threads (more threads than rings), each spawning
 * PLAIN_PER goroutines that mark a slot: every slot exactly once.
 */
#define PLAIN_THREADS 12
#define PLAIN_WAVES 3
#define PLAIN_PER 3000
static go_wg plain_wg;
static uint8_t plain_seen[PLAIN_WAVES * PLAIN_THREADS * PLAIN_PER];
static long plain_dups;

static void plain_worker(void *arg)
{
    size_t i = (size_t)(uintptr_t)arg;
    if (__atomic_exchange_n(&plain_seen[i], 1, __ATOMIC_RELAXED))
        __atomic_add_fetch(&plain_dups, 1, __ATOMIC_RELAXED);
    go_wg_done(&plain_wg);
}

static void *plain_spawner(void *arg)
{
    size_t base = (size_t)(uintptr_t)arg;
    for (size_t i = 0; i < PLAIN_PER; i++)
        CHECK_EQ(go(plain_worker, (void *)(uintptr_t)(base + i)), 0);
    return NULL; /* exits with Gs possibly still queued in its ring */
}

static void test_plain_spawners(void)
{
    go_wg_add(&plain_wg, PLAIN_WAVES * PLAIN_THREADS * PLAIN_PER);
    for (int w = 0; w < PLAIN_WAVES; w++) {
        pthread_t th[PLAIN_THREADS];
        for (int t = 0; t < PLAIN_THREADS; t++) {
            size_t base = ((size_t)w * PLAIN_THREADS + (size_t)t) * PLAIN_PER;
            CHECK_EQ(pthread_create(&th[t], NULL, plain_spawner, (void *)(uintptr_t)base), 0);
        }
        for (int t = 0; t < PLAIN_THREADS; t++)
            CHECK_EQ(pthread_join(th[t], NULL), 0);
    }
    go_wg_wait(&plain_wg);
    CHECK_EQ(plain_dups, 0);
    for (size_t i = 0; i < sizeof plain_seen; i++)
        CHECK_EQ(plain_seen[i], 1);
    wait_no_goroutines();
    printf("plain spawners: %d threads x %d goroutines, each run once\n",
           PLAIN_WAVES * PLAIN_THREADS, PLAIN_PER);
}

int main(void)
{
    setvbuf(stdout, NULL, _IONBF, 0);
    printf("GOMAXPROCS=%d\n", go_maxprocs(0));
    test_id();
    test_num_goroutine();
    test_exit_deep();
    test_plain_spawners();
    test_million(TEST_SANITIZED ? 100000 : 1000000);
    /* The full binary tree of depth 20 (2^21 - 1 goroutines) takes about
     * a second here at any GOMAXPROCS. Sanitizers make each goroutine ten
     * to thirty times dearer, so there the tree is binary to depth 14 and
     * a chain below (depth 20 still, 2^14 leaves, ~130,000 goroutines). */
    test_tree(20, TEST_SANITIZED ? 14 : 20);
    printf("ok\n");
    return 0;
}
