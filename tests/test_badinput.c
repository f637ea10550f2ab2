/*
 * test_badinput.c - bad arguments are refused with -EINVAL and change
 * nothing (no goroutine started, GOMAXPROCS unchanged); and go_copy /
 * go_spawn's argument block really is a private copy, 16-byte aligned.
 */
#include "test_util.h"

#include <stdint.h>

static int ran;

static void never_runs(void *arg)
{
    (void)arg;
    __atomic_store_n(&ran, 1, __ATOMIC_SEQ_CST);
}

static go_wg edge_wg;

static void edge_done(void *arg)
{
    (void)arg; /* whatever it is: with size 0 there is nothing to read */
    go_wg_done(&edge_wg);
}

static void test_einval(void)
{
    int procs = go_maxprocs(0);
    char buf[GO_COPY_MAX + 1] = {0};

    CHECK_EQ(go(NULL, NULL), -EINVAL);
    CHECK_EQ(go(NULL, buf), -EINVAL);
    CHECK_EQ(go_copy(NULL, buf, 8), -EINVAL);
    CHECK_EQ(go_spawn(NULL, NULL, NULL), -EINVAL);

    go_attr a = {.stack_size = 100};
    CHECK_EQ(go_spawn(&a, never_runs, NULL), -EINVAL);
    a.stack_size = GO_STACK_MIN - 1;
    CHECK_EQ(go_spawn(&a, never_runs, NULL), -EINVAL);
    a.stack_size = (size_t)1 << 40;
    CHECK_EQ(go_spawn(&a, never_runs, NULL), -EINVAL);
    a.stack_size = GO_STACK_MAX + 1;
    CHECK_EQ(go_spawn(&a, never_runs, NULL), -EINVAL);
    a.stack_size = SIZE_MAX;
    CHECK_EQ(go_spawn(&a, never_runs, NULL), -EINVAL);

    CHECK_EQ(go_copy(never_runs, buf, GO_COPY_MAX + 1), -EINVAL);
    CHECK_EQ(go_copy(never_runs, buf, SIZE_MAX), -EINVAL);
    CHECK_EQ(go_copy(never_runs, NULL, 1), -EINVAL);
    CHECK_EQ(go_copy(never_runs, NULL, GO_COPY_MAX), -EINVAL);

    go_attr c = {.arg_size = GO_COPY_MAX + 1};
    CHECK_EQ(go_spawn(&c, never_runs, buf), -EINVAL);
    c.arg_size = 16;
    CHECK_EQ(go_spawn(&c, never_runs, NULL), -EINVAL);
    /* A good stack size does not excuse a bad argument, and vice versa. */
    go_attr d = {.stack_size = 100, .arg_size = 8};
    CHECK_EQ(go_spawn(&d, never_runs, buf), -EINVAL);

    CHECK_EQ(go_maxprocs(GO_MAXPROCS_MAX + 1), -EINVAL);
    CHECK_EQ(go_maxprocs(INT32_MAX), -EINVAL);
    CHECK_EQ(go_maxprocs(0), procs);
    /* The largest valid value is accepted, and undone. */
    CHECK_EQ(go_maxprocs(GO_MAXPROCS_MAX), procs);
    CHECK_EQ(go_maxprocs(procs), GO_MAXPROCS_MAX);
    CHECK_EQ(go_maxprocs(0), procs);

    /* Nothing was started. */
    CHECK_EQ(go_num_goroutine(), 0);
    for (int i = 0; i < 1000; i++)
        go_yield();
    CHECK_EQ(__atomic_load_n(&ran, __ATOMIC_SEQ_CST), 0);

    /* The edges that are valid. */
    go_wg_add(&edge_wg, 4);
    go_attr e = {.stack_size = GO_STACK_MIN};
    CHECK_EQ(go_spawn(&e, edge_done, NULL), 0);
    e.stack_size = GO_STACK_MAX;
    CHECK_EQ(go_spawn(&e, edge_done, NULL), 0);
    CHECK_EQ(go_copy(edge_done, NULL, 0), 0);
    CHECK_EQ(go_copy(edge_done, buf, 0), 0);
    go_wg_wait(&edge_wg);
    printf("EINVAL: all refused, nothing started, GOMAXPROCS still %d\n", go_maxprocs(0));
}

