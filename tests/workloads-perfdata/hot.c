/* perf.data test workload: two threads, three hot leaf functions with known relative work,
 * called through distinct call paths. Built -O2 (no frame pointers) and -O2
 * -fno-omit-frame-pointer by tests/perf_data_*.rs. */
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

static volatile uint64_t sink;
static volatile uint64_t work = 2000000;

__attribute__((noinline)) uint64_t spin_a(uint64_t n) {
    uint64_t x = 1;
    for (uint64_t i = 0; i < n; i++) x = x * 6364136223846793005ULL + i;
    return x;
}

__attribute__((noinline)) uint64_t spin_b(uint64_t n) {
    uint64_t x = 7;
    for (uint64_t i = 0; i < n; i++) x ^= (x << 7) + (x >> 3) + i;
    return x;
}

__attribute__((noinline)) uint64_t spin_c(uint64_t n) {
    double d = 1.0;
    for (uint64_t i = 0; i < n; i++) d = d * 1.0000001 + 0.5;
    return (uint64_t)d;
}

__attribute__((noinline)) uint64_t middle(uint64_t n) { return spin_a(n) + spin_b(n / 2); }

__attribute__((noinline)) uint64_t outer(uint64_t n) { return middle(n) + spin_c(n / 4); }

static void *worker(void *arg) {
    uint64_t rounds = (uint64_t)(uintptr_t)arg;
    for (uint64_t r = 0; r < rounds; r++) sink += outer(work);
    return NULL;
}

int main(int argc, char **argv) {
    uint64_t rounds = argc > 1 ? strtoull(argv[1], NULL, 10) : 200;
    pthread_t t;
    pthread_create(&t, NULL, worker, (void *)(uintptr_t)rounds);
    worker((void *)(uintptr_t)rounds);
    pthread_join(t, NULL);
    fprintf(stderr, "%llu\n", (unsigned long long)sink); /* stdout may be perf -o - */
    return 0;
}
