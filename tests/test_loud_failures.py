"""What used to fail silently or with a traceback now says what is wrong: a layout made from
other weights, a model.name that names no model, a zero-length render, a binary config file."""

import logging

import numpy as np
import pytest

from ear3d.cli import main
from ear3d.config import load


def test_layout_from_other_weights_is_shown_with_a_warning(tmp_path, caplog):
    from ear3d.layout.file import save_layout, weights_digest
    from ear3d.layout.network import ear_graph
    from ear3d.ml.model import build_ear
    from ear3d.session import placement

    def config(seed):
        return load(None, ["model.preset=tiny", "model.weights=random", f"model.seed={seed}",
                           f"model.name={tmp_path}", "layout.kind=force"])

    made_from, running = (ear_graph(build_ear(config(seed)), config(seed).cqt.n_bins) for seed in (0, 1))
    positions = np.random.default_rng(0).normal(size=(2, made_from.table.size, 3)).astype(np.float32)
    save_layout(tmp_path / "layout.npz", made_from.table, positions, made_from.src, made_from.dst, made_from.weight)

    with caplog.at_level(logging.WARNING, logger="ear3d.session"):
        shown, edges, _ = placement(config(0), made_from.table, lambda: made_from.weight)
    assert caplog.records == [] and np.allclose(shown, positions, atol=1e-2) and len(edges) == made_from.edge_count

    with caplog.at_level(logging.WARNING, logger="ear3d.session"):
        shown, edges, _ = placement(config(1), running.table, lambda: running.weight)
    assert len(shown) == 2 and edges is not None  # still shown: same network, stale placement
    [record] = caplog.records
    message = record.getMessage()
    assert weights_digest(made_from.weight) in message and weights_digest(running.weight) in message
    assert f"`ear3d layout --model {tmp_path}`" in message


def test_the_session_compares_the_weights_the_worker_runs(tmp_path):
    """What placement() is given in a session: the edge weights of the worker's own ear."""
    from ear3d.layout.network import ear_graph
    from ear3d.ml.model import build_ear
    from ear3d.ml.worker import Worker
    from ear3d.session import running_edge_weights

    config = load(None, ["model.preset=tiny", "model.weights=random", "model.seed=3", f"model.name={tmp_path}"])
    with Worker(config) as worker:
        running = running_edge_weights(worker, config)
    assert np.array_equal(running, ear_graph(build_ear(config), config.cqt.n_bins).weight)


def test_a_model_name_without_weights_warns_that_the_ear_is_untrained(tmp_path, caplog):
    from ear3d.ml.model import build_ear

    (tmp_path / "defualt").mkdir()
    with caplog.at_level(logging.WARNING, logger="ear3d.ml.checkpoint"):
        build_ear(load(None, ["model.preset=tiny", f"model.name={tmp_path / 'defualt'}"]))
    [record] = caplog.records
    assert "a random, untrained ear is running" in record.getMessage() and "defualt" in record.getMessage()


def test_weights_random_is_quiet(tmp_path, caplog):
    from ear3d.ml.model import build_ear

    with caplog.at_level(logging.WARNING, logger="ear3d.ml.checkpoint"):
        build_ear(load(None, ["model.preset=tiny", "model.weights=random", f"model.name={tmp_path}"]))
    assert caplog.records == []


@pytest.mark.parametrize("seconds", ["0", "-2", "nan", "inf", "soon"])
def test_render_without_a_positive_length_is_a_one_line_error(seconds, capsys):
    with pytest.raises(SystemExit) as exit_:
        main(["render", "--seconds", seconds, "--out", "unused"])
    err = capsys.readouterr().err
    assert exit_.value.code == 2 and "Traceback" not in err
    assert err.strip().splitlines()[-1].startswith("ear3d render: error: argument --seconds: ")


def test_a_binary_config_file_is_a_one_line_error(tmp_path, capsys):
    config = tmp_path / "config.toml"
    config.write_bytes(bytes(range(256)) * 4)
    assert main(["--config", str(config), "audio", "--list"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith(f"ear3d: config error: config file {config} is not a TOML text file")