/* ---- go_copy copies --------------------------------------------------------------- */

struct blob {
    unsigned char bytes[GO_COPY_MAX];
};

struct copy_check {
    size_t size;
    unsigned seed;
};

static go_wg copy_wg;
static long copy_bad_align, copy_bad_data, copy_checked;
static struct copy_check checks[64];

static void copied(void *p)
{
    /* The goroutine learns which case it is from the first bytes. */
    const unsigned char *b = p;
    unsigned idx = b[0];
    struct copy_check c = checks[idx];
    if ((uintptr_t)p % 16 != 0)
        __atomic_add_fetch(&copy_bad_align, 1, __ATOMIC_RELAXED);
    for (size_t i = 1; i < c.size; i++)
        if (b[i] != (unsigned char)(c.seed + i * 7)) {
            __atomic_add_fetch(&copy_bad_data, 1, __ATOMIC_RELAXED);
            break;
        }
    __atomic_add_fetch(&copy_checked, 1, __ATOMIC_RELAXED);
    go_wg_done(&copy_wg);
}

static void test_copy(void)
{
    static const size_t sizes[] = {1, 2, 3, 7, 8, 15, 16, 17, 31, 33, 100, 255, 512, 1000,
                                   GO_COPY_MAX - 1, GO_COPY_MAX};
    size_t nsizes = sizeof sizes / sizeof sizes[0];
    static struct blob src;
    int n = 0;
    for (int round = 0; round < 3; round++) {
        for (size_t k = 0; k < nsizes; k++, n++) {
            checks[n].size = sizes[k];
            checks[n].seed = (unsigned)(n * 31 + 5);
            /* Start the source at an odd address: the copy must still be
             * aligned. */
            unsigned char *s = src.bytes + (round == 1 && sizes[k] < GO_COPY_MAX ? 1 : 0);
            s[0] = (unsigned char)n;
            for (size_t i = 1; i < sizes[k]; i++)
                s[i] = (unsigned char)(checks[n].seed + i * 7);
            go_wg_add(&copy_wg, 1);
            if (round < 2) {
                CHECK_EQ(go_copy(copied, s, sizes[k]), 0);
            } else {
                go_attr a = {.arg_size = sizes[k], .name = "copied",
                             .stack_size = k % 2 ? 64 * 1024 : 0};
                CHECK_EQ(go_spawn(&a, copied, s), 0);
            }
            /* The caller may reuse its buffer at once. */
            memset(src.bytes, 0xEE, sizeof src.bytes);
        }
    }
    go_wg_wait(&copy_wg);
    CHECK_EQ(copy_checked, n);
    CHECK_EQ(copy_bad_align, 0);
    CHECK_EQ(copy_bad_data, 0);
    printf("go_copy: %d copies, each private and 16-byte aligned\n", n);
}

/* Without arg_size, go_spawn passes arg as is (no copy). */
static int shared_value;
static go_wg as_is_wg;

static void as_is(void *p)
{
    CHECK(p == &shared_value);
    go_wg_done(&as_is_wg);
}

static void test_spawn_no_copy(void)
{
    go_attr a = {.name = "as-is"};
    go_wg_add(&as_is_wg, 2);
    CHECK_EQ(go_spawn(&a, as_is, &shared_value), 0);
    CHECK_EQ(go_spawn(NULL, as_is, &shared_value), 0);
    go_wg_wait(&as_is_wg);
    printf("go_spawn without arg_size: arg passed as is\n");
}

int main(void)
{
    setvbuf(stdout, NULL, _IONBF, 0);
    test_einval();
    test_copy();
    test_spawn_no_copy();
    printf("ok\n");
    return 0;
}
