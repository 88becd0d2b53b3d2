/* ctree: fixed-work C program with deep, recursive stacks (tree build and walk, recursive
 * quicksort, naive Fibonacci) and malloc/free traffic.
 * Variants (compile time): -DREGRESS: walk_tree does 2x its work per node;
 * -DSPEEDUP: fib computes fib(n-2) instead of fib(n) (about 0.38x its work). */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#ifdef REGRESS
#define WALK_ROUNDS 2
#else
#define WALK_ROUNDS 1
#endif
#ifdef SPEEDUP
#define FIB_DROP 2
#else
#define FIB_DROP 0
#endif

#define NI __attribute__((noinline, noclone))

struct node { struct node *l, *r; uint64_t v; };
static volatile uint64_t sink;

NI static struct node *build_tree(int depth, uint64_t v) {
    struct node *n = malloc(sizeof *n);
    n->v = v * 2654435761u + (uint64_t)depth;
    n->l = depth > 0 ? build_tree(depth - 1, n->v ^ 1) : NULL;
    n->r = depth > 0 ? build_tree(depth - 1, n->v ^ 2) : NULL;
    return n;
}

NI static uint64_t walk_tree(const struct node *n, uint64_t h) {
    if (!n) return h;
    for (int r = 0; r < WALK_ROUNDS; r++)
        for (int k = 0; k < 24; k++) { h ^= n->v + (uint64_t)k; h *= 0x100000001b3ull; }
    h = walk_tree(n->l, h);
    return walk_tree(n->r, h);
}

NI static void free_tree(struct node *n) {
    if (!n) return;
    free_tree(n->l);
    free_tree(n->r);
    free(n);
}

NI static uint64_t fib(int n) { return n < 2 ? (uint64_t)n : fib(n - 1) + fib(n - 2); }

NI static void quick_sort(uint32_t *v, int lo, int hi) {
    while (lo < hi) {
        uint32_t p = v[(lo + hi) / 2];
        int i = lo, j = hi;
        while (i <= j) {
            while (v[i] < p) i++;
            while (v[j] > p) j--;
            if (i <= j) { uint32_t t = v[i]; v[i] = v[j]; v[j] = t; i++; j--; }
        }
        if (j - lo < hi - i) { quick_sort(v, lo, j); lo = i; } else { quick_sort(v, i, hi); hi = j; }
    }
}

NI static uint64_t sort_round(uint32_t *v, int n, uint64_t seed) {
    for (int i = 0; i < n; i++) {
        seed = seed * 6364136223846793005ull + 1442695040888963407ull;
        v[i] = (uint32_t)(seed >> 32);
    }
    quick_sort(v, 0, n - 1);
    return v[n / 3];
}

int main(int argc, char **argv) {
    double scale = argc > 1 ? atof(argv[1]) : 1.0;
    int rounds = (int)(45 * scale);
    uint32_t *v = malloc(sizeof(uint32_t) * 200000);
    uint64_t acc = 0;
    for (int round = 0; round < rounds; round++) {
        struct node *t = build_tree(16, (uint64_t)round);
        acc += walk_tree(t, (uint64_t)round);
        free_tree(t);
        acc += fib(31 - FIB_DROP + (round & 1));
        acc += sort_round(v, 100000, (uint64_t)round);
    }
    sink = acc;
    printf("ctree %llu\n", (unsigned long long)acc);
    return 0;
}
