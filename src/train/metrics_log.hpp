#pragma once
// metrics.csv of a run (one row per epoch) and the training-curve chart drawn from it.
#include <nlohmann/json_fwd.hpp>
#include <string>
#include <vector>

namespace agegender {

struct EpochMetrics {
  int epoch = 0;
  double train_loss = 0, train_acc = 0, val_loss = 0, val_acc = 0, val_gender_acc = 0, lr = 0, seconds = 0,
         images_per_s = 0;
  nlohmann::json to_json() const;
  static EpochMetrics from_json(const nlohmann::json& j);
};

class MetricsLog {
 public:
  static constexpr const char* kHeader =
      "epoch,train_loss,train_acc,val_loss,val_acc,val_gender_acc,lr,seconds,images_per_s";
  /// Opens `path`, keeping only rows with epoch <= keep_epochs (a resumed run drops the epochs it redoes)
  /// and writing the header once.
  MetricsLog(std::string path, int keep_epochs);
  void append(const EpochMetrics& m);
  const std::vector<EpochMetrics>& rows() const { return rows_; }
  void write_curves(const std::string& png_path) const;

 private:
  std::string path_;
  std::vector<EpochMetrics> rows_;
};

}  // namespace agegender
