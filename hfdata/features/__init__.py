"""The features stage: many windows of every variable, aggregated, in bounded memory.

`Store.features` lives here (issue 18). It sits above the read stage: it plans a grid
of windows per variable, reads the store one partition at a time (plus the overlap a
window crossing a partition boundary needs) through `hfdata.read`, computes every
feature of every window at once on the sorted values, and assembles the results, or
writes them as Parquet as it goes. `kernels` holds the feature computations that
`read` does not already know (skew, kurt, slope, abs_energy, zero_crossings,
dominant_frequency), vectorised over many windows.
"""

__all__: list[str] = []  # a stage: import from its modules
