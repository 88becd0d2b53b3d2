#include <stdio.h>
#include <stdlib.h>
__attribute__((noinline)) double inner(long n) { double s = 0; for (long i = 1; i < n; i++) s += 1.0 / (double)i; return s; }
__attribute__((noinline)) double hot(long n) { return inner(n) + inner(n / 2); }
__attribute__((noinline)) double cold(long n) { return inner(n / 4); }
int main(int argc, char **argv) {
  long n = argc > 1 ? atol(argv[1]) : 200000000;
  double t = 0;
  for (int k = 0; k < 3; k++) t += hot(n) + cold(n);
  printf("%f\n", t);
  return 0;
}
