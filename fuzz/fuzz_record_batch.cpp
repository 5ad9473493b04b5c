// Record batches as a node receives them (messages/record_codec.hpp): the
// bytes come from a peer. Properties:
// - decode_records never reads past the input, whatever it holds (ASan);
// - a batch it accepts encodes to bytes that decode to the same batch, bit
//   for bit (floats and doubles compared as bits: NaN payloads included).
//   The bytes themselves may differ: metadata keys sent out of order or
//   twice come back sorted and once, as in any std::map.
#include <cstdint>
#include <cstring>
#include <string>
#include <vector>

#include "fuzz/fuzz_support.hpp"
#include "messages/record_codec.hpp"

namespace {

bool same_value(const storage::metadata_value& a,
                const storage::metadata_value& b) {
  if (a.index() != b.index()) return false;
  if (auto* x = std::get_if<double>(&a))
    return std::memcmp(x, &std::get<double>(b), sizeof(double)) == 0;
  return a == b;
}

bool same(const storage::vector_record& a, const storage::vector_record& b) {
  if (a.id != b.id || a.document != b.document ||
      a.embedding.size() != b.embedding.size() ||
      a.metadata.size() != b.metadata.size())
    return false;
  if (!a.embedding.empty() &&
      std::memcmp(a.embedding.data(), b.embedding.data(),
                  a.embedding.size() * sizeof(float)) != 0)
    return false;
  for (auto i = a.metadata.begin(), j = b.metadata.begin();
       i != a.metadata.end(); ++i, ++j)
    if (i->first != j->first || !same_value(i->second, j->second)) return false;
  return true;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data,
                                      std::size_t size) {
  const std::string bytes(reinterpret_cast<const char*>(data), size);
  std::vector<storage::vector_record> batch;
  if (!storage::detail::decode_records(bytes, batch)) return 0;
  auto again = storage::detail::encode_records(batch);
  std::vector<storage::vector_record> back;
  fuzz::check(storage::detail::decode_records(again, back),
              "an accepted batch's encoding is refused: " + fuzz::shown(bytes));
  fuzz::check(back.size() == batch.size(),
              "record count changed for " + fuzz::shown(bytes));
  for (std::size_t i = 0; i < batch.size(); ++i)
    fuzz::check(
        same(batch[i], back[i]),
        "record " + std::to_string(i) + " changed for " + fuzz::shown(bytes));
  return 0;
}
