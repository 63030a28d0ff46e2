"""Where the project's example files are: `examples/` of the checkout, or a folder the user names.

`make demo` runs the CLI from the checkout, so the folder is found next to `src/`; an installed
package without a checkout, or a run from elsewhere, names it with `--examples DIR`.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from microfactory.errors import NotFound

EXAMPLES_DIR_NAME = "examples"
CATALOG_FILE = "catalog-keypad.yaml"
NETWORK_FILE = "network.yaml"
# src/microfactory/simulation/example_files.py -> the repository root is three folders up
CHECKOUT_EXAMPLES = Path(__file__).resolve().parents[3] / EXAMPLES_DIR_NAME


@dataclass(frozen=True, slots=True)
class ExampleFiles:
    """The example catalog and network the demo and the sample plans read."""

    folder: Path

    @property
    def catalog(self) -> Path:
        return self.folder / CATALOG_FILE

    @property
    def network(self) -> Path:
        return self.folder / NETWORK_FILE


def example_files(folder: Path | None = None) -> ExampleFiles:
    """The examples in `folder`, else in the checkout, else in ./examples; `NotFound` names where it looked."""
    candidates = [folder] if folder is not None else [CHECKOUT_EXAMPLES, Path.cwd() / EXAMPLES_DIR_NAME]
    for candidate in candidates:
        files = ExampleFiles(candidate)
        if files.catalog.is_file() and files.network.is_file():
            return files
    looked = " or ".join(str(candidate.resolve()) for candidate in candidates)
    raise NotFound(
        "examples folder",
        looked,
        f"the example files ({CATALOG_FILE}, {NETWORK_FILE}) are not in {looked}: pass --examples DIR",
    )
