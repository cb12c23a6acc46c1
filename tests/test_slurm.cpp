// `agegender sweep --slurm` without a cluster: the scripts it writes, its option checks, and the array
// script run by hand (as the docs suggest for one point). tests/test_integration_slurm.cpp runs it on a
// real single-node Slurm.
#include <gtest/gtest.h>

#include "agegender/error.hpp"
#include "agegender/slurm.hpp"
#include "prepared_fixture.hpp"

using namespace agegender;
using namespace agegender::test;
using nlohmann::json;

namespace {

// A tiny dataset, a base config and a 2-point grid in `tmp`; returns the sweep command's common part.
std::string write_sweep_inputs(const TempDir& tmp) {
  write_prepared_dataset(tmp.path() / "data", 120, 20);
  write_file(tmp.path() / "base.json", json{{"data", {{"prepared", tmp.str("data")}, {"size", 20}}},
                                            {"train", {{"epochs", 1}, {"batch_size", 32}}},
                                            {"output", {{"dir", tmp.str("runs")}}}}.dump());
  write_file(tmp.path() / "grid.json", R"({"train.lr": [0.003, 0.0003]})");
  return "sweep -c " + tmp.str("base.json") + " --grid " + tmp.str("grid.json") + " --name s --slurm -q";
}

}  // namespace

TEST(SlurmOptions, MalformedValuesNameTheFlag) {
  SlurmOptions s;
  s.time = "2 hours";
  try {
    validate_slurm_options(s);
    FAIL() << "accepted --time '2 hours'";
  } catch (const UsageError& e) {
    EXPECT_NE(std::string(e.what()).find("--time '2 hours'"), std::string::npos) << e.what();
  }
  for (const char* ok : {"90", "30:00", "4:00:00", "1-12", "1-12:30", "2-00:00:00", "UNLIMITED"}) {
    s.time = ok;
    EXPECT_NO_THROW(validate_slurm_options(s)) << ok;
  }
  s.time.clear();
  s.partition = "gpu; rm -rf /";
  EXPECT_THROW(validate_slurm_options(s), UsageError);
  s.partition = "gpu,cpu";
  EXPECT_NO_THROW(validate_slurm_options(s));
  for (const char* bad : {"mem=16G", "--array=0-3", "--output=x", "--mem=1G\n#SBATCH --x"}) {
    s.sbatch_args = {bad};
    EXPECT_THROW(validate_slurm_options(s), UsageError) << bad;
  }
  s.sbatch_args = {"--mem=16G", "--account=lab"};
  EXPECT_NO_THROW(validate_slurm_options(s));
}

TEST(SlurmCli, DryRunPrintsBothScriptsAndWritesNothing) {
  TempDir tmp;
  const std::string cmd = write_sweep_inputs(tmp);
  auto r = run_cli(cmd + " --dry-run -j 1 --partition gpu --gpus-per-task 1 --cpus-per-task 4 --time 2:00:00"
                         " --sbatch-arg=--mem=8G --set train.device=cuda");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  for (const char* line : {"#SBATCH --array=0-1%1\n", "#SBATCH --partition=gpu\n", "#SBATCH --gpus-per-task=1\n",
                           "#SBATCH --cpus-per-task=4\n", "#SBATCH --time=2:00:00\n", "#SBATCH --mem=8G\n",
                           "  lr=0.003\n  lr=0.0003\n", "--dependency=afterany:<array job>", " table ",
                           "train --config \"$sweep_dir/slurm/points/$point.json\"", "train --resume \"$run\"",
                           "eval --run \"$run\" --split test"}) {
    EXPECT_NE(r.output.find(line), std::string::npos) << line << "\n" << r.output;
  }
  EXPECT_NE(r.output.find("#SBATCH --output=" + tmp.str("runs") + "/s/logs/slurm-%A_%a.out"), std::string::npos) << r.output;
  EXPECT_FALSE(fs::exists(tmp.path() / "runs"));

  // The array script is valid bash.
  const size_t begin = r.output.find("#!/bin/bash");
  const std::string script = r.output.substr(begin, r.output.find("\n# /", begin) - begin);
  write_file(tmp.path() / "check.sh", script);
  EXPECT_EQ(run_shell("bash -n " + tmp.str("check.sh")).exit_code, 0) << script;

  // GPUs requested for CPU-only points: a warning, not a silent waste.
  r = run_cli(cmd + " --dry-run --gpus-per-task 1");
  EXPECT_NE(r.output.find("train.device \"cpu\""), std::string::npos) << r.output;
}

