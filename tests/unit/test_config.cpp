// Config parsing: defaults, precedence, typed values, and errors naming keys.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "fedhpc/config/options.hpp"
#include "fedhpc/core/error.hpp"

using namespace fedhpc;

namespace {
ParsedArgs parse(std::vector<std::string> args) {
  args.insert(args.begin(), "fedhpc");
  std::vector<const char*> argv;
  for (auto& a : args) argv.push_back(a.c_str());
  return parse_args(static_cast<int>(argv.size()), argv.data());
}

std::string write_ini(const std::string& text) {
  const auto path = std::filesystem::temp_directory_path() /
                    ("fedhpc_cfg_" + std::to_string(::testing::UnitTest::GetInstance()->random_seed()) +
                     std::to_string(std::hash<std::string>{}(text)) + ".ini");
  std::ofstream(path) << text;
  return path.string();
}

/// Expects a ConfigError whose key is `key` and whose message contains `part`.
void expect_error(const std::vector<std::string>& args, const std::string& key, const std::string& part) {
  try {
    parse(args);
    FAIL() << "expected ConfigError for " << key;
  } catch (const ConfigError& e) {
    EXPECT_EQ(e.key(), key) << e.what();
    EXPECT_NE(std::string(e.what()).find(part), std::string::npos) << e.what();
  }
}
}  // namespace

TEST(Config, DefaultsAreTheDocumentedExperiment) {
  const auto p = parse({});
  EXPECT_EQ(p.config.model.arch, Arch::kLeNet5);
  EXPECT_EQ(p.config.data.num_clients, 1000);
  EXPECT_EQ(p.config.data.partition, PartitionKind::kDirichlet);
  EXPECT_DOUBLE_EQ(p.config.data.alpha, 0.5);
  EXPECT_EQ(p.config.clients_per_round(), 50);
  EXPECT_NE(p.effective_ini.find("[server]\nrounds = 100"), std::string::npos) << p.effective_ini;
}

TEST(Config, CommandLineOverridesFileOverridesDefault) {
  const auto ini = write_ini("[server]\nrounds = 7\nclients_per_round = 3\n[model]\narch = mlp\nhidden = 32, 16\n");
  const auto p = parse({"--config", ini, "--server.rounds", "9"});
  EXPECT_EQ(p.config.server.rounds, 9);
  EXPECT_EQ(p.config.server.clients_per_round, 3);
  EXPECT_EQ(p.config.model.arch, Arch::kMlp);
  EXPECT_EQ(p.config.model.hidden, (std::vector<int>{32, 16}));
  EXPECT_NE(p.effective_ini.find("rounds = 9"), std::string::npos);
  // The effective INI parses back to the same configuration.
  const auto again = parse({"--config", write_ini(p.effective_ini)});
  EXPECT_EQ(again.effective_ini, p.effective_ini);
}

TEST(Config, UnknownKeysAreRejected) {
  expect_error({"--server.roundz", "3"}, "server.roundz", "unknown option");
  expect_error({"--config", write_ini("[server]\nroundz = 3\n")}, "server.roundz", "unknown key");
}

TEST(Config, ValuesAreCheckedWithRanges) {
  expect_error({"--server.rounds", "0"}, "server.rounds", "out of range");
  expect_error({"--server.rounds", "ten"}, "server.rounds", "expected an integer");
  expect_error({"--client.lr", "-1"}, "client.lr", "out of range");
  expect_error({"--client.lr", "nan"}, "client.lr", "expected a number");
  expect_error({"--data.alpha", "0"}, "data.alpha", "(0, ");
  expect_error({"--model.arch", "resnet"}, "model.arch", "{lenet5, mlp}");
  expect_error({"--run.overwrite", "maybe"}, "run.overwrite", "true or false");
  expect_error({"--model.hidden", "10,x"}, "model.hidden", "integer");
  expect_error({"--config", "/nonexistent/x.ini"}, "--config", "cannot open");
}

TEST(Config, CrossKeyChecks) {
  expect_error({"--data.num_clients", "10", "--server.clients_per_round", "11"},
               "server.clients_per_round", "exceeds data.num_clients");
  expect_error({"--client.budget", "uniform", "--client.budget_min_mb", "9", "--client.budget_max_mb", "3"},
               "client.budget_min_mb", "budget_max_mb");
}

TEST(Config, HelpListsEveryKeyWithDefault) {
  const std::string h = help_text();
  for (const char* key : {"--run.seed [1]", "--data.num_clients [1000]", "--server.optimizer [fedavg]",
                          "--client.prox_mu [0]", "--model.hidden [200,200]"})
    EXPECT_NE(h.find(key), std::string::npos) << key;
}
