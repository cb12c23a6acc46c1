#pragma once
// Each subcommand lives in its own cmd_*.cpp: it declares its flags on `app` and sets a callback that
// calls the library. Callbacks throw agegender::UsageError / RuntimeError; main maps them to exit codes.
#include <cstdint>
#include <string>

namespace CLI {
class App;
}

namespace agegender {
struct DetectionFlags;
}

namespace agegender::cli {

void add_prepare(CLI::App& app);
void add_train(CLI::App& app, const std::string& command_line);
void add_eval(CLI::App& app);
void add_config(CLI::App& app);
void add_models(CLI::App& app);
void add_predict(CLI::App& app);
void add_sweep(CLI::App& app);  // also `table`
void add_embed(CLI::App& app);
void add_visitors(CLI::App& app);
void add_export(CLI::App& app);

/// --every, --batch, --max-pixels, --threads, --device: how predict and embed read media and run networks.
void add_media_options(CLI::App* cmd, int& every, int& batch, int64_t& max_pixels, int& threads, std::string& device);

/// --detect, --cascade, --models, --min-score, --min-face, --small-faces, --align, --landmark-model: how
/// predict, embed and visitors find faces. `per_face_rows` (predict, embed): also --landmarks, and
/// --detect none for inputs that already are face crops; visitors tracks faces in frames, so it has neither.
void add_detection_options(CLI::App* cmd, DetectionFlags& flags, bool per_face_rows = true);

}  // namespace agegender::cli
