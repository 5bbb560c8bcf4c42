"""No image is both trained on and measured on: file hashes, and near-duplicate groups."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from pigweight.cli_train import RECIPES
from pigweight.training.data import folder_samples
from pigweight.training.splits import split
from pigweight.training.train import TrainConfig, cutout_bank, gather


def _digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _files(samples: list) -> dict[str, str]:
    return {_digest(s.path): f"{s.source}/{s.name}" for s in samples if s.path is not None}


@pytest.fixture(scope="module")
def default_training(shared_data: Path) -> list:
    recipe = RECIPES["default"]
    config = TrainConfig(
        data=list(recipe["data"]),
        out=Path("unused.onnx"),
        base=Path("unused.onnx"),
        for_shipping=True,
    )
    train, _, _ = gather(config)
    return train


def _evaluation(shared_data: Path) -> dict[str, str]:
    evaluation: list = []
    for name in ("weaner_pen_topview", "grower_pen_oblique", "grower_pen_oblique_train"):
        evaluation += folder_samples(shared_data / name)
    for name in ("farrowing_piglets", "pig_seg_roboflow"):
        evaluation += split(folder_samples(shared_data / name))[1]
    return _files(evaluation)


def test_the_shipped_model_never_sees_an_evaluation_image(
    shared_data: Path, default_training: list
) -> None:
    trained = _files(default_training)
    measured = _evaluation(shared_data)
    assert len(trained) > 1000 and len(measured) > 1000
    both = sorted(trained[h] for h in set(trained) & set(measured))
    assert both == [], f"trained on and measured on: {both[:5]}"


def test_augmented_copies_of_one_photo_share_a_split(shared_data: Path) -> None:
    train, held = split(folder_samples(shared_data / "pig_seg_roboflow"))
    assert 0.05 < len(held) / (len(train) + len(held)) < 0.2
    assert {s.group for s in train}.isdisjoint({s.group for s in held})
    copies = {}
    for s in train + held:
        copies.setdefault(s.group, []).append(s)
    assert max(len(v) for v in copies.values()) >= 3  # the three Roboflow versions: one group


def test_licences_that_forbid_shipping_are_refused(shared_data: Path) -> None:
    config = TrainConfig(
        data=[shared_data / "weaner_pen_topview"],
        out=Path("x.onnx"),
        base=Path("x.onnx"),
        for_shipping=True,
    )
    with pytest.raises(ValueError, match="licence"):
        gather(config)


def test_fine_tuning_frames_never_reach_its_measurement(shared_data: Path) -> None:
    folder = shared_data / "grower_pen_oblique_train"
    train, held = split(folder_samples(folder), split_at=700)
    assert train and held
    assert max(int(Path(s.name).stem) for s in train) < 700
    assert min(int(Path(s.name).stem) for s in held) >= 700
    assert set(_files(train)).isdisjoint(_files(held))


def test_composite_pigs_are_cut_from_training_images_only(shared_data: Path) -> None:
    recipe = RECIPES["default"]
    config = TrainConfig(
        data=list(recipe["data"]), out=Path("x.onnx"), base=Path("x.onnx"), for_shipping=True
    )
    cut = {_digest(p): p.name for p in cutout_bank(config, held=False).images()}
    validation = {_digest(p): p.name for p in cutout_bank(config, held=True).images()}
    assert len(cut) > 500 and len(validation) > 50
    measured = _evaluation(shared_data)
    held_for_measuring = {
        h for h, name in measured.items() if not name.startswith("pig_seg_roboflow/")
    }
    assert set(cut).isdisjoint(measured), "a held-out photo's pigs reach a training frame"
    assert set(validation).isdisjoint(held_for_measuring)
    assert set(validation).isdisjoint(cut)


def test_the_recipe_describes_the_shipped_file() -> None:
    """What `--recipe default` would write into the model's metadata is what the shipped
    file says: its licence, and the sources it learnt from (composite frames only if any)."""
    import json

    import onnx

    from pigweight.vision.pig_model import DEFAULT_MODEL

    if not DEFAULT_MODEL.is_file():
        pytest.skip(f"{DEFAULT_MODEL} is not built")
    meta = {p.key: p.value for p in onnx.load(DEFAULT_MODEL).metadata_props}
    recipe = RECIPES["default"]
    assert meta["pigweight_licence"] == recipe["licence"]
    sources = {Path(d).name for d in recipe["data"]} | {"synthetic"}
    if recipe["composite"]:
        sources.add("composite")
    assert set(json.loads(meta["pigweight_data"])) == sources
