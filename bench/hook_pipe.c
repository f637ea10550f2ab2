/*
 * hook_pipe - the hook-overhead workload: a plain thread (no runtime)
 * writes one byte into a pipe and reads it back, N times. Run as is and
 * with libgoroutine-hook.so in LD_PRELOAD (bench/hook.sh): the difference
 * is what the hooks cost a program that never parks.
 *
 * Usage: bench_hook_pipe [N]     prints ns per write+read pair.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

int main(int argc, char **argv)
{
    long n = argc > 1 ? atol(argv[1]) : 2000000;
    int p[2];
    if (pipe(p) != 0)
        return 1;
    struct timespec a, b;
    char c = 'x', d = 0;
    clock_gettime(CLOCK_MONOTONIC, &a);
    for (long i = 0; i < n; i++) {
        if (write(p[1], &c, 1) != 1 || read(p[0], &d, 1) != 1 || d != c) {
            fprintf(stderr, "hook_pipe: wrong byte at %ld\n", i);
            return 1;
        }
    }
    clock_gettime(CLOCK_MONOTONIC, &b);
    double ns = ((double)(b.tv_sec - a.tv_sec) * 1e9 + (double)(b.tv_nsec - a.tv_nsec)) / (double)n;
    printf("RESULT name=hook-overhead metric=ns/pair value=%.1f n=%ld\n", ns, n);
    return 0;
}
