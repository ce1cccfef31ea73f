#!/usr/bin/env bash
# Regenerate the README pictures that depend on the shipped ear's weights (`make pictures`):
# the layout (models/default/layout.npz and layout.png), two render frames (network.png), the
# dome and 360° frames, and the live window with its panels and help overlay (under Xvfb).
# layout_bench.png comes from `ear3d bench layout --out DIR` (half an hour) and is not redone here.
set -euo pipefail
cd "$(dirname "$0")/../.."
BIN=${BIN:-.venv/bin}
PICS=${PICS:-assets/readme}  # PICS=/tmp/x to try it without touching the committed pictures
TMP=$(mktemp -d)
XVFB_PID=
cleanup() { [ -n "$XVFB_PID" ] && kill "$XVFB_PID" 2>/dev/null; rm -rf "$TMP"; }
trap cleanup EXIT

frame() {  # frame VIDEO SECONDS OUT [FILTER]: one frame of VIDEO at SECONDS as PNG
  ffmpeg -loglevel error -y -ss "$2" -i "$1" -frames:v 1 ${4:+-vf "$4"} "$3"
  [ -s "$3" ] || { echo "no frame at $2 s in $1" >&2; exit 1; }
}
last_frame() {  # last_frame VIDEO OUT [FILTER]: the video's last frame as PNG
  ffmpeg -loglevel error -y -sseof -1 -i "$1" -update 1 ${3:+-vf "$3"} "$2"
  [ -s "$2" ] || { echo "no last frame in $1" >&2; exit 1; }
}

shot() {  # shot OUT: the whole X screen as PNG
  ffmpeg -loglevel error -y -f x11grab -video_size 1280x720 -i "$DISPLAY" -frames:v 1 "$1"
}

echo "== layout"
"$BIN/ear3d" layout --picture "$PICS/layout.png" ${LAYOUT_OUT:+--out "$LAYOUT_OUT"}

echo "== two render frames, 7 s apart, centre-cropped to 640x480 each"
"$BIN/ear3d" render --seconds 8 --size 1280x720 --out "$TMP/flat"
frame "$TMP"/flat/*.mp4 0.4 "$TMP/a.png" "crop=640:480"
frame "$TMP"/flat/*.mp4 7.4 "$TMP/b.png" "crop=640:480"
ffmpeg -loglevel error -y -i "$TMP/a.png" -i "$TMP/b.png" -filter_complex hstack "$PICS/network.png"

echo "== dome and 360° frames (the last of each 2 s render)"
"$BIN/ear3d" render --display dome --size 1024x1024 --seconds 2 --fps 5 --out "$TMP/dome"
last_frame "$TMP"/dome/*.mp4 "$PICS/dome.png"
"$BIN/ear3d" render --display equirect --size 2048x1024 --seconds 2 --fps 5 --out "$TMP/equirect"
last_frame "$TMP"/equirect/*.mp4 "$PICS/equirect.png" "scale=1024:512"

echo "== the live window under Xvfb: panels with a neuron inspected, then the help overlay"
DISPLAY_NUM=:$((90 + RANDOM % 9))
Xvfb "$DISPLAY_NUM" -screen 0 1280x720x24 >/dev/null 2>&1 &
XVFB_PID=$!
sleep 2
export DISPLAY=$DISPLAY_NUM
"$BIN/ear3d" -v --set render.width=1280 --set render.height=720 live >"$TMP/live.log" 2>&1 &
LIVE_PID=$!
for _ in $(seq 180); do  # the window appears once the model, layout and worker are up
  xdotool search --name ear3d >/dev/null 2>&1 && break
  sleep 1
done
sleep 40  # the worker's first clips, the panels' histories and the camera settle
# the inspector on a neuron near the centre: picking is exact, so try points around it until
# the log says a click held one (the window logs each pick with -v)
for at in "640 360" "610 340" "670 380" "620 390" "660 330" "580 360" "700 360" "640 300" "640 420"; do
  xdotool mousemove $at click 1
  sleep 1
  grep -q "picked neuron" "$TMP/live.log" && break
done
grep -q "picked neuron" "$TMP/live.log" || echo "no click near the centre held a neuron; panels.png has an empty inspector" >&2
sleep 7
shot "$PICS/panels.png"
xdotool key h
sleep 4
shot "$PICS/panels_help.png"
xdotool key Escape
wait "$LIVE_PID" || true
echo "done: $(ls "$PICS"/*.png | tr '\n' ' ')"
