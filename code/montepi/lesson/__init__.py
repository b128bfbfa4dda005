"""The lesson's props: code that exists only so a notebook can show something.

Nothing here is used by :func:`montepi.estimate_pi`.  A notebook imports its
props from here, so a reader sees at once which code is the lesson's subject
(``montepi``) and which is stage equipment:

pitfalls       the original lesson's code and its traps (notebooks 01, 03 and its bug hunt; the benchmark's baseline)
memory         peak memory of one call, with tracemalloc (notebook 01)
gil            a pure-Python dart loop, PCG64 alone, and a fair interleaved race (02-threads-and-the-gil)
workerlog      a pool worker's stderr to a file, its last line, the unpickling error in words (notebook 03)
hand_cluster   ``dask scheduler`` / ``dask worker`` started by hand as processes (notebook 06)
slurm          sbatch / squeue / scancel with timeouts, and %%needs_slurm for machines without Slurm (notebook 06)
amdahl         Amdahl's and Gustafson's laws, the serial-fraction fit, digits of π per dart (notebook 07)
known_serial   a stand-in job with a serial part you choose, timed in turns (notebook 07)
overheads      what a parallel run pays besides the darts: start-up, per task, the final sum (the benchmark; 04)
ceiling        the machine's own limit: W processes released together, no pool or scheduler (notebook 07, bench)
selfcheck      the exercises' self-check: right, or which kind of wrong, never the answer (every notebook)

They live in the package, not in the notebooks, because pool and cluster
workers must be able to import what they run.
"""
