"""Numbered darts on an NVIDIA GPU: the ``backend="gpu"`` choice, and its Python mirror.

The CUDA kernel (``pcg64_darts.cu`` beside this file, :data:`CUDA_SOURCE`)
implements NumPy's PCG64 itself: the 128-bit LCG step, the XSL-RR output and
NumPy's float64 conversion, so that dart *i* on the GPU is the very dart *i*
of :func:`montepi.kernel.count_inside` and the count is the same integer.
Each GPU thread jumps to its first dart with the LCG jump-ahead (what
``PCG64.advance`` does, in O(log n) multiply-adds), throws its share, and the
counts are summed on the device.

**The mirror.**  Below, one Python function per C function of the ``.cu``
file, with the same name and the same steps (the 128-bit arithmetic on
Python ints modulo 2**128).  The CPU test suite checks these against NumPy's
own ``PCG64``, ``random()`` and ``advance()`` and against ``count_inside``,
and a reviewer can read the two side by side.  :func:`emulate_count` runs the
whole scheme (launches, thread shares, jumps) in pure Python at tiny N.

**The host side** uses CuPy's ``RawModule`` (NVRTC, ``--fmad=false``).  CuPy
is optional and imported only when the GPU is used: importing montepi never
needs it.  Without CuPy or without a GPU, :class:`GpuUnavailable` says which.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from importlib import resources

import numpy as np

from .plan import Plan

#: Where the kernel's CUDA C lives (package data).
CUDA_FILE = "pcg64_darts.cu"
#: NumPy's PCG64 multiplier (PCG_DEFAULT_MULTIPLIER_128; PCG64_MULTIPLIER_HI/_LO in the .cu file).
PCG64_MULTIPLIER = 0x2360ED051FC65DA44385DF649FCCF645
MASK64 = 2**64 - 1
MASK128 = 2**128 - 1
#: 2**-53: NumPy's float64 is the top 53 bits of a 64-bit output times this.
TWO_TO_MINUS_53 = 1.0 / 9007199254740992.0
#: NVRTC options: no fused multiply-add anywhere (the kernel's explicit
#: __dmul_rn/__dadd_rn already avoid it; this keeps any later edit honest).
NVRTC_OPTIONS = ("--fmad=false",)
#: Threads per block (a multiple of 32: the kernel sums a warp at a time) and
#: blocks per multiprocessor: 2048 threads per SM, a full H100 SM.
THREADS_PER_BLOCK = 256
BLOCKS_PER_SM = 8
#: Darts per kernel launch (the gpu backend's default ``chunk``): about 0.1 s at
#: 10**11 darts/s, so progress moves and Ctrl-C waits little.  Spread over an
#: H100's 132 SMs × 2048 threads that is about 32,000 darts per thread, beside
#: which each thread's jump (one step per bit of its distance, each at most
#: four 128-bit products) is small.
LAUNCH_DARTS = 2**33

INSTALL_HINT = ('backend="gpu" needs CuPy and an NVIDIA GPU: pip install cupy-cuda13x '
                "(or cupy-cuda12x, to match the CUDA driver)")


class GpuUnavailable(ValueError):
    """``backend="gpu"`` was asked for, but CuPy, a GPU or its compiler is missing here.

    A ``ValueError`` like every other "cannot run what you asked for here"
    that ``estimate_pi`` raises, so the command line reports it in one line
    with exit status 2.
    """


def cuda_source() -> str:
    """The CUDA C of the kernel, as shipped in the package."""
    return resources.files(__package__).joinpath(CUDA_FILE).read_text(encoding="utf-8")


# ---------------------------------------------------------------------------
# The Python mirror of pcg64_darts.cu: same names, same steps.
# ---------------------------------------------------------------------------


def seeded_state(seed: int) -> tuple[int, int]:
    """``(state, inc)`` of ``PCG64(seed)`` before its first number, as NumPy derives them.

    Read from NumPy itself (``SeedSequence(seed)`` → ``pcg64_set_seed``), so
    the GPU starts where NumPy starts; the host passes both to the kernel.
    """
    state = np.random.PCG64(seed).state["state"]
    return int(state["state"]), int(state["inc"])


def mul_u128(a: int, b: int) -> int:
    """``a*b mod 2**128`` (C: ``mul_u128``, built from ``mulhi64`` and 64-bit products)."""
    return (a * b) & MASK128


def add_u128(a: int, b: int) -> int:
    """``a+b mod 2**128`` (C: ``add_u128``)."""
    return (a + b) & MASK128


def lcg_step(state: int, inc: int) -> int:
    """One LCG step, ``state*multiplier + inc`` (C: ``lcg_step``)."""
    return add_u128(mul_u128(state, PCG64_MULTIPLIER), inc)


def xsl_rr(state: int) -> int:
    """XSL-RR output: the halves xor-ed, rotated right by the top 6 bits (C: ``xsl_rr``)."""
    value = (state >> 64) ^ (state & MASK64)
    rot = state >> 122
    return ((value >> rot) | (value << ((64 - rot) & 63))) & MASK64


def to_unit_double(bits: int) -> float:
    """NumPy's float64 in [0, 1): ``(bits >> 11) * 2**-53`` (C: ``to_unit_double``)."""
    return float(bits >> 11) * TWO_TO_MINUS_53