TEST(SlurmCli, BadInvocationsAreUsageErrors) {
  TempDir tmp;
  const std::string cmd = write_sweep_inputs(tmp);
  const std::string local = "sweep -c " + tmp.str("base.json") + " --grid " + tmp.str("grid.json");
  auto r = run_cli(local + " --partition gpu");  // Slurm flags need --slurm
  EXPECT_EQ(r.exit_code, 2) << r.output;
  r = run_cli(cmd + " --time soon");
  EXPECT_EQ(r.exit_code, 2) << r.output;
  EXPECT_NE(r.output.find("--time 'soon'"), std::string::npos) << r.output;
  r = run_cli(cmd + " --sbatch-arg=--array=0-9");
  EXPECT_EQ(r.exit_code, 2) << r.output;
  // No Slurm client: a runtime error saying what is missing, nothing submitted.
  r = run_shell("PATH=" + tmp.str() + " " + AGEGENDER_BIN + " " + cmd);
  EXPECT_EQ(r.exit_code, 1) << r.output;
  EXPECT_NE(r.output.find("'sbatch' not found"), std::string::npos) << r.output;
}

TEST(SlurmCli, WrittenArrayScriptRunsEachPointByHand) {
  TempDir tmp;
  const std::string cmd = write_sweep_inputs(tmp);
  // A stand-in sbatch that accepts the submission; the tasks are then run by hand.
  fs::create_directories(tmp.path() / "bin");
  write_file(tmp.path() / "bin" / "sbatch", "#!/bin/sh\necho 4242\n");
  fs::permissions(tmp.path() / "bin" / "sbatch", fs::perms::owner_all);
  const std::string path = "PATH=" + tmp.str("bin") + ":/usr/bin:/bin ";
  auto r = run_shell(path + AGEGENDER_BIN + " " + cmd);
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_NE(r.output.find("4242 4242\n"), std::string::npos) << r.output;
  const fs::path sweep = tmp.path() / "runs" / "s";
  const json jobs = json::parse(read_file(sweep / "slurm" / "jobs.json"));
  EXPECT_EQ(jobs["array_job"], "4242");
  const json point = json::parse(read_file(sweep / "slurm" / "points" / "lr=0.003.json"));
  EXPECT_EQ(point["train"]["lr"], 0.003);
  EXPECT_EQ(point["name"], "lr=0.003");

  const std::string array = (sweep / "slurm" / "sweep.sbatch").string();
  for (int task : {0, 1}) {
    r = run_shell("SLURM_ARRAY_TASK_ID=" + std::to_string(task) + " SLURM_CPUS_PER_TASK=1 bash " + array);
    ASSERT_EQ(r.exit_code, 0) << r.output << read_file(sweep / "logs" / "lr=0.003.log");
  }
  EXPECT_NE(r.output.find("point lr=0.0003 (array task 1"), std::string::npos) << r.output;
  EXPECT_EQ(run_shell("bash " + (sweep / "slurm" / "table.sbatch").string()).exit_code, 0);
  EXPECT_NE(read_file(sweep / "table.md").find("(best)"), std::string::npos);
  for (const char* p : {"lr=0.003", "lr=0.0003"}) EXPECT_EQ(point_status((sweep / p).string()), PointStatus::Done) << p;

  // A task rerun on a finished point does nothing; an unset task id is refused with a hint.
  r = run_shell("SLURM_ARRAY_TASK_ID=0 bash " + array);
  EXPECT_EQ(r.exit_code, 0);
  EXPECT_NE(read_file(sweep / "logs" / "lr=0.003.log").find("lr=0.003: already done"), std::string::npos);
  r = run_shell("bash " + array);
  EXPECT_NE(r.exit_code, 0);
  EXPECT_NE(r.output.find("SLURM_ARRAY_TASK_ID"), std::string::npos) << r.output;

  // Everything done: resubmitting submits nothing and prints the table.
  r = run_shell(path + AGEGENDER_BIN + " " + cmd);
  EXPECT_EQ(r.exit_code, 0) << r.output;
  EXPECT_NE(r.output.find("nothing to submit"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("(best)"), std::string::npos) << r.output;
}
