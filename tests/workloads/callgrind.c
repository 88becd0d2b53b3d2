#include <stdio.h>
#include <stdlib.h>
static unsigned long leaf(unsigned long x) { unsigned long s = 0; for (unsigned long i = 0; i < x; i++) s += i * i; return s; }
__attribute__((noinline)) unsigned long fib(int n) { return n < 2 ? leaf(n + 3) : fib(n - 1) + fib(n - 2); }
__attribute__((noinline)) unsigned long ping(int n);
__attribute__((noinline)) unsigned long pong(int n) { return n ? ping(n - 1) + leaf(50) : 1; }
__attribute__((noinline)) unsigned long ping(int n) { return n ? pong(n - 1) + leaf(20) : 2; }
__attribute__((noinline)) unsigned long alpha(void) { return leaf(30000) + fib(12); }
__attribute__((noinline)) unsigned long beta(void) { return leaf(10000); }
int main(int argc, char **argv) {
  int n = argc > 1 ? atoi(argv[1]) : 3;
  unsigned long t = 0;
  for (int i = 0; i < n; i++) t += alpha() + beta() + ping(9);
  char *p = malloc(100); t += (unsigned long)p[0]; free(p);
  printf("%lu\n", t);
  return 0;
}
