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

// The option table's default strings and the typed defaults (the compress
// specs and sections) must be the same values: parsing nothing gives the
// default-constructed structs.
TEST(Config, TableDefaultsEqualTheTypedDefaults) {
  const RunConfig got = parse({}).config;
  const RunConfig want;
  const auto& gs = got.storage;
  const auto& ws = want.storage;
  EXPECT_EQ(gs.codec, ws.codec);
  EXPECT_EQ(gs.bits, ws.bits);
  EXPECT_EQ(gs.exponent_bits, ws.exponent_bits);
  EXPECT_EQ(gs.mantissa_bits, ws.mantissa_bits);
  EXPECT_EQ(gs.pvt, ws.pvt);
  EXPECT_EQ(gs.weights_only, ws.weights_only);
  EXPECT_EQ(gs.fp32_fraction, ws.fp32_fraction);
  EXPECT_EQ(gs.rounding, ws.rounding);
  EXPECT_EQ(gs.transport_rounding, ws.transport_rounding);
  EXPECT_EQ(gs.uplink, ws.uplink);
  EXPECT_EQ(gs.decode_tile, ws.decode_tile);
  const auto& gu = got.uplink.codec;
  const auto& wu = want.uplink.codec;
  EXPECT_EQ(gu.kind, wu.kind);
  EXPECT_EQ(gu.ratio, wu.ratio);
  EXPECT_EQ(gu.quantize_bits, wu.quantize_bits);
  EXPECT_EQ(gu.sample_size, wu.sample_size);
  EXPECT_EQ(gu.levels, wu.levels);
  EXPECT_EQ(gu.bucket_size, wu.bucket_size);
  EXPECT_EQ(gu.bits, wu.bits);
  EXPECT_EQ(got.uplink.error_feedback, want.uplink.error_feedback);
  EXPECT_EQ(got.uplink.residual.form, want.uplink.residual.form);
  EXPECT_EQ(got.uplink.residual.sparse_ratio, want.uplink.residual.sparse_ratio);
  EXPECT_EQ(got.uplink.residual.int8_block, want.uplink.residual.int8_block);
  EXPECT_EQ(got.aggregate.path, want.aggregate.path);
  EXPECT_EQ(got.aggregate.dense_threshold, want.aggregate.dense_threshold);
  const auto& gp = got.prune;
  const auto& wp = want.prune;
  EXPECT_EQ(gp.method, wp.method);
  EXPECT_EQ(gp.sparsity, wp.sparsity);
  EXPECT_EQ(gp.initial_sparsity, wp.initial_sparsity);
  EXPECT_EQ(gp.interval, wp.interval);
  EXPECT_EQ(gp.mode, wp.mode);
  EXPECT_EQ(gp.lambda_init, wp.lambda_init);
  EXPECT_EQ(gp.lambda_max, wp.lambda_max);
  EXPECT_EQ(gp.segments, wp.segments);
  EXPECT_EQ(gp.lr_decay, wp.lr_decay);
  EXPECT_EQ(gp.scope, wp.scope);
  EXPECT_EQ(gp.schedule_end, wp.schedule_end);
  EXPECT_EQ(got.client.lr, want.client.lr);
  EXPECT_EQ(got.client.batch_size, want.client.batch_size);
  EXPECT_EQ(got.client.budget_mb, want.client.budget_mb);
  EXPECT_EQ(got.server.rounds, want.server.rounds);
  EXPECT_EQ(got.server.client_fraction, want.server.client_fraction);
  EXPECT_EQ(got.server.tau, want.server.tau);
  EXPECT_EQ(got.run.seed, want.run.seed);
  EXPECT_EQ(got.run.eval_every, want.run.eval_every);
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
