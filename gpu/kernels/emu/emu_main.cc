// emu_main.cc: pcct's CUDA kernels, compiled as C++ and run on the CPU by
// emu.h, against plain reference computations. Built and run by
// TestKernelsEmulated (gpu/emu_test.go) with
//
//     c++ -std=c++17 -O0 gpu/kernels/emu/emu_main.cc -o emu && ./emu
//
// Each kernel is launched with the grid and block shapes the host code
// (gpu/search.go, gpu/engine.go) uses. Prints one line per failure and a
// summary; exits 1 if anything failed.
#include "emu.h"

#include "../pcct.cu"

#include <algorithm>
#include <random>

static int checks = 0, failures = 0;

#define CHECK(cond, ...)                          \
    do {                                          \
        checks++;                                 \
        if (!(cond)) {                            \
            failures++;                           \
            if (failures <= 20) {                 \
                std::fprintf(stderr, __VA_ARGS__); \
                std::fprintf(stderr, "\n");       \
            }                                     \
        }                                         \
    } while (0)

static unsigned ceil_div(long long a, long long b) { return (unsigned)((a + b - 1) / b); }

static double ref_dist(const double* q, const double* x, long long d, long long mode) {
    double acc = 0;
    for (long long k = 0; k < d; k++) {
        double t = std::fabs(q[k] - x[k]);
        if (mode == MODE_SQEUCLID || mode == MODE_DOT)
            acc += t * t;
        else if (mode == MODE_MANHATTAN)
            acc += t;
        else
            acc = std::max(acc, t);
    }
    return acc;
}

template <typename T>
static void test_dist(std::mt19937_64& rng, long long m, long long n, long long d, long long mode) {
    std::normal_distribution<double> g;
    std::vector<T> Q(m * d), X(n * d), qn(m), xn(n);
    std::vector<double> Qd(m * d), Xd(n * d);
    for (long long i = 0; i < m * d; i++) Qd[i] = Q[i] = (T)g(rng);
    for (long long i = 0; i < n * d; i++) Xd[i] = X[i] = (T)g(rng);
    // A duplicate and an exact hit: distance 0.
    for (long long k = 0; k < d; k++) Qd[k] = Q[k] = X[(n / 2) * d + k];
    if (mode == MODE_DOT) {
        emu::launch(dim3{ceil_div(m, 256), 1, 1}, dim3{256, 1, 1}, [&] {
            if constexpr (sizeof(T) == 4)
                pcct_sqnorm_f32(Q.data(), qn.data(), m, d);
            else
                pcct_sqnorm_f64(Q.data(), qn.data(), m, d);
        });
        emu::launch(dim3{ceil_div(n, 256), 1, 1}, dim3{256, 1, 1}, [&] {
            if constexpr (sizeof(T) == 4)
                pcct_sqnorm_f32(X.data(), xn.data(), n, d);
            else
                pcct_sqnorm_f64(X.data(), xn.data(), n, d);
        });
        for (long long i = 0; i < n; i++) {
            double s = 0;
            for (long long k = 0; k < d; k++) s += Xd[i * d + k] * Xd[i * d + k];
            CHECK(std::fabs(xn[i] - s) <= 1e-5 * s + 1e-6, "sqnorm row %lld: %g, want %g", i, (double)xn[i], s);
        }
    }
    std::vector<float> D(m * n, -1.0f);
    emu::launch(dim3{ceil_div(n, TILE), ceil_div(m, TILE), 1}, dim3{16, 16, 1}, [&] {
        if constexpr (sizeof(T) == 4)
            pcct_dist_f32(Q.data(), X.data(), qn.data(), xn.data(), D.data(), m, n, d, mode);
        else
            pcct_dist_f64(Q.data(), X.data(), qn.data(), xn.data(), D.data(), m, n, d, mode);
    });
    const double tol = mode == MODE_DOT ? 1e-4 : (sizeof(T) == 4 ? 1e-5 : 1e-6);
    for (long long i = 0; i < m; i++)
        for (long long j = 0; j < n; j++) {
            double want = ref_dist(&Qd[i * d], &Xd[j * d], d, mode);
            double got = D[i * n + j];
            double scale = mode == MODE_DOT ? std::max(want, (double)qn[i] + xn[j]) : want;
            CHECK(got >= 0 && std::fabs(got - want) <= tol * scale + 1e-30,
                  "dist %s mode %lld m=%lld n=%lld d=%lld: D[%lld,%lld] = %.9g, want %.9g",
                  sizeof(T) == 4 ? "f32" : "f64", mode, m, n, d, i, j, got, want);
        }
}

