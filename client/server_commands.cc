#include "CLI/CLI.hpp"
#include "client/cli.h"

namespace fixmine::client {

void RegisterServerCommands(CLI::App* app, CliContext* ctx) {}

}  // namespace fixmine::client
