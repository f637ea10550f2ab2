/*
 * test_lockrank.c - the lock order check of src/lock.c (GO_LOCKRANK), on
 * locks of its own: this program links lock.c alone, built with the check
 * on whatever the build type, and supplies the debug_fatal() the check
 * reports through. (In Debug builds, `make asan`, the whole suite also
 * runs with the check on in the library itself.)
 *
 * Allowed: ranks taken outer to inner; two locks of a rank that nests
 * (channels, timer heaps) in address order; any try-lock; releases in any
 * order. Fatal, each in a child process, checked by its message: an inner
 * rank then an outer one; a nesting rank against address order; two of a
 * rank that does not nest; anything under an unranked (leaf) lock; the
 * same lock twice; releasing a lock the thread does not hold. The held
 * locks are per thread: another thread's are not in the way.
 */
#include "test_util.h"

#include <pthread.h>

#include "../src/lock.h"

/* What the library's debug.c does, minus the goroutine dump. */
void debug_fatal(const char *msg)
{
    fprintf(stderr, "fatal error: %s\n", msg);
    abort();
}

/* Locks of every shape the scenarios need; ranks set in main. */
static rlock_t chan2[2], sema2[2], sched_l, stack_l, leaf_l, leaf2_l;

static void inner_then_outer(void *arg)
{
    (void)arg;
    rlock(&sched_l);
    rlock(&chan2[0]);
}

static void nest_against_address_order(void *arg)
{
    (void)arg;
    rlock(&chan2[1]);
    rlock(&chan2[0]);
}

static void two_of_a_flat_rank(void *arg)
{
    (void)arg;
    rlock(&sema2[0]);
    rlock(&sema2[1]);
}

static void under_a_leaf(void *arg)
{
    rlock(&leaf_l);
    rlock(arg ? &leaf2_l : &stack_l);
}

static void same_lock_twice(void *arg)
{
    (void)arg;
    rlock(&sched_l);
    rlock(&sched_l);
}

static void release_not_held(void *arg)
{
    (void)arg;
    runlock(&stack_l);
}

static void *hold_sched(void *arg)
{
    rlock(&sched_l);
    __atomic_store_n((int *)arg, 1, __ATOMIC_RELEASE);
    while (__atomic_load_n((int *)arg, __ATOMIC_ACQUIRE) != 2)
        cpu_relax();
    runlock(&sched_l);
    return NULL;
}

int main(void)
{
    rlock_init(&chan2[0], LOCK_RANK_CHAN);
    rlock_init(&chan2[1], LOCK_RANK_CHAN);
    rlock_init(&sema2[0], LOCK_RANK_SEMA);
    rlock_init(&sema2[1], LOCK_RANK_SEMA);
    rlock_init(&sched_l, LOCK_RANK_SCHED);
    rlock_init(&stack_l, LOCK_RANK_STACK_POOL);
    /* leaf_l and leaf2_l keep the zero rank: leaves. */

    /* Allowed, in this process: outer to inner, released in any order. */
    rlock(&chan2[0]);
    rlock(&chan2[1]);
    rlock(&sema2[0]);
    rlock(&sched_l);
    rlock(&stack_l);
    rlock(&leaf_l);
    runlock(&sema2[0]);
    runlock(&chan2[0]);
    runlock(&leaf_l);
    runlock(&stack_l);
    runlock(&chan2[1]);
    runlock(&sched_l);
    /* A try never waits, so it is not checked, only recorded. */
    rlock(&stack_l);
    CHECK(rtrylock(&chan2[0]));
    CHECK(!rtrylock(&chan2[0]));
    runlock(&chan2[0]);
    runlock(&stack_l);
    /* Another thread holding sched_l is no reason to refuse chan2[0] here. */
    int step = 0;
    pthread_t t;
    CHECK(pthread_create(&t, NULL, hold_sched, &step) == 0);
    while (__atomic_load_n(&step, __ATOMIC_ACQUIRE) != 1)
        cpu_relax();
    rlock(&chan2[0]);
    runlock(&chan2[0]);
    __atomic_store_n(&step, 2, __ATOMIC_RELEASE);
    CHECK(pthread_join(t, NULL) == 0);

    int fails = 0;
#define EXPECT(fn, arg, msg)                                                       \
    do {                                                                           \
        if (!expect_death(fn, arg, msg)) {                                         \
            fprintf(stderr, "FAILED: %s\n", #fn);                                  \
            fails++;                                                               \
        }                                                                          \
    } while (0)
    EXPECT(inner_then_outer, NULL,
           "fatal error: lock order violation: taking channel lock");
    EXPECT(inner_then_outer, NULL, "while holding sched lock");
    EXPECT(nest_against_address_order, NULL,
           "fatal error: lock order violation: taking channel lock");
    EXPECT(two_of_a_flat_rank, NULL,
           "fatal error: lock order violation: taking sema bucket lock");
    EXPECT(under_a_leaf, NULL, "while holding unranked (leaf) lock");
    EXPECT(under_a_leaf, (void *)1, "while holding unranked (leaf) lock");
    EXPECT(same_lock_twice, NULL, "fatal error: lock order violation: taking a lock already held: sched lock");
    EXPECT(release_not_held, NULL,
           "fatal error: runtime lock released by a thread that does not hold it");
    if (fails)
        return 1;
    printf("ok\n");
    return 0;
}
