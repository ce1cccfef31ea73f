"""`ear3d audio --list`: the audio output devices PortAudio sees (for audio.device)."""

from __future__ import annotations

import argparse

from ear3d.config import Config

HELP = "list audio output devices"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--list", action="store_true", required=True, help="list output devices and exit")


def run(args: argparse.Namespace, config: Config) -> int:
    from ear3d.audio import list_output_devices

    devices = list_output_devices()
    if not devices:
        print("No audio output devices (no sound card or sound server). ear3d runs without sound; "
              "set audio.save_clips to keep each new clip as WAV.")
        return 0
    print("index  channels  name   (use the index or part of the name as audio.device)")
    for index, name, channels in devices:
        print(f"{index:>5}  {channels:>8}  {name}")
    return 0
