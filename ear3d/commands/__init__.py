"""Subcommands of `ear3d`. Each module defines ``HELP`` (one line), ``add_arguments(parser)``
and ``run(args, config) -> int``; heavy imports happen inside ``run``. Register a new module
in ``COMMANDS`` (name → module path); `ear3d bench` registers benches the same way in
``ear3d.bench.BENCHES``."""

COMMANDS: dict[str, str] = {
    "live": "ear3d.commands.live",
    "render": "ear3d.commands.render",
    "audio": "ear3d.commands.audio",
    "bench": "ear3d.commands.bench",
    "sonify": "ear3d.commands.sonify",
    "layout": "ear3d.commands.layout",
    "train": "ear3d.commands.train",
    "eval": "ear3d.commands.eval",
    "corpus": "ear3d.commands.corpus",
}
