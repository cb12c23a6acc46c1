#!/usr/bin/env bash
# Memory over a long day: one recorded store day's videos played again and again as one long input to
# `agegender visitors`, with its RSS sampled from /proc every 30 s (and the video being read).
#
# Usage: scripts/visitors_long_day.sh DAY_VIDEOS_DIR MODEL OUT_DIR [COPIES] [-- visitors options]
#   DAY_VIDEOS_DIR: a day's videos named CAM_YYYYMMDD-HHMMSS.mp4 (bench_visitors writes them: WORK/day/videos)
#   COPIES (default 48): copies per video, hard links named 5 minutes apart from 08:00, so the generated
#   300-person day's 4 files x 48 = 192 files, 8.1 hours of video. OUT_DIR gets videos/, out/ (the
#   visitors outputs), rss.log ("unix_time rss_kib hwm_kib video") and time.txt (/usr/bin/time -v).
#   Afterwards: scripts/visitors_long_day.sh --report OUT_DIR prints the highest RSS per eighth of the files.
# Exit codes: 0 ok, 1 failure, 2 bad usage.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
usage() { sed -n '2,11p' "$0" | sed 's/^# \{0,1\}//'; }
[[ $# -ge 1 && ( "$1" == "-h" || "$1" == "--help" ) ]] && { usage; exit 0; }

report() {
  /usr/bin/python3 - "$1" <<'PY'
import os, sys
out = sys.argv[1]
files = sorted(os.listdir(os.path.join(out, "videos")))
index = {f: i for i, f in enumerate(files)}
rows = [l.split() for l in open(os.path.join(out, "rss.log")) if len(l.split()) == 4]
bins = [[] for _ in range(8)]
for t, rss, hwm, video in rows:
    bins[min(7, index[video] * 8 // len(files))].append(int(rss))
print("files reached", max(index[r[3]] for r in rows) + 1, "of", len(files), "| samples", len(rows))
print("highest RSS (MiB) per eighth of the files:", " | ".join(f"{max(b) / 1024:.0f}" if b else "-" for b in bins))
print("VmHWM at the last sample (MiB):", f"{int(rows[-1][2]) / 1024:.0f}")
PY
}
if [[ $# -ge 2 && "$1" == "--report" ]]; then report "$2"; exit 0; fi
[[ $# -ge 3 ]] || { usage >&2; exit 2; }
DAY="$1" MODEL="$2" OUT="$3"; shift 3
COPIES=48
if [[ $# -gt 0 && "$1" != "--" ]]; then COPIES="$1"; shift; fi
[[ $# -gt 0 && "$1" == "--" ]] && shift
[[ "${COPIES}" =~ ^[1-9][0-9]*$ ]] || { echo "visitors_long_day: COPIES '${COPIES}' is not a positive integer" >&2; exit 2; }
[[ -d "${DAY}" ]] || { echo "visitors_long_day: ${DAY} is not a folder of day videos" >&2; exit 2; }
[[ -e "${OUT}" ]] && { echo "visitors_long_day: ${OUT} exists (choose a new folder)" >&2; exit 2; }
BIN="${ROOT}/build/agegender"
[[ -x "${BIN}" ]] || { echo "visitors_long_day: ${BIN} missing (build first)" >&2; exit 1; }
mkdir -p "${OUT}/videos"
/usr/bin/python3 - "${DAY}" "${OUT}/videos" "${COPIES}" <<'PY'
import datetime, os, sys
day, dst, copies = sys.argv[1], sys.argv[2], int(sys.argv[3])
videos = sorted(f for f in os.listdir(day) if f.endswith((".mp4", ".avi")))
cams = sorted({f.split("_")[0] for f in videos})
if not videos:
    sys.exit(f"visitors_long_day: no .mp4/.avi in {day}")
start = datetime.datetime(2026, 11, 28, 8, 0, 0)
for cam in cams:
    own = [f for f in videos if f.startswith(cam + "_")]
    for k in range(copies * len(own)):  # each camera's files in turn, 5 minutes apart
        src = own[k % len(own)]
        t = start + datetime.timedelta(minutes=5 * k)
        os.link(os.path.join(day, src), os.path.join(dst, f"{cam}_{t:%Y%m%d-%H%M%S}{os.path.splitext(src)[1]}"))
PY
/usr/bin/time -v -o "${OUT}/time.txt" "${BIN}" visitors --model "${MODEL}" --input "${OUT}/videos" --out "${OUT}/out" --quiet "$@" &
TIMER=$!
sleep 2
TOOL=$(pgrep -P "${TIMER}" || true)
while [[ -n "${TOOL}" ]] && kill -0 "${TOOL}" 2>/dev/null; do
  rss=$(awk '/VmRSS/{print $2}' "/proc/${TOOL}/status" 2>/dev/null || true)
  hwm=$(awk '/VmHWM/{print $2}' "/proc/${TOOL}/status" 2>/dev/null || true)
  video=$(ls -l "/proc/${TOOL}/fd" 2>/dev/null | grep -o '[^/ ]*_[0-9]\{8\}-[0-9]\{6\}\.\(mp4\|avi\)' | head -1 || true)
  [[ -n "${rss}" && -n "${video}" ]] && echo "$(date +%s) ${rss} ${hwm} ${video}" >> "${OUT}/rss.log"
  sleep 30
done
wait "${TIMER}"
report "${OUT}"
