// pcg64_darts.cu: numbered darts on an NVIDIA GPU, bit for bit NumPy's PCG64.
//
// Dart i is the point (u[2i], u[2i+1]) of the float64 stream of
// numpy.random.PCG64(seed) (see montepi/kernel.py); this kernel draws the very
// same numbers, so it finds the very same count.
//
// MIRROR: montepi/kernel_cuda.py holds one Python function per function here,
// with the same name and the same steps, and the CPU test suite checks that
// Python mirror against NumPy. Change one, change the other.
//
// Compiled three ways, all from this one file:
//   * by NVRTC through CuPy's RawModule (montepi.kernel_cuda), with --fmad=false;
//   * by nvcc -ptx in the tests, which check that no fused multiply-add is left;
//   * by a plain C++ compiler (no __CUDACC__) in the tests, which run the
//     per-thread functions on the CPU against NumPy. Only count_darts, the
//     __global__ kernel, needs a GPU.
// No #include: NVRTC has no system headers.

#if defined(__CUDACC__)
#define MONTEPI_FN static __host__ __device__ __forceinline__
#else
#define MONTEPI_FN static inline
#endif

typedef unsigned long long u64;

// A 128-bit unsigned integer as two 64-bit halves (NVRTC has no portable
// __int128). Every operation is modulo 2**128, like NumPy's pcg128_t.
struct u128 {
    u64 hi, lo;
};

MONTEPI_FN u128 make_u128(u64 hi, u64 lo) {
    u128 r;
    r.hi = hi;
    r.lo = lo;
    return r;
}

// The high 64 bits of the 128-bit product a*b.
MONTEPI_FN u64 mulhi64(u64 a, u64 b) {
#if defined(__CUDA_ARCH__)
    return __umul64hi(a, b);
#else
    return (u64)(((unsigned __int128)a * b) >> 64);
#endif
}

// a*b mod 2**128: the a.hi*b.hi term only reaches bit 128 and above.
MONTEPI_FN u128 mul_u128(u128 a, u128 b) {
    u128 r;
    r.lo = a.lo * b.lo;
    r.hi = mulhi64(a.lo, b.lo) + a.lo * b.hi + a.hi * b.lo;
    return r;
}

// a+b mod 2**128, with the carry out of the low half.
MONTEPI_FN u128 add_u128(u128 a, u128 b) {
    u128 r;
    r.lo = a.lo + b.lo;
    r.hi = a.hi + b.hi + (r.lo < a.lo ? 1ULL : 0ULL);
    return r;
}

// NumPy's PCG64 multiplier, PCG_DEFAULT_MULTIPLIER_128 in numpy/random/src/pcg64/pcg64.h:
// 0x2360ed051fc65da44385df649fccf645 (kernel_cuda.PCG64_MULTIPLIER).
#define PCG64_MULTIPLIER_HI 0x2360ed051fc65da4ULL
#define PCG64_MULTIPLIER_LO 0x4385df649fccf645ULL

// One LCG step, state*multiplier + inc (pcg_setseq_128_step_r).
MONTEPI_FN u128 lcg_step(u128 state, u128 inc) {
    return add_u128(mul_u128(state, make_u128(PCG64_MULTIPLIER_HI, PCG64_MULTIPLIER_LO)), inc);
}

// XSL-RR output of a state (pcg_output_xsl_rr_128_64): the two halves xor-ed,
// rotated right by the state's top 6 bits.
MONTEPI_FN u64 xsl_rr(u128 state) {
    u64 value = state.hi ^ state.lo;
    unsigned rot = (unsigned)(state.hi >> 58);
    return (value >> rot) | (value << ((64u - rot) & 63u));
}

// NumPy's float64 in [0, 1) from one 64-bit output (next_double in
// numpy/random/src/pcg64/pcg64.h): the top 53 bits times 2**-53. Both steps are
// exact, so there is nothing for the compiler to round differently.
MONTEPI_FN double to_unit_double(u64 bits) {
    return (double)(bits >> 11) * (1.0 / 9007199254740992.0);
}