def advance(state: int, inc: int, delta: int) -> int:
    """The state ``delta`` steps later in O(log delta) multiply-adds (C: ``advance``; NumPy: pcg_advance_lcg_128)."""
    acc_mult, acc_plus = 1, 0
    cur_mult, cur_plus = PCG64_MULTIPLIER, inc
    while delta > 0:
        if delta & 1:
            acc_mult = mul_u128(acc_mult, cur_mult)
            acc_plus = add_u128(mul_u128(acc_plus, cur_mult), cur_plus)
        cur_plus = mul_u128(add_u128(cur_mult, 1), cur_plus)
        cur_mult = mul_u128(cur_mult, cur_mult)
        delta >>= 1
    return add_u128(mul_u128(acc_mult, state), acc_plus)


def dart_inside(x: float, y: float) -> bool:
    """``x*x + y*y <= 1`` with NumPy's roundings (C: ``dart_inside``; CPython never fuses a multiply-add)."""
    return x * x + y * y <= 1.0


def thread_share(thread: int, threads: int, first: int, darts: int) -> tuple[int, int]:
    """``(start, count)``: thread ``thread``'s darts in a launch of darts ``first .. first+darts-1`` (C: same name)."""
    q, r = divmod(darts, threads)
    return first + thread * q + min(thread, r), q + (1 if thread < r else 0)


def count_thread(seeded: int, inc: int, start: int, count: int) -> int:
    """Darts ``start .. start+count-1`` inside, from the seeded state (C: ``count_thread``)."""
    if count == 0:
        return 0
    state = advance(seeded, inc, 2 * start)
    inside = 0
    for _ in range(count):
        state = lcg_step(state, inc)
        x = to_unit_double(xsl_rr(state))
        state = lcg_step(state, inc)
        y = to_unit_double(xsl_rr(state))
        inside += dart_inside(x, y)
    return inside


def count_darts(seeded: int, inc: int, first: int, darts: int, threads: int) -> int:
    """One launch of ``threads`` threads, one after another (C: the ``count_darts`` kernel)."""
    return sum(count_thread(seeded, inc, *thread_share(t, threads, first, darts)) for t in range(threads))


# ---------------------------------------------------------------------------
# The host loop, shared by the GPU and the emulation.
# ---------------------------------------------------------------------------

#: ``launch(seeded, inc, first, darts) -> inside``: one kernel launch, on the GPU or emulated.
Launch = Callable[[int, int, int, int], int]


def count_plan(plan: Plan, seed: int, launch: Launch, progress: Callable[[int], None] | None = None) -> int:
    """Throw every block of ``plan`` as one launch; ``progress(darts)`` after each."""
    seeded, inc = seeded_state(seed)
    inside = 0
    for block in plan:
        inside += launch(seeded, inc, block.start, block.count)
        if progress:
            progress(block.count)
    return inside


