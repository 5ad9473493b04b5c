// The suite's entry point: Google Benchmark's, plus stopping the runtime
// before static destruction (see runtime_holder::shutdown).
#include "bench/bench_util.hpp"

int main(int argc, char** argv) {
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  benchmark::RunSpecifiedBenchmarks();
  storage::bench::runtime_holder::shutdown();
  benchmark::Shutdown();
  return 0;
}
