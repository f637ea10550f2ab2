#include <goroutine.h>
#include <stdio.h>
#include <stdlib.h>

static go_wg wg;
static long counter;

static void worker(void *arg)
{
    __atomic_add_fetch(&counter, (long)(intptr_t)arg, __ATOMIC_RELAXED);
    go_wg_done(&wg);
}

int main(void)
{
    go_wg_add(&wg, 1000);
    for (int i = 0; i < 1000; i++)
        if (go(worker, (void *)(intptr_t)1) != 0)
            return 1;
    go_wg_wait(&wg);
    printf("counter=%ld maxprocs=%d\n", counter, go_maxprocs(0));
    return counter == 1000 ? 0 : 1;
}
