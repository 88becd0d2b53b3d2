#include <stdlib.h>
static volatile long sink;
__attribute__((noinline)) long leaf(long n){volatile long s=0;for(long i=0;i<n;i++)s+=i*i;return s;}
__attribute__((noinline)) long mid(long n){return leaf(n)+leaf(n/2);}
int main(int c,char**v){long n=c>1?atol(v[1]):3000000;for(int i=0;i<10;i++)sink+=mid(n);return 0;}
