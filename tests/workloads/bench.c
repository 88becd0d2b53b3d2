/* Attribution test workload (C, fixed work): `hash_block` and `sort_ints` under `run`.
 * Built twice by tests/compare_attribution.rs into different executable names (old/bench,
 * new/bench-2); with -DSLOW_SORT only `sort_ints` does about twice its work.
 * Argument: rounds (default 40). */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#ifndef SLOW_SORT
#define SORT_PASSES 1
#else
#define SORT_PASSES 2
#endif

static uint64_t state = 88172645463325252ull;
static uint64_t next_rand(void) {
    state ^= state << 13;
    state ^= state >> 7;
    state ^= state << 17;
    return state;
}

__attribute__((noinline)) static uint64_t hash_block(const uint32_t *v, size_t n) {
    uint64_t h = 1469598103934665603ull;
    for (int rep = 0; rep < 24; rep++)
        for (size_t i = 0; i < n; i++)
            h = (h ^ v[i]) * 1099511628211ull;
    return h;
}

static int cmp_u32(const void *a, const void *b) {
    uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
    return (x > y) - (x < y);
}

static volatile uint32_t sink;

__attribute__((noinline)) static void sort_ints(uint32_t *v, const uint32_t *src, size_t n) {
    for (int pass = 0; pass < SORT_PASSES; pass++) {
        memcpy(v, src, n * sizeof *v);
        qsort(v, n, sizeof *v, cmp_u32);
    }
    sink = v[0]; /* no tail call: sort_ints stays on the stack in both builds */
}

__attribute__((noinline)) static uint64_t run(size_t n) {
    uint32_t *src = malloc(n * sizeof *src), *v = malloc(n * sizeof *v);
    for (size_t i = 0; i < n; i++)
        src[i] = (uint32_t)next_rand();
    sort_ints(v, src, n);
    uint64_t h = hash_block(v, n);
    free(src);
    free(v);
    return h;
}

int main(int argc, char **argv) {
    int rounds = argc > 1 ? atoi(argv[1]) : 40;
    uint64_t acc = 0;
    for (int r = 0; r < rounds; r++)
        acc ^= run(200000);
    printf("%llu\n", (unsigned long long)acc);
    return 0;
}
