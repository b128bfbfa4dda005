"""The lesson's props: code that exists only so a notebook can show something.

Nothing here is used by :func:`montepi.estimate_pi`.  A notebook imports its
props from here, so a reader sees at once which code is the lesson's subject
(``montepi``) and which is stage equipment:

pitfalls       the original lesson's code and its traps (notebooks 01, 02; the benchmark's baseline)
memory         peak memory of one call, with tracemalloc (notebook 01)
gil            a pure-Python dart loop, PCG64 alone, and a fair interleaved race (02-threads-and-the-gil)
workerlog      a pool worker's stderr to a file, and its last line (notebook 02)
hand_cluster   ``dask scheduler`` / ``dask worker`` started by hand as processes (notebook 05)
slurm          sbatch / squeue / scancel with timeouts (notebook 05)
amdahl         Amdahl's and Gustafson's laws, the serial-fraction fit, digits of π per dart (notebook 06)
overheads      what a parallel run pays besides the darts: start-up, per task, the final sum (notebook 06, bench)
ceiling        the machine's own limit: W processes released together, no pool or scheduler (notebook 06, bench)

They live in the package, not in the notebooks, because pool and cluster
workers must be able to import what they run.
"""
