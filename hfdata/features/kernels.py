"""STUB (replaced by the kernels branch): per-window reference computations."""

from __future__ import annotations

from typing import Final

import numpy as np
import numpy.typing as npt
import pandas as pd

__all__ = ["KERNELS", "window_features"]

KERNELS: Final = ("skew", "kurt", "slope", "abs_energy", "zero_crossings", "dominant_frequency")


def window_features(
    name: str,
    values: npt.NDArray[np.float64],
    ns: npt.NDArray[np.int64],
    starts: npt.NDArray[np.int64],
    ends: npt.NDArray[np.int64],
) -> npt.NDArray[np.float64]:
    out = np.full(len(starts), np.nan)
    for i, (s, e) in enumerate(zip(starts.tolist(), ends.tolist(), strict=True)):
        v = values[s:e]
        t = ns[s:e]
        ok = ~np.isnan(v)
        v, t = v[ok], t[ok]
        if name == "abs_energy":
            out[i] = float(np.sum(v * v))
        elif not len(v):
            continue
        elif name == "skew":
            out[i] = pd.Series(v).skew()
        elif name == "kurt":
            out[i] = pd.Series(v).kurt()
        elif name == "slope":
            sec = (t - t[0]) / 1e9
            if len(v) >= 2 and np.ptp(sec) > 0:
                out[i] = np.polyfit(sec, v, 1)[0]
        elif name == "zero_crossings":
            x = v - v.mean()
            x = x[x != 0]
            out[i] = float(np.count_nonzero(np.diff(np.sign(x))))
        elif name == "dominant_frequency" and len(v) >= 2:
            d = float(np.median(np.diff(t))) / 1e9
            if d > 0:
                spectrum = np.abs(np.fft.rfft(v - v.mean()))
                out[i] = np.fft.rfftfreq(len(v), d)[1 + int(np.argmax(spectrum[1:]))]
    return out
