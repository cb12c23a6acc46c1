// `agegender sweep --slurm` on a real single-node Slurm (munged + slurmctld + slurmd on localhost,
// started by tests/slurm/local_cluster.sh under a temp dir): a 2-point sweep runs to completion.
// Skipped, with the reason, only when that cluster cannot start (packages missing, not root).
#include <gtest/gtest.h>
#include <stdlib.h>

#include "agegender/sweep.hpp"
#include "prepared_fixture.hpp"

using namespace agegender;
using namespace agegender::test;
using nlohmann::json;

namespace {

const std::string kCluster = std::string(AGEGENDER_SOURCE_DIR) + "/tests/slurm/local_cluster.sh";

class LocalSlurm : public ::testing::Test {
 protected:
  void SetUp() override {
    state_ = tmp_.str("slurm");
    const RunResult r = run_shell(kCluster + " start " + state_);
    if (r.exit_code == 77) GTEST_SKIP() << "Slurm test skipped: " << r.output;
    ASSERT_EQ(r.exit_code, 0) << r.output;
    started_ = true;
    conf_ = state_ + "/slurm.conf";
  }
  void TearDown() override {
    if (started_) run_shell(kCluster + " stop " + state_);
  }
  // Runs agegender against this cluster only, with a hard limit so a stuck queue fails instead of hanging.
  RunResult agegender(const std::string& args) const {
    return run_shell("SLURM_CONF=" + conf_ + " timeout 600 " + AGEGENDER_BIN + " " + args);
  }
  std::string logs() const {
    return read_file(state_ + "/slurmctld.log").substr(0, 4000) + read_file(state_ + "/slurmd.log").substr(0, 4000);
  }

  TempDir tmp_;
  std::string state_, conf_;
  bool started_ = false;
};

}  // namespace

TEST_F(LocalSlurm, TwoPointSweepRunsToCompletionAsAJobArray) {
  write_prepared_dataset(tmp_.path() / "data", 160, 24);
  write_file(tmp_.path() / "base.json", json{{"data", {{"prepared", tmp_.str("data")}, {"size", 24}}},
                                             {"train", {{"epochs", 2}, {"batch_size", 32}}},
                                             {"output", {{"dir", tmp_.str("runs")}}}}.dump());
  write_file(tmp_.path() / "grid.json", R"({"train.lr": [0.003, 0.0003]})");
  const std::string cmd = "sweep -c " + tmp_.str("base.json") + " --grid " + tmp_.str("grid.json") +
                          " --name s --slurm --cpus-per-task 1 --time 10 --partition test";

  RunResult r = agegender(cmd + " --wait");
  ASSERT_EQ(r.exit_code, 0) << r.output << logs();
  const fs::path sweep = tmp_.path() / "runs" / "s";
  for (const char* p : {"lr=0.003", "lr=0.0003"}) {
    EXPECT_EQ(point_status((sweep / p).string()), PointStatus::Done) << p << "\n" << read_file(sweep / "logs" / (std::string(p) + ".log"));
    EXPECT_EQ(json::parse(read_file(sweep / p / "summary.json"))["epochs_run"], 2) << p;
  }
  // Each point ran as its own array task with the CPU it was given.
  const json jobs = json::parse(read_file(sweep / "slurm" / "jobs.json"));
  const std::string array_job = jobs["array_job"];
  for (const char* task : {"_0.out", "_1.out"}) {
    const std::string out = read_file(sweep / "logs" / ("slurm-" + array_job + task));
    EXPECT_NE(out.find("1 threads"), std::string::npos) << task << ": " << out;
  }
  // The dependent table job wrote both rows, and --wait printed them.
  const std::string md = read_file(sweep / "table.md");
  EXPECT_NE(md.find("lr=0.003"), std::string::npos) << md;
  EXPECT_NE(md.find("lr=0.0003"), std::string::npos) << md;
  EXPECT_NE(md.find("|2 of 2|"), std::string::npos) << md;
  EXPECT_NE(r.output.find("(best)"), std::string::npos) << r.output;

  // Resubmitting a finished sweep submits nothing.
  r = agegender(cmd);
  EXPECT_EQ(r.exit_code, 0) << r.output;
  EXPECT_NE(r.output.find("nothing to submit"), std::string::npos) << r.output;

  // An interrupted point (checkpoint, no summary) goes back alone and resumes.
  fs::remove(sweep / "lr=0.0003" / "summary.json");
  fs::remove(sweep / "lr=0.0003" / "eval.json");
  r = agegender(cmd + " --wait");
  ASSERT_EQ(r.exit_code, 0) << r.output << logs();
  EXPECT_NE(r.output.find("1 submitted"), std::string::npos) << r.output;
  EXPECT_EQ(point_status((sweep / "lr=0.0003").string()), PointStatus::Done);
}
