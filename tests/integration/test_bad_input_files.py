"""Bad files that used to end in a traceback (or a false warning): each now gets one ``uasbench: error:`` line naming
the file and what is wrong, and official checkpoints in their advertised format convert. Output modes follow the
umask."""

from __future__ import annotations

import logging
import os
import shutil
import struct
import sys
import types
import zlib
from pathlib import Path

import pytest
import torch

# fixtures shared with sibling modules: imported by name (F401), then requested as test parameters (F811)
from tests.integration.test_bad_input import (  # noqa: F401
    assert_clean_error,
    assert_no_leftovers,
    data_check,
    mvtec,
    run_cli,
    write_config,
)
from tests.integration.test_bad_input_checkpoints import (  # noqa: F401
    BACKBONE,
    CodeRunningPayload,
    change_pairs,
    evil_checkpoint,
    predict,
    project,
    save_model,
    train,
)
from tests.integration.test_bad_input_predictions import evaluate, pred  # noqa: F401

# --- a trained model.pt that no longer fits the config ------------------------------------------------------------

def test_model_trained_with_other_options_names_the_option_and_shapes(project, tmp_path, capsys):  # noqa: F811
    from uasbench.methods import create

    config, results = project
    trained = {"method": "metauas", "data": "change_pairs", "backbone": BACKBONE,
               "options": {"decoder_channels": [64, 32, 16, 16, 8]}}
    state = create("metauas", backbone=BACKBONE, pretrained_backbone=False,
                   **trained["options"]).model.state_dict()
    path = save_model(results, "p", method="metauas", model="p", state_dict=state, entry=trained)
    code, _, err, out = predict(capsys, config, tmp_path)
    assert_clean_error(code, err, path, "decoder_channels: [64, 32, 16, 16, 8] -> None", "another shape",
                       "decoder.", "uasbench train p")
    assert "size mismatch" not in err
    assert_no_leftovers(tmp_path, out)


def test_a_model_loaded_from_its_checkpoint_does_not_claim_random_weights(project, caplog):  # noqa: F811
    from uasbench.config import load_config
    from uasbench.methods import create
    from uasbench.pipeline.methods import load_trained_method

    config, results = project
    save_model(results, "p", method="metauas", weight_source="package:efficientnet-lite0",
               state_dict=create("metauas", backbone=BACKBONE, pretrained_backbone=False).model.state_dict())
    caplog.clear()
    with caplog.at_level(logging.WARNING):
        method = load_trained_method(load_config(config), "p", torch.device("cpu"))
    assert method.weight_source == "package:efficientnet-lite0"
    assert "RANDOM" not in caplog.text and "NOT meaningful" not in caplog.text


# --- decompression bombs ------------------------------------------------------------------------------------------

