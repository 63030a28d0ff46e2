"""`microfactory inspect`: train a variation model, judge images with it, generate sample images.

These commands work on files only (no database): a station or an engineer tries a model on a
folder of photos before the catalog names it.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import typer
from rich.console import Console
from rich.progress import Progress
from rich.table import Table

from microfactory.cli.context import console
from microfactory.cli.errors import command_group
from microfactory.errors import Invalid
from microfactory.problems import Problem
from microfactory.quality.inspectors import Inspection

app = command_group("Inspect images of units: train a variation model, judge images, make samples.")

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp", ".tif", ".tiff")
TRAINABLE = ("variation",)


@app.command()
def train(
    good: Path = typer.Option(..., "--good", help="folder of images of good units (PNG, JPEG, ...)"),
    out: Path = typer.Option(..., "--out", help="the model file to write (.npz)"),
    inspector: str = typer.Option("variation", "--inspector", help="the inspector to train: variation"),
) -> None:
    """Learn a variation model (mean and spread) from the images of good units in a folder."""
    from microfactory.quality.inspectors import variation
    from microfactory.quality.inspectors.images import read_image

    if inspector not in TRAINABLE:
        raise Invalid(
            "cannot train", [Problem("--inspector", f"{inspector!r} is not one of {', '.join(TRAINABLE)}")]
        )
    paths = _images_in(good)
    with Progress(console=console, transient=True) as progress:
        task = progress.add_task(f"training on {len(paths)} images", total=len(paths))
        model = variation.train((read_image(path) for path in paths), progress=lambda: progress.advance(task))
    model.save(out)
    console.print(
        f"trained {model.version} on {model.images} images ({model.size[0]}x{model.size[1]}) -> {out}"
    )


@app.command()
def judge(
    images: list[Path] = typer.Argument(..., help="the images to judge"),
    model: Path = typer.Option(..., "--model", help="a model file from `inspect train`"),
    k: float = typer.Option(4.0, "--k", help="band half-width in spreads"),
    min_area: int = typer.Option(30, "--min-area", help="smallest defect, in pixels"),
    as_json: bool = typer.Option(False, "--json", help="print one JSON list"),
) -> None:
    """Judge images against a variation model (exit 0 all pass, 1 any fails, 2 bad input)."""
    from microfactory.quality.inspectors import variation
    from microfactory.quality.inspectors.images import read_image

    judgement = variation.bands(variation.VariationModel.load(model), k=k, min_area=min_area)
    pictures = _read_all(images, read_image)  # every file read before any verdict
    results: list[dict[str, Any]] = []
    with Progress(console=Console(stderr=True), transient=True) as progress:  # stdout keeps the JSON
        task = progress.add_task(f"judging {len(pictures)} images", total=len(pictures))
        for path, picture in pictures:
            results.append(_verdict(path, variation.judge(judgement, picture)))
            progress.advance(task)
    if as_json:
        print(json.dumps(results))
    else:
        _table(results)
    if any(result["verdict"] != "pass" for result in results):
        raise typer.Exit(1)


def _read_all(paths: list[Path], read: Callable[[Path], Any]) -> list[tuple[Path, Any]]:
    """Every image read; `Invalid` naming each file that cannot be, not only the first."""
    pictures: list[tuple[Path, Any]] = []
    problems: list[Problem] = []
    for path in paths:
        try:
            pictures.append((path, read(path)))
        except Invalid as unreadable:
            problems.extend(unreadable.problems)
    if problems:
        raise Invalid("some images cannot be read", problems)
    return pictures


def _verdict(path: Path, inspection: Inspection) -> dict[str, Any]:
    """One line of `judge --json`: the spec's shape (a review counts as fail: pass or fail only)."""
    return {
        "image": str(path),
        "verdict": "pass" if inspection.verdict.value == "pass" else "fail",
        "score": inspection.score,
        "regions": [f.region.as_list() for f in inspection.findings if f.region is not None],
    }


@app.command()
def generate(
    out: Path = typer.Option(..., "--out", help="folder to write the images into"),
    count: int = typer.Option(20, "--count", min=1, help="how many images"),
    kind: list[str] = typer.Option(
        ["good"], "--kind", help="good or a defect (scratch, blob, chip, ...); repeat"
    ),
    seed: int = typer.Option(0, "--seed", help="the same seed gives the same images"),
) -> None:
    """Write synthetic keypad images (good, or with defects) to try inspectors on."""
    from microfactory.quality import synthetic
    from microfactory.quality.inspectors.images import write_image

    unknown = [name for name in kind if name not in synthetic.KINDS]
    if unknown:
        raise Invalid(
            "unknown kinds",
            [Problem("--kind", f"{name!r} is not one of {', '.join(synthetic.KINDS)}") for name in unknown],
        )
    with Progress(console=console, transient=True) as progress:
        task = progress.add_task(f"rendering {count} images", total=count)
        for index, sample in enumerate(synthetic.samples(count, seed, kind)):
            write_image(out / f"{index:04d}-{sample.kind}.png", sample.image)
            progress.advance(task)
    console.print(f"wrote {count} images to {out}")


def _images_in(folder: Path) -> list[Path]:
    if not folder.is_dir():
        raise Invalid("no images", [Problem(str(folder), "not a folder")])
    paths = sorted(p for p in folder.iterdir() if p.suffix.casefold() in IMAGE_SUFFIXES)
    if len(paths) < 2:
        raise Invalid(
            "too few images", [Problem(str(folder), f"training needs at least 2 images, found {len(paths)}")]
        )
    return paths


def _table(results: list[dict[str, Any]]) -> None:
    table = Table(title="variation model")
    for column in ("image", "verdict", "score", "regions"):
        table.add_column(column)
    for result in results:
        style = "green" if result["verdict"] == "pass" else "red"
        table.add_row(
            str(result["image"]),
            f"[{style}]{result['verdict']}[/{style}]",
            f"{result['score']:.3f}",
            json.dumps(result["regions"]),
        )
    console.print(table)
