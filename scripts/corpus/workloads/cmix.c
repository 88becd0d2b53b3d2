/* cmix: fixed-work C program with several flat hot functions of different sizes.
 * Variants (compile time): -DREGRESS: crc_block does 2x its work;
 * -DSPEEDUP: hash_mix does half its work. Nothing else changes. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#ifdef REGRESS
#define CRC_ROUNDS 2
#else
#define CRC_ROUNDS 1
#endif
#ifdef SPEEDUP
#define HASH_DIV 2
#else
#define HASH_DIV 1
#endif

#define NI __attribute__((noinline, noclone))
#define HASH_N 4000000
#define CRC_K 20
#define SCAN_K 96
#define POLY_N 2000000
#define MAT_REPS 90

static volatile uint64_t sink;
static uint32_t crc_tab[256];

NI static uint64_t hash_mix(uint64_t n, uint64_t seed) {
    uint64_t h = 0x9e3779b97f4a7c15ull ^ seed;
    for (uint64_t i = 0; i < n / HASH_DIV; i++) {
        h ^= i;
        h *= 0xff51afd7ed558ccdull;
        h ^= h >> 33;
    }
    return h;
}

NI static void crc_init(void) {
    for (uint32_t i = 0; i < 256; i++) {
        uint32_t c = i;
        for (int k = 0; k < 8; k++) c = c & 1 ? 0xedb88320u ^ (c >> 1) : c >> 1;
        crc_tab[i] = c;
    }
}

NI static uint32_t crc_block(const uint8_t *buf, size_t len, uint32_t seed) {
    uint32_t c = 0xffffffffu ^ seed;
    for (int r = 0; r < CRC_ROUNDS; r++)
        for (size_t i = 0; i < len; i++) c = crc_tab[(c ^ buf[i]) & 0xff] ^ (c >> 8);
    return c ^ 0xffffffffu;
}

NI static int cmp_int(const void *a, const void *b) {
    int x = *(const int *)a, y = *(const int *)b;
    return (x > y) - (x < y);
}

NI static uint64_t sort_ints(int *v, size_t n, uint64_t seed) {
    for (size_t i = 0; i < n; i++) {
        seed = seed * 6364136223846793005ull + 1442695040888963407ull;
        v[i] = (int)(seed >> 33);
    }
    qsort(v, n, sizeof *v, cmp_int);
    return (uint64_t)v[n / 2];
}

NI static uint64_t str_scan(const char *s, size_t len, uint64_t seed) {
    uint64_t words = seed & 1;
    for (size_t i = 1; i < len; i++) words += s[i] == ' ' && s[i - 1] != ' ';
    return words;
}

NI static double poly_eval(int n, int seed) {
    double acc = seed;
    for (int i = 0; i < n; i++) {
        double x = i * 1e-6;
        acc += ((((3.0 * x + 2.0) * x - 5.0) * x + 1.0) * x - 7.0) * x + 0.5;
    }
    return acc;
}

NI static double matmul(int n, int reps, int seed) {
    double *a = malloc(sizeof(double) * n * n), *b = malloc(sizeof(double) * n * n),
           *c = calloc((size_t)n * n, sizeof(double));
    for (int i = 0; i < n * n; i++) { a[i] = (i + seed) % 7; b[i] = i % 5; }
    for (int r = 0; r < reps; r++)
        for (int i = 0; i < n; i++)
            for (int k = 0; k < n; k++)
                for (int j = 0; j < n; j++) c[i * n + j] += a[i * n + k] * b[k * n + j];
    double s = c[n + 1];
    free(a); free(b); free(c);
    return s;
}

int main(int argc, char **argv) {
    /* Work per round; argv[1] scales it (default 1.0) so the calls cannot be folded. */
    double scale = argc > 1 ? atof(argv[1]) : 1.0;
    int rounds = (int)(40 * scale);
    crc_init();
    size_t blen = 1 << 16;
    uint8_t *buf = malloc(blen);
    char *text = malloc(blen);
    for (size_t i = 0; i < blen; i++) { buf[i] = (uint8_t)(i * 31); text[i] = i % 7 ? 'a' : ' '; }
    int *v = malloc(sizeof(int) * 60000);
    uint64_t acc = 0;
    for (int round = 0; round < rounds; round++) {
        acc += hash_mix(HASH_N, round);
        for (int k = 0; k < CRC_K; k++) acc += crc_block(buf, blen, (uint32_t)(round * CRC_K + k));
        acc += sort_ints(v, 60000, round);
        for (int k = 0; k < SCAN_K; k++) acc += str_scan(text, blen, round + k);
        acc += (uint64_t)poly_eval(POLY_N, round);
        acc += (uint64_t)matmul(48, MAT_REPS, round);
    }
    sink = acc;
    printf("cmix %llu\n", (unsigned long long)acc);
    return 0;
}
