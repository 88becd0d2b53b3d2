#include <stdio.h>
#include <stdlib.h>
#include <string.h>
__attribute__((noinline)) char *big(void) { char *p = malloc(4 << 20); memset(p, 1, 4 << 20); return p; }
__attribute__((noinline)) char *small(int i) { char *p = malloc(1000 + i); p[0] = 1; return p; }
int main(void) {
  char *keep[3000]; char *b[4];
  for (int i = 0; i < 4; i++) b[i] = big();
  for (int i = 0; i < 3000; i++) keep[i] = small(i);
  printf("%d %d\n", keep[5][0], b[1][3]);
  return 0;
}
