/*
 * test_ctx.c - contexts: the background root, explicit cancellation
 * (-ECANCELED) reaching 10,000 children each watched by a goroutine
 * blocked on its done channel, grandchildren cancelled by a grandparent,
 * a chain of 10,000 (no recursion), deadlines (-ETIMEDOUT, never early,
 * inheritance), children born cancelled, freeing a parent that still has
 * children, freeing before a deadline fires and racing with it, and
 * children freed while their parent is being cancelled.
 */
#include "test_util.h"

#include <pthread.h>
#include <stdint.h>

#define MS 1000000LL
#define US 1000LL
#define HOUR (3600LL * 1000 * MS)

static uint64_t rng = 0x9E3779B97F4A7C15ULL;
static uint64_t rnd(void)
{
    uint64_t x = __atomic_load_n(&rng, __ATOMIC_RELAXED);
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    __atomic_store_n(&rng, x, __ATOMIC_RELAXED);
    return x;
}

/* True if ctx's done channel is closed (never blocks). */
static bool is_done(go_ctx *ctx)
{
    bool ok = true;
    if (!go_chan_try_recv(go_ctx_done(ctx), NULL, &ok))
        return false;
    CHECK(!ok); /* a done channel only ever closes */
    return true;
}

static void wait_done(go_ctx *ctx)
{
    CHECK(!go_chan_recv(go_ctx_done(ctx), NULL));
}

static void test_background(void)
{
    go_ctx *bg = go_ctx_background();
    CHECK(bg != NULL);
    CHECK(bg == go_ctx_background());
    CHECK(go_ctx_done(bg) == NULL);
    CHECK_EQ(go_ctx_err(bg), 0);
    int64_t d = 42;
    CHECK(!go_ctx_deadline(bg, &d));
    CHECK_EQ(d, 42);
    go_ctx_cancel(bg);
    go_ctx_free(bg);
    CHECK_EQ(go_ctx_err(bg), 0);
    go_ctx_free(NULL);
    go_ctx_cancel(NULL);
    errno = 0;
    CHECK(go_ctx_with_cancel(NULL) == NULL);
    CHECK_EQ(errno, EINVAL);
    errno = 0;
    CHECK(go_ctx_with_timeout(NULL, MS) == NULL);
    CHECK_EQ(errno, EINVAL);
}

static void test_cancel(void)
{
    go_ctx *c = go_ctx_with_cancel(go_ctx_background());
    CHECK(c != NULL);
    CHECK(go_ctx_done(c) != NULL);
    CHECK_EQ(go_ctx_err(c), 0);
    CHECK(!go_ctx_deadline(c, NULL));
    CHECK(!is_done(c));
    go_ctx_cancel(c);
    CHECK_EQ(go_ctx_err(c), -ECANCELED);
    CHECK(is_done(c));
    go_ctx_cancel(c); /* idempotent */
    CHECK_EQ(go_ctx_err(c), -ECANCELED);
    /* A child of a cancelled parent is born cancelled. */
    go_ctx *k = go_ctx_with_cancel(c);
    CHECK(k != NULL);
    CHECK_EQ(go_ctx_err(k), -ECANCELED);
    CHECK(is_done(k));
    go_ctx *kt = go_ctx_with_timeout(c, HOUR);
    CHECK_EQ(go_ctx_err(kt), -ECANCELED);
    go_ctx_free(kt);
    go_ctx_free(k);
    go_ctx_free(c);
    /* Free of a live context cancels it (nobody watches; no crash). */
    go_ctx_free(go_ctx_with_cancel(go_ctx_background()));
}

/* ---- 10,000 children, a goroutine on each --------------------------------- */

enum { NKIDS = 10000 };
static go_wg wg;
static go_ctx *kids[NKIDS];

static void watcher(void *arg)
{
    go_ctx *k = arg;
    wait_done(k);
    CHECK_EQ(go_ctx_err(k), -ECANCELED);
    go_wg_done(&wg);
}

static void test_many_children(void)
{
    go_ctx *parent = go_ctx_with_cancel(go_ctx_background());
    go_wg_add(&wg, NKIDS);
    for (int i = 0; i < NKIDS; i++) {
        kids[i] = go_ctx_with_cancel(parent);
        CHECK(kids[i] != NULL);
        CHECK_EQ(go(watcher, kids[i]), 0);
    }
    /* Let some of them block first (not required: a closed done channel
     * releases them either way). */
    go_sleep(1 * MS);
    go_ctx_cancel(parent);
    go_wg_wait(&wg);
    for (int i = 0; i < NKIDS; i++)
        go_ctx_free(kids[i]); /* children first */
    go_ctx_free(parent);
}

/* ---- grandchildren, and a deep chain ---------------------------------------- */