def png_bomb(path: Path, width: int, height: int) -> Path:
    """A valid all-black greyscale PNG: ``width`` x ``height`` pixels in a few hundred kilobytes."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    packer, row = zlib.compressobj(9), bytes(width + 1)  # filter byte 0 + zeros
    idat = b"".join(packer.compress(row) for _ in range(height)) + packer.flush()
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0))
                     + chunk(b"IDAT", idat) + chunk(b"IEND", b""))
    return path


def test_decompression_bomb_is_refused_by_name(mvtec, tmp_path, capsys):  # noqa: F811
    bomb = png_bomb(mvtec / "bottle" / "train" / "good" / "001.png", 13500, 13500)
    assert bomb.stat().st_size < 400_000
    code, _, err = data_check(capsys, mvtec, tmp_path / "report.json")
    assert_clean_error(code, err, bomb, "exceeds the limit of 100,000,000 pixels", "UASBENCH_MAX_IMAGE_PIXELS")
    assert not (tmp_path / "report.json").exists()


def test_pixel_limit_is_configurable(mvtec, tmp_path, capsys, monkeypatch):  # noqa: F811
    monkeypatch.setenv("UASBENCH_MAX_IMAGE_PIXELS", "500")  # the fixture's images have 24 x 32 = 768 pixels
    code, _, err = data_check(capsys, mvtec, tmp_path / "report.json")
    assert_clean_error(code, err, "exceeds the limit of 500 pixels", "24")
    monkeypatch.setenv("UASBENCH_MAX_IMAGE_PIXELS", "lots")
    code, _, err = data_check(capsys, mvtec, tmp_path / "report.json")
    assert_clean_error(code, err, "UASBENCH_MAX_IMAGE_PIXELS='lots'", "positive whole number")
    monkeypatch.setenv("UASBENCH_MAX_IMAGE_PIXELS", "1000")
    code, _, err = data_check(capsys, mvtec, tmp_path / "report.json")
    assert code == 0, err


# --- training inputs ------------------------------------------------------------------------------------------------

def test_truncated_change_pair_shard_is_named(project, capsys):  # noqa: F811
    config, results = project
    pairs = results / "data" / "change_pairs"
    copy = results / "data" / "pairs-copy"
    shutil.copytree(pairs.resolve(), copy)  # the fixture's pairs are shared: damage a copy
    pairs.unlink()
    copy.rename(pairs)
    shard = pairs / "shard-00000.npz"
    shard.write_bytes(shard.read_bytes()[:200])
    code, _, err = train(capsys, config)
    assert_clean_error(code, err, shard, "cannot read shard", "make-change-pairs")
    assert not (results / "models" / "m" / "model.pt").exists()


def test_results_dir_that_is_a_file(tmp_path, capsys):
    results = tmp_path / "results"
    results.write_text("not a folder\n")
    config = write_config(tmp_path / "c.yaml", results, training={"m": {
        "method": "metauas", "data": "change_pairs", "backbone": BACKBONE, "options": {"pretrained_backbone": False}}})
    code, _, err = run_cli(capsys, "train", "m", "--config", config)
    assert_clean_error(code, err, results, "is a file, not a folder")
    assert results.read_text() == "not a folder\n"


# --- uasbench convert uniad-official / onenip-official ------------------------------------------------------------

@pytest.fixture(scope="module")
def official_uniad():
    from uasbench.methods import create
    from uasbench.methods.reconstruction.convert import uasbench_to_official

    model = create("uniad", pretrained_backbone=False, image_size=64, encoder_layers=1, decoder_layers=1).model
    return uasbench_to_official(model.state_dict(), "uniad")


def save_with_easydict(path: Path, content: dict) -> Path:
    """Save as the official UniAD trainer does (``"arch"`` an easydict.EasyDict) without easydict installed: a fake
    module stands in while pickling and is gone before loading."""
    fake = types.ModuleType("easydict")

    class EasyDict(dict):
        def __init__(self, *args, **kwargs):
            super().__init__(*args, **kwargs)
            self.__dict__.update(self)  # the real EasyDict mirrors its items as attributes

    EasyDict.__module__, EasyDict.__qualname__ = "easydict", "EasyDict"
    fake.EasyDict = EasyDict
    saved = sys.modules.get("easydict")
    sys.modules["easydict"] = fake
    try:
        arch = [EasyDict(name="backbone", type="models.backbones.efficientnet_b4", kwargs=EasyDict(pretrained=True))]
        torch.save({"epoch": 3, "arch": arch, "best_metric": 0.9, **content}, path)
    finally:
        sys.modules.pop("easydict")
        if saved is not None:
            sys.modules["easydict"] = saved
    return path


def test_convert_uniad_official_accepts_the_official_easydict_format_and_nothing_more(official_uniad, tmp_path,
                                                                                       capsys):
    optimizer = {"state": {}, "param_groups": [{"lr": 1e-4, "params": [0, 1]}]}
    source = save_with_easydict(tmp_path / "ckpt.pth.tar", {"state_dict": official_uniad, "optimizer": optimizer})
    with pytest.raises(Exception, match="easydict"):  # proof that a plain safe load refuses this file
        torch.load(source, weights_only=True)
    out = tmp_path / "uniad.pt"
    code, _, err = run_cli(capsys, "convert", "uniad-official", source, out)
    assert code == 0, err
    assert set(torch.load(out, weights_only=True)) >= {"position.row_embed.weight"}
    assert "RANDOM" not in err
    # the stand-in admits EasyDict only: a code-running global, alone or next to an EasyDict, is still refused
    marker = tmp_path / "pwned"
    plain = evil_checkpoint(tmp_path / "evil.pth.tar", marker, state_dict=official_uniad)  # proves the payload runs
    mixed = save_with_easydict(tmp_path / "mixed.pth.tar",
                               {"state_dict": official_uniad, "payload": CodeRunningPayload(marker)})
    for path in (plain, mixed):
        code, _, err = run_cli(capsys, "convert", "uniad-official", path, tmp_path / "evil.pt")
        assert_clean_error(code, err, path, "weights_only=True")
        assert not (tmp_path / "evil.pt").exists() and not marker.exists()


def test_convert_errors_name_the_file(tmp_path, capsys):
    source = tmp_path / "not-official.pth"
    torch.save({"state_dict": {"module.backbone._conv_stem.weight": torch.zeros(1)}}, source)
    for method in ("onenip", "uniad"):
        code, _, err = run_cli(capsys, "convert", f"{method}-official", source, tmp_path / "out.pt")
        assert_clean_error(code, err, source, "pos_embed.row_embed.weight")
    assert_no_leftovers(tmp_path, tmp_path / "out.pt")


# --- file modes ---------------------------------------------------------------------------------------------------

@pytest.fixture
def umask_022():
    old = os.umask(0o022)
    yield
    os.umask(old)


def test_outputs_follow_the_umask(pred, tmp_path, capsys, umask_022):  # noqa: F811
    from uasbench.io import make_temp_dir, write_json

    write_json(tmp_path / "x.json", {"a": 1})
    assert (tmp_path / "x.json").stat().st_mode & 0o777 == 0o644
    assert make_temp_dir(tmp_path, ".t.").stat().st_mode & 0o777 == 0o755
    pred_dir, out = pred
    code, _, err = evaluate(capsys, pred_dir, out)
    assert code == 0, err
    assert out.stat().st_mode & 0o777 == 0o644
    assert all(p.stat().st_mode & 0o777 == 0o644 for p in pred_dir.iterdir())
