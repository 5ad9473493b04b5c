// A batch of vector records as one string of bytes, for crossing nodes.
//
// CAF 0.17 serializes a std::vector<vector_record> field by field: per
// record a dozen calls through the (de)serializer's virtual interface, each
// returning a caf::error, and a few vectors of temporaries for the metadata.
// For an upsert of 100 x 128-d records that was ~100 us of the serving
// node's middleman thread, on the critical path of every remote upsert,
// get and scan page (BENCHMARKS.md, "Record batches as one string").
// Packed here in one pass, the batch crosses as one string.
//
// The layout, all integers little-endian: u32 count, then per record
// str id, u32 dimension, the floats' IEEE-754 bits, u32 fields, per field
// str key, u8 tag (0 null, 1 bool, 2 int64, 3 double, 4 string) and its
// payload (u8, 8 bytes, 8 bytes of bits, str), u8 has-document and the
// document's str; a str is u32 length and bytes. The layout has no
// version of its own: a change raises node_protocol_version
// (node_protocol.hpp), and a node and a client of different versions
// refuse each other before any record crosses.
#pragma once

#include <string>
#include <vector>

#include "messages/records.hpp"

namespace storage::detail {

std::string encode_records(const std::vector<vector_record>& rs);

// Replaces `out` with the records in `bytes`. False when the bytes are not
// a batch this build encoded (cut short, a length past the end, an unknown
// tag, bytes left over): `out` is then unspecified. Never reads past the
// end, whatever the bytes (a peer is not trusted with memory).
bool decode_records(const std::string& bytes, std::vector<vector_record>& out);

}  // namespace storage::detail