static void test_tree(void)
{
    go_ctx *gp = go_ctx_with_cancel(go_ctx_background());
    go_ctx *p[3], *g[3][3];
    for (int i = 0; i < 3; i++) {
        p[i] = go_ctx_with_cancel(gp);
        for (int j = 0; j < 3; j++)
            g[i][j] = j == 1 ? go_ctx_with_timeout(p[i], HOUR) : go_ctx_with_cancel(p[i]);
    }
    /* Cancelling a middle node reaches only its subtree. */
    go_ctx_cancel(p[1]);
    for (int j = 0; j < 3; j++) {
        CHECK_EQ(go_ctx_err(g[1][j]), -ECANCELED);
        CHECK_EQ(go_ctx_err(g[0][j]), 0);
    }
    CHECK_EQ(go_ctx_err(gp), 0);
    /* A freed child no longer hangs off its parent. */
    go_ctx_free(g[0][2]);
    go_ctx_cancel(gp);
    for (int i = 0; i < 3; i++) {
        CHECK_EQ(go_ctx_err(p[i]), -ECANCELED);
        for (int j = 0; j < 3; j++) {
            if (i == 0 && j == 2)
                continue;
            CHECK(is_done(g[i][j]));
            CHECK_EQ(go_ctx_err(g[i][j]), -ECANCELED);
        }
    }
    for (int i = 0; i < 3; i++) {
        for (int j = 0; j < 3; j++)
            if (!(i == 0 && j == 2))
                go_ctx_free(g[i][j]);
        go_ctx_free(p[i]);
    }
    go_ctx_free(gp);

    /* A chain 10,000 deep: cancellation reaches the leaf without
     * recursing (a timer callback may run on a small stack). */
    enum { DEPTH = 10000 };
    static go_ctx *chain[DEPTH];
    chain[0] = go_ctx_with_cancel(go_ctx_background());
    for (int i = 1; i < DEPTH; i++)
        chain[i] = go_ctx_with_cancel(chain[i - 1]);
    go_ctx_cancel(chain[0]);
    wait_done(chain[DEPTH - 1]);
    for (int i = DEPTH - 1; i >= 0; i--) {
        CHECK_EQ(go_ctx_err(chain[i]), -ECANCELED);
        go_ctx_free(chain[i]);
    }
    /* The same chain timed out by its root's deadline, from a callback. */
    chain[0] = go_ctx_with_timeout(go_ctx_background(), 1 * MS);
    for (int i = 1; i < DEPTH; i++)
        chain[i] = go_ctx_with_cancel(chain[i - 1]);
    wait_done(chain[DEPTH - 1]);
    for (int i = DEPTH - 1; i >= 0; i--) {
        CHECK_EQ(go_ctx_err(chain[i]), -ETIMEDOUT);
        go_ctx_free(chain[i]);
    }
}

/* ---- deadlines ---------------------------------------------------------------- */

static void timed_watcher(void *arg)
{
    go_ctx *c = arg;
    int64_t d = 0;
    CHECK(go_ctx_deadline(c, &d));
    wait_done(c);
    CHECK(go_now() >= d);
    CHECK_EQ(go_ctx_err(c), -ETIMEDOUT);
    go_wg_done(&wg);
}

static void test_deadline(void)
{
    int64_t before = go_now();
    go_ctx *c = go_ctx_with_timeout(go_ctx_background(), 2 * MS);
    int64_t d = 0;
    CHECK(go_ctx_deadline(c, &d));
    CHECK(d >= before + 2 * MS);
    CHECK(d <= go_now() + 2 * MS);
    /* A child with a later deadline inherits the parent's; one with an
     * earlier deadline keeps its own; a plain child inherits. */
    go_ctx *later = go_ctx_with_timeout(c, HOUR);
    go_ctx *plain = go_ctx_with_cancel(c);
    int64_t dl = 0, dp = 0;
    CHECK(go_ctx_deadline(later, &dl));
    CHECK(go_ctx_deadline(plain, &dp));
    CHECK_EQ(dl, d);
    CHECK_EQ(dp, d);
    go_ctx *earlier = go_ctx_with_deadline(c, d - 1 * MS);
    int64_t de = 0;
    CHECK(go_ctx_deadline(earlier, &de));
    CHECK_EQ(de, d - 1 * MS);

    wait_done(c);
    CHECK(go_now() >= d);
    CHECK_EQ(go_ctx_err(c), -ETIMEDOUT);
    /* Descendants take the parent's reason. */
    wait_done(later);
    CHECK_EQ(go_ctx_err(later), -ETIMEDOUT);
    CHECK_EQ(go_ctx_err(plain), -ETIMEDOUT);
    CHECK_EQ(go_ctx_err(earlier), -ETIMEDOUT);
    go_ctx_cancel(c); /* too late: the reason stays */
    CHECK_EQ(go_ctx_err(c), -ETIMEDOUT);
    go_ctx_free(earlier);
    go_ctx_free(plain);
    go_ctx_free(later);
    go_ctx_free(c);

    /* Already past: born timed out. */
    go_ctx *z = go_ctx_with_timeout(go_ctx_background(), 0);
    CHECK(is_done(z));
    CHECK_EQ(go_ctx_err(z), -ETIMEDOUT);
    go_ctx_free(z);
    z = go_ctx_with_deadline(go_ctx_background(), go_now() - 1);
    CHECK_EQ(go_ctx_err(z), -ETIMEDOUT);
    go_ctx_free(z);
    /* Cancelled before its deadline: -ECANCELED, and it stays so. */
    z = go_ctx_with_timeout(go_ctx_background(), HOUR);
    go_ctx_cancel(z);
    go_sleep(1 * MS);
    CHECK_EQ(go_ctx_err(z), -ECANCELED);
    go_ctx_free(z);

    /* Many at once, watched from goroutines. */
    enum { N = 500 };
    static go_ctx *cs[N];
    go_wg_add(&wg, N);
    for (int i = 0; i < N; i++) {
        cs[i] = go_ctx_with_timeout(go_ctx_background(), (int64_t)(rnd() % (3 * MS)));
        CHECK_EQ(go(timed_watcher, cs[i]), 0);
    }
    go_wg_wait(&wg);
    for (int i = 0; i < N; i++)
        go_ctx_free(cs[i]);
}

