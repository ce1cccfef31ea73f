"""The TableFeed builds activity tables off the frame loop's thread: every new worker frame
arrives prepared (the same table the frame loop built before), the newest wins, bad frames are
skipped with the reason kept, and stop() ends the thread."""

import time

import numpy as np

from ear3d.activity import TableFeed, activity_table, target_mask
from ear3d.graph import table_from_activations
from ear3d.messages import ActivationFrame, Clip, Mailbox


def frame(rng, step, selected=None):
    layers = {"a": rng.normal(size=(2, 3, 8)).astype(np.float32), "b": rng.normal(size=(4, 1, 5)).astype(np.float32)}
    return ActivationFrame(Clip(np.zeros(16, np.float32), 16000), layers, step=step, selected=selected or {})


def wait_for(mailbox, version, timeout=10.0):
    v, value = mailbox.wait_newer(version, timeout)
    assert v > version, "no prepared frame arrived"
    return v, value


def test_feed_prepares_every_new_frame_off_the_caller_thread():
    rng = np.random.default_rng(0)
    frames = Mailbox()
    first = frame(rng, 0)
    table = table_from_activations(first.layers)
    frames.put(first)
    feed = TableFeed(frames, table, steps=6, after_version=1)  # the first frame is already shown
    try:
        assert feed.running
        time.sleep(0.3)
        assert feed.ready.peek()[0] == 0  # nothing new: nothing prepared
        sel = {"b": np.zeros((4, 1, 5), bool)}
        sel["b"][2, 0, 3] = True
        second = frame(rng, 1, sel)
        frames.put(second)
        version, prepared = wait_for(feed.ready, 0)
        assert prepared.frame is second
        np.testing.assert_array_equal(prepared.activity, activity_table(second.layers, table, 6))
        assert prepared.targets.sum() == 1 and prepared.targets[table.layers[1].offset + 2]
        np.testing.assert_array_equal(prepared.targets, target_mask(sel, table))
        frames.put(ActivationFrame(Clip(np.zeros(16, np.float32), 16000), {"a": np.zeros((9, 9, 9), np.float32)}))
        time.sleep(0.5)
        assert feed.ready.peek()[0] == version and feed.error  # a frame of another network: skipped, said why
        third = frame(rng, 2)
        frames.put(third)
        _, prepared = wait_for(feed.ready, version)
        assert prepared.frame is third
    finally:
        feed.stop()
    assert not feed.running
