"""The offline sample data: `arch`'s bundled files are read without importing `arch` (whose
package pulls in matplotlib and statsmodels), and read exactly as `arch`'s own loaders read them."""

from __future__ import annotations

import importlib
import subprocess
import sys

import pandas as pd
import pytest

from mltrainer.engine.data.sample import _arch_data


@pytest.mark.parametrize(
    ("module", "filename"),
    [
        ("sp500", "sp500.csv.gz"),
        ("nasdaq", "nasdaq.csv.gz"),
        ("vix", "vix.csv.gz"),
        ("wti", "wti.csv.gz"),
        ("core_cpi", "core-cpi.csv.gz"),
    ],
)
def test_a_bundled_data_set_reads_as_arch_reads_it(module: str, filename: str) -> None:
    expected = importlib.import_module(f"arch.data.{module}").load()

    pd.testing.assert_frame_equal(_arch_data(module, filename), expected)


def test_loading_sample_bars_imports_neither_arch_nor_matplotlib() -> None:
    code = (
        "import sys\n"
        "from mltrainer.engine.data.sample import SampleSource\n"
        "SampleSource().bars('SPX')\n"
        "print(' '.join(m for m in ('arch', 'matplotlib', 'statsmodels') if m in sys.modules))"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=120
    )

    assert done.stdout.split() == []