def emulate_count(plan: Plan, seed: int, threads: int) -> int:
    """What the GPU counts for ``plan`` with ``threads`` threads per launch, in pure Python (tiny N only)."""
    return count_plan(plan, seed, functools.partial(count_darts, threads=threads))


# ---------------------------------------------------------------------------
# The GPU, through CuPy.
# ---------------------------------------------------------------------------


def _cupy():
    """CuPy with a usable GPU, or :class:`GpuUnavailable` saying what is missing."""
    try:
        import cupy
    except ModuleNotFoundError as error:
        if error.name != "cupy":
            raise GpuUnavailable(f"{INSTALL_HINT} (CuPy failed to load: {_first_line(error)})") from None
        raise GpuUnavailable(f"{INSTALL_HINT} (CuPy is not installed)") from None
    except Exception as error:  # a broken CUDA install failing while CuPy loads
        raise GpuUnavailable(f"{INSTALL_HINT} (CuPy failed to load: {_first_line(error)})") from None
    try:
        devices = cupy.cuda.runtime.getDeviceCount()
    except Exception as error:  # CUDARuntimeError: no driver, no device, driver too old
        raise GpuUnavailable(f'backend="gpu" found no usable NVIDIA GPU: {_first_line(error)}') from None
    if devices < 1:
        raise GpuUnavailable('backend="gpu" found no NVIDIA GPU')
    return cupy


def _first_line(error: BaseException) -> str:
    lines = str(error).strip().splitlines()
    return lines[0] if lines else type(error).__name__


def describe_gpu() -> str:
    """The current GPU in a few words, e.g. ``NVIDIA H100 80GB HBM3 (132 SMs)``; checks that it is usable."""
    cupy = _cupy()
    device = cupy.cuda.Device()
    name = cupy.cuda.runtime.getDeviceProperties(device.id)["name"]
    name = name.decode() if isinstance(name, bytes) else str(name)
    return f"{name} ({device.attributes['MultiProcessorCount']} SMs)"


@functools.cache
def compiled_kernel():
    """The ``count_darts`` kernel compiled by NVRTC for the current GPU, once per process."""
    cupy = _cupy()
    try:
        module = cupy.RawModule(code=cuda_source(), options=NVRTC_OPTIONS)
        return module.get_function("count_darts")
    except Exception as error:  # CompileException, or NVRTC's library missing
        raise GpuUnavailable(f"could not compile the CUDA kernel: {_first_line(error)}") from None


def compile_kernel() -> None:
    """Compile the kernel now (not inside someone's timing); raises :class:`GpuUnavailable`."""
    compiled_kernel()


def gpu_threads() -> int:
    """Threads per launch: :data:`BLOCKS_PER_SM` blocks of :data:`THREADS_PER_BLOCK` on every multiprocessor."""
    cupy = _cupy()
    return cupy.cuda.Device().attributes["MultiProcessorCount"] * BLOCKS_PER_SM * THREADS_PER_BLOCK


def gpu_launch() -> Launch:
    """A :data:`Launch` that runs one ``count_darts`` on the GPU and waits for its count."""
    cupy = _cupy()
    kernel = compiled_kernel()
    blocks = gpu_threads() // THREADS_PER_BLOCK
    inside = cupy.zeros(1, dtype=cupy.uint64)
    u64 = np.uint64

    def launch(seeded: int, inc: int, first: int, darts: int) -> int:
        inside.fill(0)
        kernel((blocks,), (THREADS_PER_BLOCK,),
               (u64(seeded >> 64), u64(seeded & MASK64), u64(inc >> 64), u64(inc & MASK64),
                u64(first), u64(darts), inside))
        return int(inside.get()[0])  # waits for the launch

    return launch


def run_gpu(plan: Plan, seed: int, progress: Callable[[int], None] | None = None) -> int:
    """Every block of ``plan`` as one kernel launch on the current GPU; the count of darts inside."""
    return count_plan(plan, seed, gpu_launch(), progress)
