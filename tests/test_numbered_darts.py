"""The core promise: the count inside depends only on (samples, seed)."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from montepi import count_inside, darts, estimate_pi, generator_at, plan_blocks
from montepi.kernel import BLOCK_DARTS


def reference_count(samples: int, seed: int) -> int:
    """All darts at once, straight from one PCG64 stream: the definition."""
    xy = np.random.Generator(np.random.PCG64(seed)).random((samples, 2))
    return int(np.count_nonzero(xy[:, 0] ** 2 + xy[:, 1] ** 2 <= 1.0))


@pytest.mark.parametrize("samples", [1, 2, 7, 1000, BLOCK_DARTS - 1, BLOCK_DARTS, BLOCK_DARTS + 1, 300_001])
def test_kernel_matches_the_definition(samples):
    assert count_inside(0, samples, 2017) == reference_count(samples, 2017)


@pytest.mark.parametrize("buffer", [2**12, 2**16, 2**18, 2**20])
def test_the_count_does_not_depend_on_the_buffer_size(buffer, monkeypatch):
    from montepi import kernel

    monkeypatch.setattr(kernel, "BLOCK_DARTS", buffer)
    assert count_inside(12_345, 300_001, 2017) == reference_count(312_346, 2017) - reference_count(12_345, 2017)


def test_dart_i_uses_numbers_2i_and_2i_plus_1():
    stream = np.random.Generator(np.random.PCG64(5)).random(40)
    for i in (0, 1, 7, 19):
        assert np.array_equal(generator_at(i, 5).random(2), stream[2 * i : 2 * i + 2])


@settings(max_examples=60, deadline=None)
@given(
    samples=st.integers(1, 200_000),
    seed=st.integers(0, 2**64),
    cuts=st.lists(st.floats(0, 1, allow_nan=False), max_size=6),
)
def test_any_split_into_blocks_gives_the_same_count(samples, seed, cuts):
    edges = sorted({0, samples, *(int(c * samples) for c in cuts)})
    pieces = sum(count_inside(a, b - a, seed) for a, b in zip(edges, edges[1:]))
    assert pieces == count_inside(0, samples, seed)


@settings(max_examples=100, deadline=None)
@given(samples=st.integers(1, 10**15), parts=st.integers(1, 1000), chunk=st.integers(1, 10**14))
def test_plans_cover_every_dart_exactly_once(samples, parts, chunk):
    for plan in (plan_blocks(samples, parts=parts), plan_blocks(samples, chunk=chunk)):
        if len(plan) > 5000:  # check the arithmetic at the ends of long plans
            blocks = plan[:50] + plan[-50:]
            assert plan[-1].start + plan[-1].count == samples
        else:
            blocks = list(plan)
            assert sum(b.count for b in blocks) == samples
        assert blocks[0].start == 0
        for a, b in zip(blocks, blocks[1:]):
            if b.start == a.start + a.count:
                continue
            assert a is blocks[49]  # only the gap between the two sampled ends
        assert max(b.count for b in blocks) - min(b.count for b in blocks) <= 1


def test_plan_is_array_split():
    plan = plan_blocks(103, parts=4)
    expected = [len(p) for p in np.array_split(np.arange(103), 4)]
    assert [b.count for b in plan] == expected
    assert [b.start for b in plan] == [0, 26, 52, 78]


def test_a_huge_plan_needs_no_memory():
    plan = plan_blocks(10**18, chunk=2**26)
    assert len(plan) == -(-(10**18) // 2**26)
    assert plan[-1].start + plan[-1].count == 10**18


@pytest.mark.parametrize("samples", [999_999, 1_000_000])
def test_numpy_and_dask_darts_give_the_same_count_with_the_same_expression(samples):
    counts = []
    for d in (darts(samples, seed=11), darts(samples, seed=11, chunks=123_457)):
        x, y = d[:, 0], d[:, 1]
        counts.append(int(np.count_nonzero(x * x + y * y <= 1.0)))
    assert counts[0] == counts[1] == reference_count(samples, 11)


def test_dask_darts_are_the_numpy_darts():
    assert np.array_equal(darts(10_001, seed=3), darts(10_001, seed=3, chunks=999).compute())


@pytest.mark.parametrize("samples", [100_001, 100_000])
def test_every_backend_gives_the_identical_count(samples):
    expected = reference_count(samples, 2017)
    seen = {("serial", 1, None): estimate_pi(samples, backend="serial").inside}
    for backend in ("threads", "pool", "dask"):
        for workers in (1, 2, 3):
            for chunk in (None, 9_999, 50_000):
                seen[backend, workers, chunk] = estimate_pi(
                    samples, backend=backend, workers=workers, chunk=chunk
                ).inside
    assert set(seen.values()) == {expected}, seen


@pytest.fixture(scope="module")
def cluster_client():
    from distributed import Client

    from montepi import local_cluster

    cluster = local_cluster(3)
    client = Client(cluster)
    yield client
    client.close()
    cluster.close()


@pytest.mark.parametrize("samples", [100_001, 100_000])
@pytest.mark.parametrize("chunk", [None, 7_777])
def test_distributed_gives_the_identical_count(cluster_client, samples, chunk):
    result = estimate_pi(samples, backend="distributed", client=cluster_client, chunk=chunk)
    assert result.inside == reference_count(samples, 2017)
    assert result.workers == 3


def test_distributed_starts_and_stops_its_own_cluster():
    result = estimate_pi(100_001, backend="distributed", workers=2)
    assert result.inside == reference_count(100_001, 2017)
    assert result.workers == 2


def test_the_seed_matters():
    assert estimate_pi(100_000, seed=1).inside != estimate_pi(100_000, seed=2).inside
