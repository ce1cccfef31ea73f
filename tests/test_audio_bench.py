"""`ear3d bench audio --window` on the JACK dummy server: a real LiveApp (tiny preset, EGL)
loads, draws and plays through both engines, and the bench reports what was played."""

import argparse

from ear3d.bench.audio import run


def test_window_cases_play_while_the_live_app_draws(jack_server, tiny_config, monkeypatch):
    monkeypatch.delenv("DISPLAY", raising=False)  # the EGL variant, whatever the shell has
    args = argparse.Namespace(cases="engines", window=True, engines="thread,process", buffers="1024", seconds=3.0)
    rows = {(r.case, r.metric): r.value for r in run(args, tiny_config)}

    for engine in ("thread", "process"):
        case = f"window_{engine}_1024"
        assert rows[(case, "draws_per_s")] > 0  # the app drew frames of the network, not the loading screen
        assert rows[(case, "callbacks")] > 0
        # the stream played in real time's neighbourhood (its exact rate is the bench's figure)
        assert 0.5 * jack_server.sample_rate < rows[(case, "played_rate")] < 1.05 * jack_server.sample_rate
        assert rows[(case, "lateness_max")] >= rows[(case, "lateness_p99")]
