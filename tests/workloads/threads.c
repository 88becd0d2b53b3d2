/* Sample workload for `profdiff record` tests: two named threads with known hot functions.
 * worker-a runs hot_a for 3 units of work, worker-b runs hot_b for 1 unit, so in CPU time
 * hot_a : hot_b is about 3 : 1. Call chains: thread_a -> level_a -> hot_a (and _b alike).
 *
 * Usage: threads [UNITS] [normal|abort|forever]
 *   UNITS   size of one unit of work (default 40, about 0.1-0.2 s of CPU each)
 *   abort   abort() after the work (crash handling)
 *   forever spin until killed (signal handling) */
#define _GNU_SOURCE
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

static long units = 40;
static volatile unsigned long sink;
static int forever;

__attribute__((noinline)) static unsigned long hot_a(long n) {
    volatile unsigned long x = 1;
    for (long i = 0; i < n * 1000000L; i++) x = x * 2654435761u + (unsigned long)i;
    return x;
}

__attribute__((noinline)) static unsigned long hot_b(long n) {
    volatile unsigned long x = 3;
    for (long i = 0; i < n * 1000000L; i++) x = x * 40503u + (unsigned long)i;
    return x;
}

__attribute__((noinline)) static void level_a(void) {
    do sink += hot_a(3 * units); while (forever);
}

__attribute__((noinline)) static void level_b(void) {
    do sink += hot_b(units); while (forever);
}

static void *thread_a(void *arg) {
    (void)arg;
    pthread_setname_np(pthread_self(), "worker-a");
    level_a();
    return NULL;
}

static void *thread_b(void *arg) {
    (void)arg;
    pthread_setname_np(pthread_self(), "worker-b");
    level_b();
    return NULL;
}

int main(int argc, char **argv) {
    if (argc > 1) units = atol(argv[1]);
    const char *mode = argc > 2 ? argv[2] : "normal";
    forever = strcmp(mode, "forever") == 0;
    pthread_t a, b;
    pthread_create(&a, NULL, thread_a, NULL);
    pthread_create(&b, NULL, thread_b, NULL);
    pthread_join(a, NULL);
    pthread_join(b, NULL);
    if (strcmp(mode, "abort") == 0) abort();
    return (int)(sink & 0);
}
