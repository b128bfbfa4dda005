// The per-thread functions of code/montepi/pcg64_darts.cu, compiled for the CPU by a plain C++
// compiler (no __CUDACC__, so the __global__ kernel is left out), so that tests/test_kernel_cuda.py
// can check the kernel's own C arithmetic against NumPy on a machine without a GPU.
// Build: g++ -O2 -ffp-contract=off -shared -fPIC -I code/montepi this.cpp -o libpcg64_darts_host.so
#include "pcg64_darts.cu"

extern "C" {

// The state `delta` steps after (state_hi, state_lo) into out[0] (hi), out[1] (lo).
void host_advance(u64 state_hi, u64 state_lo, u64 inc_hi, u64 inc_lo, u64 delta, u64 *out) {
    u128 state = advance(make_u128(state_hi, state_lo), make_u128(inc_hi, inc_lo), delta);
    out[0] = state.hi;
    out[1] = state.lo;
}

// n raw 64-bit outputs and their doubles, starting `delta` numbers into the stream.
void host_numbers(u64 state_hi, u64 state_lo, u64 inc_hi, u64 inc_lo, u64 delta, u64 n, u64 *raw, double *unit) {
    u128 inc = make_u128(inc_hi, inc_lo);
    u128 state = advance(make_u128(state_hi, state_lo), inc, delta);
    for (u64 i = 0; i < n; ++i) {
        state = lcg_step(state, inc);
        raw[i] = xsl_rr(state);
        unit[i] = to_unit_double(raw[i]);
    }
}

// Whether the dart (x, y) lands inside, as the kernel decides it.
int host_dart_inside(double x, double y) {
    return dart_inside(x, y);
}

// What one count_darts launch of `threads` threads counts, its threads run one after another.
u64 host_count_darts(u64 state_hi, u64 state_lo, u64 inc_hi, u64 inc_lo, u64 first, u64 darts, u64 threads) {
    u64 inside = 0;
    for (u64 thread = 0; thread < threads; ++thread) {
        u64 start, count;
        thread_share(thread, threads, first, darts, &start, &count);
        inside += count_thread(make_u128(state_hi, state_lo), make_u128(inc_hi, inc_lo), start, count);
    }
    return inside;
}

}