/* ---- lifetimes ------------------------------------------------------------------ */

static void test_free_parent_first(void)
{
    go_ctx *p = go_ctx_with_timeout(go_ctx_background(), HOUR);
    go_ctx *k1 = go_ctx_with_cancel(p);
    go_ctx *k2 = go_ctx_with_timeout(p, HOUR);
    go_ctx *g = go_ctx_with_cancel(k1);
    go_ctx_free(p); /* tolerated: children are cancelled and detached */
    CHECK_EQ(go_ctx_err(k1), -ECANCELED);
    CHECK_EQ(go_ctx_err(k2), -ECANCELED);
    CHECK_EQ(go_ctx_err(g), -ECANCELED);
    go_ctx_free(k1); /* also before its own child */
    go_ctx_free(g);
    go_ctx_free(k2);
}

static void racer(void *arg)
{
    (void)arg;
    for (int i = 0; i < 300; i++) {
        /* Freed before, while, or after its deadline fires. */
        go_ctx *c = go_ctx_with_timeout(go_ctx_background(), (int64_t)(rnd() % (100 * US)));
        go_ctx *k = go_ctx_with_timeout(c, (int64_t)(rnd() % (100 * US)));
        if (rnd() % 2)
            go_yield();
        go_ctx_free(k);
        go_ctx_free(c);
    }
    go_wg_done(&wg);
}

struct family {
    go_ctx *parent;
    go_ctx *kids[64];
};

static void kid_freer(void *arg)
{
    struct family *f = arg;
    for (int i = 0; i < 64; i++)
        go_ctx_free(f->kids[i]);
    go_wg_done(&wg);
}

static void test_races(void)
{
    go_wg_add(&wg, 8);
    for (int i = 0; i < 8; i++)
        CHECK_EQ(go(racer, NULL), 0);
    go_wg_wait(&wg);

    /* Children freed by one goroutine while their parent is cancelled by
     * another (or by its deadline): the canceller pins what it holds. */
    for (int round = 0; round < 200; round++) {
        struct family f;
        go_ctx *bg = go_ctx_background();
        f.parent = round % 2 ? go_ctx_with_cancel(bg)
                             : go_ctx_with_timeout(bg, (int64_t)(rnd() % (50 * US)));
        for (int i = 0; i < 64; i++)
            f.kids[i] = go_ctx_with_cancel(f.parent);
        go_wg_add(&wg, 1);
        CHECK_EQ(go(kid_freer, &f), 0);
        if (round % 2)
            go_ctx_cancel(f.parent);
        go_wg_wait(&wg);
        go_ctx_free(f.parent);
    }
}

static void *thread_main(void *arg)
{
    (void)arg;
    /* From a plain thread: a blocking receive on done, and a timeout. */
    go_ctx *c = go_ctx_with_timeout(go_ctx_background(), 1 * MS);
    wait_done(c);
    CHECK_EQ(go_ctx_err(c), -ETIMEDOUT);
    go_ctx_free(c);
    return NULL;
}

int main(void)
{
    test_background();
    test_cancel();
    test_many_children();
    test_tree();
    test_deadline();
    test_free_parent_first();
    test_races();
    pthread_t th;
    CHECK_EQ(pthread_create(&th, NULL, thread_main, NULL), 0);
    pthread_join(th, NULL);
    printf("test_ctx: ok (GOMAXPROCS=%d)\n", go_maxprocs(0));
    return 0;
}