// The state `delta` steps after `state` in O(log delta) multiply-adds
// (pcg_advance_lcg_128, which PCG64.advance calls). delta < 2**64 always:
// delta = 2*start and start < 2**63 (montepi.checks.MAX_SAMPLES).
MONTEPI_FN u128 advance(u128 state, u128 inc, u64 delta) {
    u128 acc_mult = make_u128(0, 1);
    u128 acc_plus = make_u128(0, 0);
    u128 cur_mult = make_u128(PCG64_MULTIPLIER_HI, PCG64_MULTIPLIER_LO);
    u128 cur_plus = inc;
    while (delta > 0) {
        if (delta & 1ULL) {
            acc_mult = mul_u128(acc_mult, cur_mult);
            acc_plus = add_u128(mul_u128(acc_plus, cur_mult), cur_plus);
        }
        cur_plus = mul_u128(add_u128(cur_mult, make_u128(0, 1)), cur_plus);
        cur_mult = mul_u128(cur_mult, cur_mult);
        delta >>= 1;
    }
    return add_u128(mul_u128(acc_mult, state), acc_plus);
}

// Inside the quarter circle: x*x + y*y <= 1 with NumPy's roundings (each
// product rounded to double, then the sum). A fused multiply-add would round
// once and could count a few darts near the boundary differently in 10**12:
// the device uses the explicit round-to-nearest intrinsics, and the host build
// is compiled with -ffp-contract=off.
MONTEPI_FN int dart_inside(double x, double y) {
#if defined(__CUDA_ARCH__)
    return __dadd_rn(__dmul_rn(x, x), __dmul_rn(y, y)) <= 1.0;
#else
    return x * x + y * y <= 1.0;
#endif
}

// Thread `thread` of `threads` throws darts start .. start+count-1 of a launch
// that throws darts first .. first+darts-1: contiguous shares whose sizes
// differ by at most one, none lost (montepi.plan.Plan's rule).
MONTEPI_FN void thread_share(u64 thread, u64 threads, u64 first, u64 darts, u64 *start, u64 *count) {
    u64 q = darts / threads;
    u64 r = darts % threads;
    *start = first + thread * q + (thread < r ? thread : r);
    *count = q + (thread < r ? 1ULL : 0ULL);
}

// How many of darts start .. start+count-1 land inside, from PCG64(seed)'s
// state `seeded` and increment `inc`: jump to dart start (2 numbers a dart),
// then step, output and convert twice per dart, as NumPy's random() does.
MONTEPI_FN u64 count_thread(u128 seeded, u128 inc, u64 start, u64 count) {
    if (count == 0) {
        return 0;
    }
    u128 state = advance(seeded, inc, 2ULL * start);
    u64 inside = 0;
    for (u64 i = 0; i < count; ++i) {
        state = lcg_step(state, inc);
        double x = to_unit_double(xsl_rr(state));
        state = lcg_step(state, inc);
        double y = to_unit_double(xsl_rr(state));
        inside += (u64)dart_inside(x, y);
    }
    return inside;
}

#if defined(__CUDACC__)
// One launch: every thread throws its share of darts first .. first+darts-1
// and the counts are summed on the device, a warp at a time, into *inside.
// blockDim.x must be a multiple of 32 (kernel_cuda.THREADS_PER_BLOCK).
extern "C" __global__ void count_darts(u64 state_hi, u64 state_lo, u64 inc_hi, u64 inc_lo,
                                       u64 first, u64 darts, u64 *inside) {
    u64 thread = (u64)blockIdx.x * blockDim.x + threadIdx.x;
    u64 threads = (u64)gridDim.x * blockDim.x;
    u64 start, count;
    thread_share(thread, threads, first, darts, &start, &count);
    u64 mine = count_thread(make_u128(state_hi, state_lo), make_u128(inc_hi, inc_lo), start, count);
    for (int offset = 16; offset > 0; offset /= 2) {
        mine += __shfl_down_sync(0xffffffffu, mine, offset);
    }
    if ((threadIdx.x & 31u) == 0 && mine != 0) {
        atomicAdd(inside, mine);
    }
}
#endif
