"""Numbers gone wrong inside the compute: a training loss that diverges and weights that hold NaN are each one
``uasbench: error:`` line naming the batch, or the file and tensor, with what to do, never a traceback."""

from __future__ import annotations

import pytest
import torch
import yaml

from tests.integration.test_bad_input import assert_clean_error, assert_no_leftovers, write_config

# fixtures shared with sibling modules: imported by name (F401), then requested as test parameters (F811)
from tests.integration.test_bad_input_checkpoints import (  # noqa: F401
    BACKBONE,
    change_pairs,
    metauas_state,
    predict,
    project,
    save_model,
    train,
)


def test_a_diverging_loss_names_its_batch_and_what_to_try(project, capsys):  # noqa: F811
    config, results = project
    data = yaml.safe_load(config.read_text())
    data["training"]["m"].update(lr=1e30, epochs=2)  # the first step throws the weights far enough for NaN/inf
    config.write_text(yaml.safe_dump(data))
    code, _, err = train(capsys, config)
    message = assert_clean_error(code, err, "[train m] non-finite loss", "at epoch 1, batch 1", "training diverged",
                                 "a lower lr (now 1e+30)", "a grad_clip", "checking the training data")
    assert "precision fp32" not in message  # it ran in fp32 already
    folder = results / "models" / "m"
    assert not (folder / "checkpoint.pt").exists() and not (folder / "model.pt").exists()


def nan_in(state: dict, key: str) -> dict:
    state = dict(state)
    state[key] = state[key].contiguous().clone()  # (channels_last training stores strided tensors)
    state[key].view(-1)[:3] = float("nan")
    return state


def test_a_trained_model_with_nan_weights_is_named_with_its_tensor(project, tmp_path, capsys,  # noqa: F811
                                                                   metauas_state):  # noqa: F811
    config, results = project
    key = next(k for k in metauas_state if k.startswith("decoder") and metauas_state[k].is_floating_point())
    path = save_model(results, "p", method="metauas", state_dict=nan_in(metauas_state, key))
    code, _, err, out = predict(capsys, config, tmp_path)
    assert_clean_error(code, err, path, "1 weight tensors hold NaN values", f"{key} (3 of", "uasbench train p")
    assert_no_leftovers(tmp_path, out)


def test_a_checkpoint_option_with_nan_weights_is_named(project, tmp_path, capsys, metauas_state):  # noqa: F811
    config, _ = project
    key = next(k for k in metauas_state if k.startswith("encoder") and metauas_state[k].is_floating_point())
    path = tmp_path / "weights.pt"
    torch.save(nan_in(metauas_state, key), path)
    config = write_config(config, tmp_path / "results", runs={"w": {
        "method": "metauas", "prompt": "random", "options": {"backbone": BACKBONE, "checkpoint": str(path)}}})
    code, _, err, out = predict(capsys, config, tmp_path, run="w")
    assert_clean_error(code, err, path, "hold NaN values", key)
    assert_no_leftovers(tmp_path, out)


@pytest.mark.parametrize("where", ["model", "checkpoint"])
def test_infinite_buffers_are_not_nan(where):
    """Infinity is a legal "not set yet" value (OneNIP's reconstruction range before calibration): not refused."""
    from uasbench.errors import CheckpointError
    from uasbench.training.checkpoint import check_finite_weights

    check_finite_weights({"train_rec_range": torch.tensor([float("inf"), float("-inf")])}, where)
    with pytest.raises(CheckpointError, match=f"{where}: 1 weight tensors hold NaN values: w \\(1 of 2 values\\)"):
        check_finite_weights({"w": torch.tensor([1.0, float("nan")]), "n": torch.arange(3)}, where)


def test_resuming_from_a_checkpoint_with_nan_weights_is_refused(project, capsys):  # noqa: F811
    config, results = project
    code, _, err = train(capsys, config)
    assert code == 0, err
    path = results / "models" / "m" / "checkpoint.pt"
    state = torch.load(path, weights_only=True)
    key = next(k for k, v in state["model"].items() if v.is_floating_point())
    state["model"] = nan_in(state["model"], key)
    torch.save(state, path)
    before = path.read_bytes()
    data = yaml.safe_load(config.read_text())
    data["training"]["m"]["epochs"] = 2  # one more epoch: a resume from the damaged checkpoint
    config.write_text(yaml.safe_dump(data))
    code, _, err = train(capsys, config)
    assert_clean_error(code, err, path, "hold NaN values", key, "--no-resume")
    assert path.read_bytes() == before
