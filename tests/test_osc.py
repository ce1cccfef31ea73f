"""OSC over UDP on loopback with a real python-osc client and server: set, normalized, actions,
query, registered feedback, and malformed or unknown messages counted and ignored."""

from __future__ import annotations

import socket
import threading

import pytest
from pythonosc.dispatcher import Dispatcher
from pythonosc.osc_server import ThreadingOSCUDPServer
from pythonosc.udp_client import SimpleUDPClient
from waiting import wait_for

from ear3d.control.osc import OscServer
from ear3d.control.params import Parameters
from ear3d.messages import Command


@pytest.fixture
def osc():
    server = OscServer(Parameters(), "127.0.0.1", 0)
    yield server
    server.close()


@pytest.fixture
def listener():
    """A python-osc server collecting what ear3d sends back."""
    got: list[tuple[str, list]] = []
    dispatcher = Dispatcher()
    dispatcher.set_default_handler(lambda address, *args: got.append((address, list(args))))
    server = ThreadingOSCUDPServer(("127.0.0.1", 0), dispatcher)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    yield server.server_address[1], got
    server.shutdown()
    server.server_close()
    thread.join()


def test_set_normalized_and_actions_are_coalesced(osc: OscServer) -> None:
    client = SimpleUDPClient(*osc.address)
    for i in range(200):
        client.send_message("/ear3d/volume", i / 256)
    client.send_message("/ear3d/exposure/normalized", 1.0)
    client.send_message("/ear3d/minimise", "minimise")
    client.send_message("/ear3d/action/screenshot", [])
    client.send_message("/ear3d/action/recall_scene", 2)
    client.send_message("/ear3d/action/highlight_layer/next", [])
    assert wait_for(lambda: osc.counts["received"] >= 205)
    commands = osc.drain()
    spec = osc.params.spec("exposure")
    assert commands == [Command("volume", 199 / 256), Command("exposure", spec.hi), Command("minimise", 1),
                        Command("app:screenshot"), Command("app:recall_scene", 2), Command("highlight_layer:next")]
    assert osc.counts["applied"] + osc.counts["coalesced"] == 205  # some volumes never parsed: a later one came


def test_malformed_unknown_and_bad_are_counted(osc: OscServer) -> None:
    client = SimpleUDPClient(*osc.address)
    raw = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    raw.sendto(b"\x00garbage", osc.address)
    raw.sendto(b"/ear3d/volume\x00\x00\x00,f\x00", osc.address)  # truncated: the float is missing
    raw.close()
    client.send_message("/ear3d/no_such", 1.0)
    client.send_message("/other/volume", 1.0)
    client.send_message("/ear3d/volume", "loud")
    client.send_message("/ear3d/volume", float("nan"))
    client.send_message("/ear3d/volume", 7.0)  # out of range: clamped
    assert wait_for(lambda: osc.counts["malformed"] == 2 and osc.counts["received"] == 5)
    assert osc.counts["unknown"] == 2 and osc.counts["bad"] == 2
    assert osc.drain() == [Command("volume", 1.0)]


def test_query_and_registered_feedback(osc: OscServer, listener) -> None:
    port, got = listener
    client = SimpleUDPClient(*osc.address)
    client.send_message("/ear3d/query", port)
    assert wait_for(lambda: any(a == "/ear3d/query/end" for a, _ in got))
    params = {args[0]: args for a, args in got if a == "/ear3d/param"}
    assert set(params) == set(osc.params.specs)
    name, lo, hi, value, default, scale, group = params["learning_rate"]
    spec = osc.params.spec("learning_rate")
    assert (lo, hi, scale) == (pytest.approx(spec.lo), pytest.approx(spec.hi), "log")
    got.clear()
    client.send_message("/ear3d/register", port)
    assert wait_for(lambda: len(got) >= len(osc.params.specs))  # the full state at once
    got.clear()
    osc.feedback({"volume": 0.25})
    assert wait_for(lambda: ("/ear3d/volume", [0.25]) in got)


def test_undecodable_datagrams_are_counted_and_the_server_goes_on(osc: OscServer) -> None:
    """Bytes python-osc cannot decode as text (it raises UnicodeDecodeError, not ParseError):
    counted as malformed, no traceback from the server thread, the next message applies."""
    raw = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    raw.sendto(b"/\xf5\xff\x00", osc.address)
    raw.sendto(b"\xc3\x28abc\x00\x00\x00,f\x00\x00\x00\x00\x00\x00", osc.address)
    raw.close()
    SimpleUDPClient(*osc.address).send_message("/ear3d/volume", 0.25)
    assert wait_for(lambda: osc.counts["malformed"] == 2 and osc.counts["received"] == 1)
    assert osc.drain() == [Command("volume", 0.25)]


def test_only_whole_finite_single_number_values_are_coalesced_unparsed() -> None:
    from pythonosc.osc_message_builder import build_msg

    from ear3d.control.osc import value_key

    names = Parameters().specs
    assert value_key(build_msg("/ear3d/volume", [0.5]).dgram, names) == "volume"
    assert value_key(build_msg("/ear3d/volume/normalized", [1]).dgram, names) == "volume"
    for not_a_plain_value in (build_msg("/ear3d/volume", [float("nan")]).dgram,  # parsed: counted as bad
                              build_msg("/ear3d/volume", ["loud"]).dgram,
                              build_msg("/ear3d/volume", [0.5, 0.6]).dgram,
                              build_msg("/ear3d/action/screenshot", [1.0]).dgram,
                              build_msg("/ear3d/no_such", [1.0]).dgram,
                              build_msg("/ear3d/volume/other", [1.0]).dgram,
                              b"/ear3d/volume\x00\x00\x00,f\x00\x00\x00\x00",  # truncated
                              b"#bundle\x00" + bytes(8)):
        assert value_key(not_a_plain_value, names) is None


def test_a_flood_is_coalesced_before_parsing(osc: OscServer) -> None:
    sender = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    from pythonosc.osc_message_builder import build_msg

    for i in range(3000):
        sender.sendto(build_msg("/ear3d/volume", [i / 4096]).dgram, osc.address)  # exact in float32
    sender.close()
    assert wait_for(lambda: osc.counts["received"] == 3000)
    assert osc.counts["coalesced"] > 0 and osc.counts["applied"] + osc.counts["coalesced"] == 3000
    assert osc.drain() == [Command("volume", 2999 / 4096)]
