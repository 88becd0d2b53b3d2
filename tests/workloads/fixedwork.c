/* Fixed-work C workload for the compare tests: four leaf functions with known relative work
 * (parse_rows 4, hash_rows 3, sort_rows 2, emit_rows 1) run to completion. With a second
 * argument "slow", parse_rows does twice its work (an injected 2x regression); with "fast",
 * hash_rows does half (a pure speed-up). Usage: fixedwork ROUNDS [slow|fast] */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static volatile uint64_t sink;

#define LEAF(name, salt)                                                                \
    __attribute__((noinline)) uint64_t name(uint64_t n) {                               \
        uint64_t x = salt;                                                              \
        for (uint64_t i = 0; i < n; i++) x = (x ^ (x >> 29)) * 0xbf58476d1ce4e5b9ULL + i; \
        return x;                                                                       \
    }
LEAF(parse_rows, 1)
LEAF(hash_rows, 2)
LEAF(sort_rows, 3)
LEAF(emit_rows, 4)

__attribute__((noinline)) void one_round(uint64_t unit, int slow, int fast) {
    sink += parse_rows(4 * unit * (slow ? 2 : 1));
    sink += hash_rows(fast ? 3 * unit / 2 : 3 * unit);
    sink += sort_rows(2 * unit);
    sink += emit_rows(unit);
}

int main(int argc, char **argv) {
    uint64_t rounds = argc > 1 ? strtoull(argv[1], NULL, 10) : 20;
    int slow = argc > 2 && strcmp(argv[2], "slow") == 0;
    int fast = argc > 2 && strcmp(argv[2], "fast") == 0;
    for (uint64_t r = 0; r < rounds; r++) one_round(2000000, slow, fast);
    fprintf(stderr, "%llu\n", (unsigned long long)sink);
    return 0;
}
