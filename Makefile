# ear3d: `make run` and `make test` set up everything they need on a fresh Debian/Ubuntu machine.
# Idempotent: each step runs only when something is missing or changed.

PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
SUDO   := $(shell [ "$$(id -u)" = 0 ] || echo sudo)

# System packages: PyAudio builds against PortAudio; headless GL needs Mesa's EGL.
RUN_DEBS  := gcc portaudio19-dev libegl1 libegl-mesa0 libgl1-mesa-dri
# A distribution Python needs its headers (to build PyAudio) and venv module as packages.
RUN_DEBS  += $(shell $(PYTHON) -c "import os, sysconfig; print('' if os.path.exists(os.path.join(sysconfig.get_paths()['include'], 'Python.h')) else 'python3-dev')")
RUN_DEBS  += $(shell $(PYTHON) -c "import ensurepip" 2>/dev/null || echo python3-venv)
# The real-time audio tests play through a JACK dummy server via ALSA's jack plugin.
TEST_DEBS := jackd2 libasound2-plugins
# The live window tests open a real window on a virtual X server and type into it.
TEST_DEBS += xvfb xdotool
# The 360° video test reads the spherical metadata back with ffprobe (libavformat, as VLC and mpv do).
TEST_DEBS += ffmpeg

# The real-music corpus (`make corpus`, never part of `make test`): FluidSynth and three General MIDI SoundFonts.
CORPUS_DEBS := fluidsynth fluid-soundfont-gm timgm6mb-soundfont musescore-general-soundfont-small

.PHONY: run test corpus pictures corpus-system-deps system-deps test-system-deps venv clean help

help:
	@echo "make run    set up, then open the live window (or render headless to out/ without a display)"
	@echo "make test   set up, then run the test suite"
	@echo "make corpus install FluidSynth, the SoundFonts and music21, then build the real-music corpus"
	@echo "make pictures  regenerate the layout and the README pictures after the shipped weights change"

run: system-deps venv
	$(BIN)/ear3d live

test: system-deps test-system-deps venv
	$(BIN)/python -m pytest -q

corpus: system-deps corpus-system-deps venv
	$(BIN)/python -m pip install -q -c constraints.txt -e '.[corpus]'
	$(BIN)/ear3d corpus build

pictures: system-deps test-system-deps venv
	BIN=$(BIN) bash assets/readme/regenerate.sh

# apt-get only when a package is missing; without root, use sudo, or tell the user what to run.
define ensure_debs
	@missing=$$(for p in $(1); do dpkg-query -W -f='$${Status}\n' $$p 2>/dev/null | grep -q "install ok installed" || echo $$p; done); \
	if [ -n "$$missing" ]; then \
	  if ! command -v apt-get >/dev/null; then echo "Please install the equivalents of: $$missing"; exit 1; fi; \
	  echo "Installing system packages: $$missing"; \
	  $(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get update -qq && \
	  $(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $$missing >/dev/null; \
	fi
endef

system-deps:
	$(call ensure_debs,$(RUN_DEBS))

test-system-deps:
	$(call ensure_debs,$(TEST_DEBS))

corpus-system-deps:
	$(call ensure_debs,$(CORPUS_DEBS))

# The venv is rebuilt when the dependency list or the constraints change.
venv: $(VENV)/.installed

$(VENV)/.installed: pyproject.toml constraints.txt
	@[ -x $(BIN)/python ] || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q -c constraints.txt -e '.[test]'
	@touch $@

clean:
	rm -rf $(VENV) out .pytest_cache .mypy_cache .ruff_cache *.egg-info
