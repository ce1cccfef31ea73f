"""The sonification worker, in a thread and in a process of its own: continuous steps, commands
from another thread, bad commands answered without stopping, NaN recovery, origins from files
(tiny preset, 1.5 s clips)."""

import math

import numpy as np
import pytest
import torch

from ear3d.clips import make_origin_clip, write_wav
from ear3d.config import load
from ear3d.messages import Clip, Command
from ear3d.ml.objectives import Objective, region
from ear3d.ml.worker import MAX_FAILED_STEPS
from ear3d.worker_client import new_worker

SR = 44100
SECONDS = 1.5
S = round(SR * SECONDS)
WAIT = 60.0


@pytest.fixture(scope="module", params=["thread", "process"])
def worker(request):
    """The same behaviour from the thread worker and the worker process."""
    cfg = load(None, ["model.preset=tiny", "model.weights=random", f"audio.clip_seconds={SECONDS}",
                      "optimize.context_seconds=0.75", "optimize.threads=1", "optimize.batch=2",
                      f"optimize.worker={request.param}"])
    before = torch.get_num_threads()
    with new_worker(cfg) as w:
        assert w.kind == request.param
        yield w
    torch.set_num_threads(before)


def next_frame(worker, version, pred=lambda f: True):
    """The first frame newer than ``version`` that satisfies ``pred``: (version, frame)."""
    while True:
        newer, frame = worker.frames.wait_newer(version, WAIT)
        assert newer > version and frame is not None, "no frame in time"
        version = newer
        if pred(frame):
            return version, frame


def settle(worker):
    """Pause, clear and let the worker answer: returns the newest frame version."""
    worker.send(Command("pause"))
    worker.send(Command("clear"))
    worker.send(Command("origin", "noise"))
    version, _ = next_frame(worker, worker.frames.peek()[0], lambda f: not f.optimizing and f.step == 0)
    return version


def test_steps_run_continuously_and_publish_what_the_renderer_needs(worker):
    version = settle(worker)
    worker.send(Command("select", {"layer": "enc5", "pitch": (0.5, 0.5)}))
    worker.send(Command("resume"))
    version, frame = next_frame(worker, version, lambda f: f.step >= 3)
    assert frame.optimizing and frame.clip.samples.shape == (S,) and frame.clip.sample_rate == SR
    assert list(frame.layers) == worker.layer_names
    assert all(a.dtype == np.float32 and a.shape == worker.shapes[n] for n, a in frame.layers.items())
    assert len(frame.loss_history) == len(frame.target_history) == frame.step
    assert np.isfinite(frame.loss) and np.isfinite(frame.target)
    assert frame.scalogram.shape == frame.scalogram_grad.shape == (216, worker.shapes["scalogram"][2])
    assert np.abs(frame.scalogram_grad).sum() > 0
    assert list(frame.selected) == ["enc5"] and frame.selected["enc5"].any() and not frame.selected["enc5"].all()
    # new clips keep coming, each with a new serial (the audio loop swaps on a change)
    version, later = next_frame(worker, version, lambda f: f.step > frame.step)
    assert later.clip.serial != frame.clip.serial and not np.array_equal(later.clip.samples, frame.clip.samples)
    # pause: no more steps; reset: back to the origin
    worker.send(Command("pause"))
    worker.send(Command("reset"))
    version, frame = next_frame(worker, version, lambda f: f.step == 0)
    assert not frame.optimizing
    assert worker.frames.wait_newer(version, 1.0)[0] == version  # nothing new while paused
    # keep: the previous selection stays when a new one arrives
    worker.send(Command("select", {"layer": "ar3"}))
    worker.send(Command("select", {"layer": "enc2", "keep": True}))
    worker.send(Command("step", 2))
    version, frame = next_frame(worker, version, lambda f: f.step == 2)
    assert sorted(frame.selected) == ["ar3", "enc2"]  # enc5 was replaced, ar3 kept
    assert worker.frames.wait_newer(version, 1.0)[0] == version  # only the two steps asked for


@pytest.mark.parametrize("command, reason", [
    (Command("select", {"layer": "enc99"}), "unknown layer 'enc99'"),
    (Command("select", {"layer": "enc1", "channel": (1.2, 0.1)}), "from 0 to 1"),
    (Command("select", {"layer": "enc1", "time": (0.5, -0.1)}), "from 0 to 1"),
    (Command("select", "enc1"), "mapping"),
    (Command("learning_rate", math.nan), "finite"),
    (Command("set", {"activity_penalty": math.inf}), "finite"),
    (Command("set", {"batch": 0}), "out of range"),
    (Command("set", {"no_such_factor": 1.0}), "unknown config key"),
    (Command("set", {"device": "cpu"}), "cannot change"),
    (Command("origin", "/no/such/file.wav"), "no/such/file.wav"),
    (Command("origin", 42), "origin must be"),
    (Command("clip", "not a clip"), "needs a Clip"),
    (Command("clip", Clip(np.full(S, np.nan, np.float32), SR)), "NaN"),
    (Command("clip", Clip(np.zeros(S, np.float32), 22050)), "22050"),
    (Command("objective", "louder"), "needs an Objective"),
    (Command("objective", region("enc42")), "unknown layer 'enc42'"),
    (Command("step", -3), "positive"),
    (Command("frobnicate"), "unknown command 'frobnicate'"),
])
def test_worker_survives_each_bad_command(worker, command, reason):
    version = settle(worker)
    errors_before = worker.errors.peek()[0]
    worker.send(Command("select", {"layer": "enc3"}))
    worker.send(command)
    worker.send(Command("step", 1))
    _, frame = next_frame(worker, version, lambda f: f.step == 1)  # the loop went on
    n, error = worker.errors.peek()  # commands run in order: the answer is in by now
    assert n > errors_before and reason.lower() in error.lower() and command.name in error, error
    assert list(frame.selected) == ["enc3"] and np.isfinite(frame.loss)  # the bad command changed nothing


