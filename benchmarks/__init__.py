"""hfdata benchmarks against its peers: run with ``python -m benchmarks`` (see ``__main__``).

The harness and the contract for workload modules are described in ``_harness``.
"""
