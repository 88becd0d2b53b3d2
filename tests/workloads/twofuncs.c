/* Workload for `profdiff ab` and repeated-run tests: two functions doing fixed work one after
 * the other. Built with -DSCALE=2, `scaled` does twice the work and `steady` is unchanged, so
 * the two builds differ in exactly one function.
 *
 * Usage: twofuncs [UNITS]   (UNITS of work per function, default 40, ~0.1 s each) */
#include <stdlib.h>

#ifndef SCALE
#define SCALE 1
#endif

static volatile unsigned long sink;

__attribute__((noinline)) static unsigned long steady(long n) {
    volatile unsigned long x = 1;
    for (long i = 0; i < n * 1000000L; i++) x = x * 2654435761u + (unsigned long)i;
    return x;
}

__attribute__((noinline)) static unsigned long scaled(long n) {
    volatile unsigned long x = 3;
    for (long i = 0; i < SCALE * n * 1000000L; i++) x = x * 40503u + (unsigned long)i;
    return x;
}

int main(int argc, char **argv) {
    long units = argc > 1 ? atol(argv[1]) : 40;
    sink += steady(units);
    sink += scaled(units);
    return (int)(sink & 0);
}