def test_broken_origin_file_is_reported_and_user_file_of_another_rate_is_used(worker, tmp_path):
    version = settle(worker)
    (tmp_path / "broken.wav").write_bytes(b"RIFF\x00\x00\x00\x00WAVEjunk")
    worker.send(Command("origin", str(tmp_path / "broken.wav")))
    t = np.arange(int(0.4 * 16000)) / 16000
    tone = 0.4 * np.sin(2 * np.pi * 330 * t)
    path = write_wav(tmp_path / "user.wav", np.stack([tone, tone], 1), 16000)  # stereo, 16 kHz, 0.4 s
    worker.send(Command("origin", str(path)))
    version, frame = next_frame(worker, version, lambda f: np.abs(f.clip.samples).max() > 0.3)
    assert "broken.wav" in worker.errors.peek()[1]
    assert frame.clip.samples.shape == (S,) and frame.clip.sample_rate == SR
    assert 0.3 < np.abs(frame.clip.samples).max() < 0.5


def test_a_nan_step_is_undone_counted_and_reported(worker):
    version = settle(worker)
    calls = {"n": 0}
    good = region("enc4")

    def flaky(acts):
        calls["n"] += 1
        return good(acts) * (math.nan if calls["n"] == 2 else 1.0)

    recoveries = worker.frames.peek()[1].recoveries
    worker.send(Command("objective", Objective(flaky, "flaky", uses=("enc4",))))
    worker.send(Command("step", 4))
    version, frame = next_frame(worker, version, lambda f: f.step == 3)  # 4 steps, one undone
    assert frame.recoveries == recoveries + 1
    assert np.isfinite(frame.clip.samples).all() and np.isfinite(frame.loss_history).all()
    assert "non-finite" in worker.errors.peek()[1]


def test_clip_command_publishes_that_clip(worker):
    version = settle(worker)
    clip = Clip(make_origin_clip(SR, SECONDS), SR)
    worker.send(Command("clip", clip))
    _, frame = next_frame(worker, version, lambda f: f.clip.samples[:100].any())
    assert np.array_equal(frame.clip.samples, clip.samples) and frame.step == 0


def test_an_objective_that_raises_and_a_non_command_do_not_stop_the_worker(worker):
    # Paused, a new objective is listened to at once: the listen raises and the target is dropped.
    # (Objective and step sent together would race in the process worker: they may arrive in one
    # batch or two, so the step path is tested below with the optimizer already running.)
    version = settle(worker)
    errors_before = worker.errors.peek()[0]
    worker.send("pause")  # not a Command at all
    assert "expected a Command" in worker.errors.wait_newer(errors_before, WAIT)[1]

    def broken(acts):
        raise IndexError("no such neuron")

    worker.send(Command("objective", Objective(broken, "broken", uses=("enc1",))))
    _, error = worker.errors.wait_newer(errors_before + 1, WAIT)
    assert "listen failed, target cleared" in error and "no such neuron" in error
    worker.send(Command("select", {"layer": "enc2"}))  # and it goes on
    worker.send(Command("step", 1))
    _, frame = next_frame(worker, version, lambda f: f.step == 1 and "enc2" in f.selected)


def test_an_objective_that_keeps_raising_while_running_is_dropped_after_its_retries(worker):
    version = settle(worker)
    worker.send(Command("select", {"layer": "enc3"}))
    worker.send(Command("resume"))
    version, _ = next_frame(worker, version, lambda f: f.optimizing and f.step >= 1)
    errors_before = worker.errors.peek()[0]

    def broken(acts):
        raise IndexError("no such neuron")

    worker.send(Command("objective", Objective(broken, "broken", uses=("enc1",))))
    n, error = worker.errors.wait_newer(errors_before, WAIT)
    while "target cleared" not in error:  # a failed step is retried first (MAX_FAILED_STEPS in a row)
        assert "no such neuron" in error and "retrying" in error and n < errors_before + MAX_FAILED_STEPS
        n, error = worker.errors.wait_newer(n, WAIT)
    assert f"failed {MAX_FAILED_STEPS} times in a row" in error and "no such neuron" in error
    version, frame = worker.frames.peek()
    worker.send(Command("pause"))
    worker.send(Command("select", {"layer": "enc2"}))  # and it goes on (the step count too)
    worker.send(Command("step", 1))
    next_frame(worker, version, lambda f: f.step == frame.step + 1 and "enc2" in f.selected)


def test_a_step_that_raises_once_is_retried_and_the_optimizer_goes_on(worker):
    version = settle(worker)
    errors_before = worker.errors.peek()[0]
    calls = {"n": 0}
    good = region("enc4")

    def flaky(acts):  # raises on its second call only (the first is the listen after the objective)
        calls["n"] += 1
        if calls["n"] == 2:
            raise RuntimeError("transient")
        return good(acts)

    worker.send(Command("objective", Objective(flaky, "flaky", uses=("enc4",))))
    worker.send(Command("step", 4))
    _, frame = next_frame(worker, version, lambda f: f.step == 3)  # 4 steps asked, one failed and was retried
    n, error = worker.errors.peek()
    assert n == errors_before + 1 and "transient" in error and "retrying from the last good clip" in error
    assert np.isfinite(frame.clip.samples).all()
