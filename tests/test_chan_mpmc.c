/*
 * test_chan_mpmc.c - nothing lost, nothing duplicated: 16 producers and
 * 16 consumers move 10,000,000 distinct values through one channel of
 * capacity 0, then one of capacity 1, then one of capacity 1024. Each consumer
 * sets the value's bit in a shared bitmap and fails on a bit already set;
 * at the end every bit must be set and the sum must be n(n-1)/2.
 * Producers send with go_chan_send, go_chan_try_send loops and one-case
 * selects in turn, consumers receive the same three ways, so the fast
 * paths race with the blocking ones. Sanitizer builds move fewer values.
 */
#include "test_util.h"

#include <stdint.h>

#define PRODUCERS 16
#define CONSUMERS 16

static int64_t nvalues;
static go_chan *ch;
static uint64_t *bitmap;    /* atomic fetch_or */
static int64_t total_sum;   /* atomic */
static int64_t total_count; /* atomic */
static go_wg pwg = GO_WG_INIT, cwg = GO_WG_INIT;

static void producer(void *arg)
{
    int64_t p = (int64_t)(intptr_t)arg;
    int64_t k = 0;
    for (int64_t v = p; v < nvalues; v += PRODUCERS, k++) {
        switch (k % 8) {
        case 5: { /* non-blocking, retried a while, then blocking: with cap
                   * 0, try-senders and try-receivers alone never meet */
            int t = 0;
            while (!go_chan_try_send(ch, &v))
                if (++t == 50) {
                    go_chan_send(ch, &v);
                    break;
                } else {
                    go_yield();
                }
            break;
        }
        case 6: {
            go_select_case sc = GO_SEND(ch, &v);
            CHECK_EQ(go_select(&sc, 1), 0);
            break;
        }
        default:
            go_chan_send(ch, &v);
        }
    }
    go_wg_done(&pwg);
}

static void consumer(void *arg)
{
    int64_t id = (int64_t)(intptr_t)arg;
    int64_t sum = 0, count = 0;
    for (int64_t k = id;; k++) {
        int64_t v = -1;
        bool ok;
        switch (k % 8) {
        case 3: { /* non-blocking, retried a while, then blocking */
            int t = 0;
            while (!go_chan_try_recv(ch, &v, &ok))
                if (++t == 50) {
                    ok = go_chan_recv(ch, &v);
                    break;
                } else {
                    go_yield();
                }
            break;
        }
        case 4: {
            go_select_case sc = GO_RECV(ch, &v, &ok);
            CHECK_EQ(go_select(&sc, 1), 0);
            break;
        }
        default:
            ok = go_chan_recv(ch, &v);
        }
        if (!ok) {
            CHECK_EQ(v, 0);
            break;
        }
        CHECK(v >= 0 && v < nvalues);
        uint64_t bit = (uint64_t)1 << (v % 64);
        uint64_t old = __atomic_fetch_or(&bitmap[v / 64], bit, __ATOMIC_RELAXED);
        if (old & bit) {
            fprintf(stderr, "value %lld received twice\n", (long long)v);
            abort();
        }
        sum += v;
        count++;
    }
    __atomic_add_fetch(&total_sum, sum, __ATOMIC_SEQ_CST);
    __atomic_add_fetch(&total_count, count, __ATOMIC_SEQ_CST);
    go_wg_done(&cwg);
}

static void run(size_t cap)
{
    ch = go_chan_make(sizeof(int64_t), cap);
    CHECK(ch);
    size_t words = (size_t)(nvalues + 63) / 64;
    bitmap = calloc(words, sizeof *bitmap);
    CHECK(bitmap);
    total_sum = total_count = 0;
    go_wg_add(&cwg, CONSUMERS);
    for (int i = 0; i < CONSUMERS; i++)
        CHECK_EQ(go(consumer, (void *)(intptr_t)i), 0);
    go_wg_add(&pwg, PRODUCERS);
    for (int i = 0; i < PRODUCERS; i++)
        CHECK_EQ(go(producer, (void *)(intptr_t)i), 0);
    go_wg_wait(&pwg);
    go_chan_close(ch);
    go_wg_wait(&cwg);

    CHECK_EQ(total_count, nvalues);
    CHECK_EQ(total_sum, nvalues * (nvalues - 1) / 2);
    for (size_t w = 0; w < words; w++) {
        uint64_t want = ~(uint64_t)0;
        if (w == words - 1 && nvalues % 64)
            want = ((uint64_t)1 << (nvalues % 64)) - 1;
        if (bitmap[w] != want) {
            fprintf(stderr, "cap %zu: values lost in word %zu: %016llx\n", cap, w,
                    (unsigned long long)(bitmap[w] ^ want));
            abort();
        }
    }
    CHECK_EQ(go_chan_len(ch), 0);
    go_chan_free(ch);
    free(bitmap);
    fprintf(stderr, "  cap %zu: %lld values, ok\n", cap, (long long)nvalues);
}

int main(int argc, char **argv)
{
    nvalues = TEST_SANITIZED ? 500000 : 10000000;
    if (argc > 1)
        nvalues = atoll(argv[1]);
    run(0);
    run(1);
    run(1024);
    printf("test_chan_mpmc: ok (GOMAXPROCS=%d)\n", go_maxprocs(0));
    return 0;
}
