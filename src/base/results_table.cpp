#include <cmath>
#include <cstdio>
#include <nlohmann/json.hpp>

#include "agegender/report.hpp"

namespace agegender {
namespace {

constexpr const char* kMissing = "-";  // a value the run does not have (no test split), never a fake 0

std::string pct(double v) {
  if (!std::isfinite(v)) return kMissing;
  char b[32];
  std::snprintf(b, sizeof b, "%.2f%%", 100.0 * v);
  return b;
}

std::string num(double v, const char* f = "%.4f") {
  if (!std::isfinite(v)) return kMissing;
  char b[32];
  std::snprintf(b, sizeof b, f, v);
  return b;
}

std::string capitalised(std::string s) {
  if (!s.empty()) s[0] = static_cast<char>(std::toupper(static_cast<unsigned char>(s[0])));
  return s;
}

// summary.json writes an absent metric as null.
double metric(const nlohmann::json& s, const char* key) {
  const auto it = s.find(key);
  return it == s.end() || it->is_null() ? NAN : it->get<double>();
}

}  // namespace

TableRow table_row_from_summary(const nlohmann::json& s) {
  const auto& cfg = s.at("config");
  TableRow r;
  const std::string arch = cfg.at("model").at("arch"), head = cfg.at("model").at("head");
  const std::string name = arch == "vgg16" ? "VGG16" : arch == "face_resnet" ? "Face ResNet" : arch == "base_cnn" ? "Base CNN" : arch;
  // The seed's labels: "Base CNN", "VGG16" (its flatten head), "VGG16 + GAP".
  if (head == "gap") {
    r.model = arch == "base_cnn" ? name : name + " + GAP";
  } else {
    r.model = arch == "vgg16" ? name : name + " (flatten)";
  }
  if (cfg.at("model").value("age_head", "bins") == "years") r.model += " (year head)";
  const auto& bins = cfg.at("labels").at("age_bins");
  r.dataset = bins.is_string() ? capitalised(bins.get<std::string>()) : "Custom";
  r.images = cfg.at("data").at("color").get<bool>() ? "Color" : "Gray";
  r.epochs = std::to_string(s.at("epochs_run").get<int>()) + " of " + std::to_string(s.at("epochs_max").get<int>());
  r.train_loss = metric(s, "train_loss");
  r.train_acc = metric(s, "train_acc");
  r.test_loss = metric(s, "test_loss");
  r.test_acc = metric(s, "test_acc");
  r.gender_acc = metric(s, "test_gender_acc");
  r.age_mae = metric(s, "test_age_mae");
  r.seconds = metric(s, "seconds");
  return r;
}

std::string markdown_header() {
  return "|Model|Dataset|Images|Epochs|Train_Loss|Test_Loss|Train_Acc|Test_Acc|Gender_Acc|Age_MAE|Seconds|\n"
         "|---|---|---|---|---|---|---|---|---|---|---|";
}

std::string markdown_row(const TableRow& r) {
  return "|" + r.model + "|" + r.dataset + "|" + r.images + "|" + r.epochs + "|" + num(r.train_loss) + "|" +
         num(r.test_loss) + "|" + pct(r.train_acc) + "|" + pct(r.test_acc) + "|" + pct(r.gender_acc) + "|" +
         num(r.age_mae, "%.2f") + "|" + num(r.seconds, "%.0f") + "|";
}

std::vector<std::string> csv_header() {
  return {"model", "dataset", "images", "epochs", "train_loss", "test_loss", "train_acc", "test_acc", "gender_acc",
          "age_mae", "seconds"};
}

std::vector<std::string> csv_row(const TableRow& r) {
  return {r.model, r.dataset, r.images, r.epochs, num(r.train_loss, "%.6f"), num(r.test_loss, "%.6f"),
          num(r.train_acc, "%.6f"), num(r.test_acc, "%.6f"), num(r.gender_acc, "%.6f"), num(r.age_mae, "%.4f"),
          num(r.seconds, "%.1f")};
}

}  // namespace agegender
