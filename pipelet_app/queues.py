"""Names of the Redis structures that several processes share, below every package that uses them.

Why here: the worker (`runtime/jobs.py`) fills the job queue, while the metrics endpoint and the
diagnostics report only read its depth; importing the name from the worker's module would make those
readers depend on the whole job runtime (and `operations` ⇄ `runtime` a cycle).
"""

QUEUE_NAME = "pipelet:jobs"  # the arq queue of background jobs (a sorted set)
