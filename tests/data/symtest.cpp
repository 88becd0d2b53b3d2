// Test program for the symbolizer conformance test: inlined functions, templates, namespaces,
// a lambda, static functions. Compiled by tests/symbolize_addr2line.rs with g++ -O2 -g.
#include <cstdio>
#include <cstdlib>
#include <vector>

namespace geo {
template <typename T> struct Acc {
    T total{};
    inline void add(T v) { total += v * v + 1; }
};

template <typename T> T sum_squares(const std::vector<T>& v) {
    Acc<T> a;
    for (auto x : v) a.add(x);
    return a.total;
}

namespace {
int helper(int x) { return x % 7 == 0 ? x / 7 : x * 3 + 1; }
}

__attribute__((noinline)) long collatz_steps(long n) {
    long steps = 0;
    while (n != 1) {
        n = (n % 2 == 0) ? n / 2 : helper(static_cast<int>(n));
        if (++steps > 1000) break;
    }
    return steps;
}
}  // namespace geo

static inline double mix(double a, double b) { return a * 0.5 + b * 0.25; }

__attribute__((noinline)) static double smooth(const double* xs, int n) {
    double acc = 0;
    for (int i = 0; i < n; i++) acc = mix(acc, xs[i]);
    return acc;
}

int main(int argc, char** argv) {
    int n = argc > 1 ? atoi(argv[1]) : 1000;
    std::vector<int> vi(n);
    std::vector<double> vd(n);
    for (int i = 0; i < n; i++) { vi[i] = i; vd[i] = i * 0.5; }
    auto f = [&](int k) { return geo::collatz_steps(k + 1); };
    long s = 0;
    for (int i = 0; i < n; i++) s += f(i);
    printf("%d %f %ld\n", geo::sum_squares(vi), smooth(vd.data(), n), s);
    return 0;
}
