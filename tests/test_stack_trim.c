/*
 * test_stack_trim.c - a parked goroutine that once used a deep stack
 * gives the dead pages back (stack.c, "Trimming"):
 *
 *  - N goroutines each run a function with a 192 KiB local array (so
 *    their stacks are dirty 192 KiB down), fill a 1 KiB array of their
 *    own with values derived from their id, and park receiving from a
 *    channel. sysmon trims idle stacks within a few of its looks; once it
 *    has counted N trims (go_stats' stack_trims), the deepest resident
 *    page of every live goroutine (stack_max_used, from mincore) is at
 *    most 16 KiB below its top;
 *  - released, each checks its 1 KiB array (trimming above the stack
 *    pointer would have zeroed it or the frames it returns through),
 *    runs the deep function again, which checks the 192 KiB it wrote,
 *    and exits;
 *  - the same with GOROUTINE_STACK_TRIM=off (in a child process): no
 *    trims, and the stacks stay resident, as before trimming existed.
 *
 * Skipped (exit 77) where the library cannot trim: the ucontext build
 * (no saved stack pointer to trust) or a kernel without private expedited
 * membarrier.
 */
#include "test_util.h"
#include "../src/testhooks.h"

#include <stdatomic.h>
#include <stdint.h>

#define N 200
#define DEEP (192 * 1024)
#define KEEP 128 /* words in the array kept across the park */
#define BUDGET (16 * 1024)

static go_chan *release;
static go_wg wg = GO_WG_INIT;
static atomic_long ok_keep, ok_deep;

static uint64_t mix(uint64_t x)
{
    x ^= x >> 33;
    x *= 0xff51afd7ed558ccdULL;
    x ^= x >> 33;
    return x | 1; /* never zero */
}

/* Fill 192 KiB of stack and check it; true if every word read back. */
__attribute__((noinline)) static bool deep(uint64_t seed)
{
    volatile uint64_t big[DEEP / 8];
    for (size_t i = 0; i < DEEP / 8; i++)
        big[i] = mix(seed + i);
    uint64_t bad = 0;
    for (size_t i = 0; i < DEEP / 8; i++)
        bad |= big[i] ^ mix(seed + i);
    return bad == 0;
}

static void worker(void *arg)
{
    uint64_t id = (uint64_t)(uintptr_t)arg;
    bool first = deep(id * 1000003);
    volatile uint64_t keep[KEEP];
    for (int i = 0; i < KEEP; i++)
        keep[i] = mix(id * KEEP + (uint64_t)i);
    int v;
    CHECK(!go_chan_recv(release, &v)); /* parks until closed */
    bool kept = true;
    for (int i = 0; i < KEEP; i++)
        kept &= keep[i] == mix(id * KEEP + (uint64_t)i);
    if (kept)
        atomic_fetch_add(&ok_keep, 1);
    if (first && deep(id * 7919 + 1))
        atomic_fetch_add(&ok_deep, 1);
    go_wg_done(&wg);
}

/* Park N deep goroutines; trimmed: whether to expect sysmon to trim
 * them (else wait a while and expect nothing trimmed). */
static void run(bool trimmed)
{
    go_stats_t s0, s1;
    CHECK(go_stats(&s0) == 0);
    release = go_chan_make(sizeof(int), 0);
    CHECK(release);
    atomic_store(&ok_keep, 0);
    atomic_store(&ok_deep, 0);
    go_wg_add(&wg, N);
    for (uintptr_t i = 0; i < N; i++)
        CHECK(go(worker, (void *)(i + 1)) == 0);
    /* sysmon trims a goroutine it has found in the same park twice,
     * 100 ms apart; give it up to a minute on a loaded machine. */
    for (int i = 0; i < 60000; i++) {
        usleep(1000);
        CHECK(go_stats(&s1) == 0);
        if (s1.stack_trims - s0.stack_trims >= N || (!trimmed && i == 1000))
            break;
    }
    fprintf(stderr, "%d parked: deepest resident stack %llu bytes, %llu trims\n", N,
            (unsigned long long)s1.stack_max_used,
            (unsigned long long)(s1.stack_trims - s0.stack_trims));
    CHECK(s1.goroutines >= N);
    if (trimmed) {
        CHECK(s1.stack_trims - s0.stack_trims >= N);
        CHECK(s1.stack_max_used > 0);
        CHECK(s1.stack_max_used <= BUDGET);
    } else {
        CHECK(s1.stack_trims == s0.stack_trims);
        CHECK(s1.stack_max_used >= DEEP);
    }
    go_chan_close(release);
    go_wg_wait(&wg);
    CHECK_EQ(atomic_load(&ok_keep), N);
    CHECK_EQ(atomic_load(&ok_deep), N);
    go_chan_free(release);
}

int main(int argc, char **argv)
{
    if (!stack_trim_available()) {
        printf("skipped: this build or kernel cannot trim stacks\n");
        return 77;
    }
    if (argc > 1 && strcmp(argv[1], "off") == 0) {
        run(false);
        return 0;
    }
    run(true);
    run(true); /* the same stacks, reused: deep and trimmed again */
    /* GOROUTINE_STACK_TRIM=off is read at the first look: a new process. */
    char cmd[4096];
    snprintf(cmd, sizeof cmd, "GOROUTINE_STACK_TRIM=off '%s' off", argv[0]);
    CHECK(system(cmd) == 0);
    printf("ok\n");
    return 0;
}
