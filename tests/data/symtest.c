/* C test program for the symbolizer tests: static inline helpers, noinline workers. */
#include <stdio.h>
#include <stdlib.h>

static inline unsigned mixbits(unsigned x) { x ^= x >> 13; x *= 0x5bd1e995u; return x ^ (x >> 15); }

__attribute__((noinline)) unsigned hot_loop(unsigned n) {
    unsigned h = 0;
    for (unsigned i = 0; i < n; i++) h += mixbits(i + h);
    return h;
}

__attribute__((noinline)) unsigned cold_path(unsigned n) { return hot_loop(n / 4) + 1; }

int main(int argc, char **argv) {
    unsigned n = argc > 1 ? (unsigned)atoi(argv[1]) : 1000;
    printf("%u %u\n", hot_loop(n), cold_path(n));
    return 0;
}
