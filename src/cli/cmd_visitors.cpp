#include <CLI/CLI.hpp>
#include <cstdio>

#include "agegender/visitors.hpp"
#include "cli/commands.hpp"

namespace agegender::cli {

void add_visitors(CLI::App& app) {
  auto o = std::make_shared<VisitorsOptions>();
  CLI::App* cmd = app.add_subcommand(
      "visitors",
      "Daily unique visitors and their age groups and genders from store camera videos: faces are detected,\n"
      "tracked per camera, each track's age/gender fused over its frames, and the day's tracks (all videos,\n"
      "all cameras) clustered into visitors by face descriptor. Writes visitors.csv, tracks.csv, summary.json\n"
      "and report.html into --out.\n"
      "Privacy: no face image, crop or descriptor is written to disk unless asked (--keep-descriptors writes\n"
      "descriptors.csv, --annotate an annotated video; --blur blurs the faces in it). Descriptors live in\n"
      "memory for the run only.");
  cmd->add_option("--model", o->model, "Trained age/gender run directory or .safetensors checkpoint")->required();
  cmd->add_option("--input", o->input,
                  "A video, a folder of videos (one camera each, sorted by name), or folders of frames "
                  "(each folder one camera, frames in name order); or a .agev file from --record-evidence, replayed "
                  "through tracking and clustering without detecting again")
      ->required();
  cmd->add_option("--out", o->out, "Output folder (created)")->required();
  cmd->add_option("--start", o->start,
                  "Local time of the first frame, e.g. 2026-11-28T09:00:00 (a YYYYMMDD-HHMMSS stamp in a video's name "
                  "overrides it for that video); without it times are offsets");
  cmd->add_option("--fps", o->fps, "Frame rate (0 = the video's own; folders of frames: 10)")->capture_default_str();
  cmd->add_option("--line", o->line, "x1,y1,x2,y2: count only tracks crossing this line from its left to its right "
                                     "(image pixels; y down: a line drawn left to right counts faces moving down)");
  cmd->add_option("--roi", o->roi, "x,y,w,h: count only tracks whose face centre enters this rectangle");
  cmd->add_option("--same-person", o->same_person,
                  "Descriptor distance (average linkage) below which two tracks are one visitor")
      ->capture_default_str();
  cmd->add_option("--min-track-frames", o->min_track_frames, "Detections before a track counts (K)")->capture_default_str();
  cmd->add_option("--max-missed", o->max_missed, "Processed frames a track may go unseen before it ends")
      ->capture_default_str();
  cmd->add_option("--stitch-gap", o->stitch_gap, "Seconds across which one camera's tracks broken by an occlusion are "
                                                 "joined when their motion and faces agree (0 = off)")
      ->capture_default_str();
  cmd->add_option("--track-score", o->track_score, "Detections scoring at least this start tracks (weaker ones, down "
                                                   "to --min-score, only extend existing tracks)")
      ->capture_default_str();
  cmd->add_option("--look-distance", o->look_distance,
                  "Descriptor distance within which a face may continue a track (the tracker's appearance gate)")
      ->capture_default_str();
  cmd->add_option("--best-frames", o->best_frames, "Frames per track whose descriptors are averaged")->capture_default_str();
  cmd->add_option("--visit-gap", o->visit_gap, "Seconds after which a visitor seen again counts a new visit")
      ->capture_default_str();
  cmd->add_option("--tiny-input", o->tiny_input, "--detect tiny with --detect-size 0: the square input's side (multiple "
                                                 "of 32; larger finds smaller faces, slower). Given alone, it sets "
                                                 "--detect-size 0")
      ->capture_default_str();
  cmd->add_option("--annotate", o->annotate, "Write an annotated copy of the (single) input video: boxes and track ids "
                                             "(.mp4 or .avi). Shows faces: see --blur");
  cmd->add_flag("--blur", o->blur, "Blur every face in the --annotate video");
  cmd->add_flag("--keep-descriptors", o->keep_descriptors,
                "Also write descriptors.csv (one 128-d face descriptor per track: biometric data)");
  cmd->add_option("--record-evidence", o->record_evidence,
                  "Also write FILE.agev: every processed frame's faces (boxes, scores, age/gender, descriptors: "
                  "biometric data) for replaying the day with other tracking settings (--input FILE.agev)");
  add_detection_options(cmd, *o, /*per_face_rows=*/false);
  add_media_options(cmd, o->every, o->batch, o->max_pixels, o->threads, o->device);
  cmd->add_flag("--quiet,-q", o->quiet, "No progress lines");
  cmd->callback([o, cmd] {
    // --tiny-input sizes Tiny's square input, which only runs with --detect-size 0: asking for one
    // without the other means the square input.
    if (cmd->count("--tiny-input") > 0 && cmd->count("--detect-size") == 0) o->detect_size = 0;
    const VisitorsReport r = run_visitors(*o);
    std::fprintf(stderr,
                 "visitors: %zu unique visitors from %zu tracks; %zu frames (%.0f s of video) in %.1f s (%.2fx real time) "
                 "-> %s\n",
                 r.visitors, r.tracks, r.frames, r.video_seconds, r.seconds, r.video_seconds / std::max(r.seconds, 1e-9),
                 o->out.c_str());
  });
}

}  // namespace agegender::cli