static void test_select(std::mt19937_64& rng, long long m, long long n) {
    // Rows of small integers (ties), a zero, an infinity.
    std::uniform_int_distribution<int> u(0, 9);
    std::vector<float> D(m * n);
    for (auto& v : D) v = (float)u(rng) * 0.25f + (u(rng) == 0 ? 1e-30f : 0.0f);
    D[0] = std::numeric_limits<float>::infinity();
    D[n - 1] = 0.0f;
    for (long long k : {1LL, 2LL, n / 3 + 1, n}) {
        if (k > n) continue;
        std::vector<float> kth(m, -1.0f);
        emu::launch(dim3{(unsigned)m, 1, 1}, dim3{256, 1, 1}, [&] { pcct_kth(D.data(), n, k, kth.data()); });
        for (long long r = 0; r < m; r++) {
            std::vector<float> row(D.begin() + r * n, D.begin() + (r + 1) * n);
            std::nth_element(row.begin(), row.begin() + (k - 1), row.end());
            CHECK(kth[r] == row[k - 1], "kth row %lld n=%lld k=%lld: %g, want %g", r, n, k, kth[r], row[k - 1]);
        }
        // Gather at the k-th value: counts and members.
        std::vector<long long> counts(m), offsets(m);
        emu::launch(dim3{(unsigned)m, 1, 1}, dim3{256, 1, 1}, [&] { pcct_count(D.data(), n, kth.data(), counts.data()); });
        long long total = 0;
        for (long long r = 0; r < m; r++) {
            long long want = 0;
            for (long long j = 0; j < n; j++) want += D[r * n + j] <= kth[r];
            CHECK(counts[r] == want, "count row %lld: %lld, want %lld", r, counts[r], want);
            CHECK(counts[r] >= k, "count row %lld: %lld values <= the %lld-th", r, counts[r], k);
            offsets[r] = total;
            total += counts[r];
        }
        std::vector<int> ids(total, -1);
        emu::launch(dim3{(unsigned)m, 1, 1}, dim3{256, 1, 1},
                    [&] { pcct_fill(D.data(), n, kth.data(), offsets.data(), ids.data()); });
        for (long long r = 0; r < m; r++) {
            std::vector<int> got(ids.begin() + offsets[r], ids.begin() + offsets[r] + counts[r]), want;
            for (long long j = 0; j < n; j++)
                if (D[r * n + j] <= kth[r]) want.push_back((int)j);
            std::sort(got.begin(), got.end());
            CHECK(got == want, "fill row %lld n=%lld k=%lld: wrong members", r, n, k);
        }
    }
}

template <typename T>
static void test_rows(std::mt19937_64& rng, long long n, long long d, long long mode, bool with_rows) {
    std::normal_distribution<double> g;
    std::vector<T> X(n * d);
    for (auto& v : X) v = (T)g(rng);
    std::vector<int> rows;
    if (with_rows)
        for (long long i = n - 1; i >= 0; i -= 3) rows.push_back((int)i);
    const long long nr = with_rows ? (long long)rows.size() : n;
    const long long nc = 3;
    std::vector<T> C(nc * d);
    for (auto& v : C) v = (T)g(rng);
    std::vector<double> out(nr * nc, -1);
    emu::launch(dim3{ceil_div(nr, 256), (unsigned)nc, 1}, dim3{256, 1, 1}, [&] {
        if constexpr (sizeof(T) == 4)
            pcct_rows_dist_f32(X.data(), with_rows ? rows.data() : nullptr, nr, C.data(), d, mode, out.data());
        else
            pcct_rows_dist_f64(X.data(), with_rows ? rows.data() : nullptr, nr, C.data(), d, mode, out.data());
    });
    for (long long j = 0; j < nc; j++)
        for (long long i = 0; i < nr; i++) {
            long long r = with_rows ? rows[i] : i;
            std::vector<double> a(X.begin() + r * d, X.begin() + (r + 1) * d), b(C.begin() + j * d, C.begin() + (j + 1) * d);
            double want = ref_dist(a.data(), b.data(), d, mode);
            if (mode == MODE_SQEUCLID) want = std::sqrt(want);
            double got = out[j * nr + i];
            CHECK(std::fabs(got - want) <= 1e-5 * want + 1e-30, "rows_dist mode %lld d=%lld: [%lld,%lld] = %.9g, want %.9g",
                  mode, d, j, i, got, want);
        }
}

int main() {
    std::mt19937_64 rng(42);
    for (long long mode : {MODE_SQEUCLID, MODE_MANHATTAN, MODE_CHEBYSHEV, MODE_DOT})
        for (long long d : {1LL, 3LL, 17LL, 40LL}) {
            test_dist<float>(rng, 70, 130, d, mode);
            test_dist<double>(rng, 65, 64, d, mode);
        }
    for (long long n : {1LL, 5LL, 255LL, 600LL}) test_select(rng, 3, n);
    for (long long mode : {MODE_SQEUCLID, MODE_MANHATTAN, MODE_CHEBYSHEV}) {
        test_rows<float>(rng, 300, 16, mode, true);
        test_rows<double>(rng, 257, 5, mode, false);
    }
    std::printf("emulated kernels: %d checks, %d failed, %lld barriers\n", checks, failures, emu::barriers);
    return failures ? 1 : 0;
}
