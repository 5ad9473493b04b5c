// The vector store for plain C++ code: every call returns a future, and a
// failed call's future throws store_error. Cheap to copy; all copies share
// one store handle and route table, so the backend can be swapped or
// migrated under them.
// On faiss:// a call that finds its shard idle runs on the calling thread and
// returns a future that is already complete (no thread hand-off), so calls a
// thread issues before waiting run one after another -- use several threads
// to overlap them. A search or upsert that spans several shards (pool >= 2)
// is the exception: its parts run on the shards' workers, side by side. A
// call that took 100 ms or more, timed out or failed that way sends that
// shard's next calls to its worker thread for a second. A thread's calls
// take effect in the order it issued them either way.
#pragma once

#include <future>
#include <memory>
#include <string>
#include <vector>

#include "messages/errors.hpp"  // what every call throws: store_error
#include "messages/interfaces.hpp"

namespace storage {

class bridge;
struct call_target;

class vector_store {
 public:
  vector_store(vector_store_actor handle, std::shared_ptr<bridge> via,
               std::shared_ptr<const call_target> target);

  // true: created; false: already there with the same spec (conflict if not).
  std::future<bool> create_collection(collection_spec spec);
  // true: it existed. A missing collection is fine.
  std::future<bool> drop_collection(std::string name);
  std::future<std::vector<collection_spec>> list_collections();

  // The whole batch is validated before anything is written.
  std::future<std::uint64_t> upsert(std::string collection,
                                    std::vector<vector_record> records);
  // The records found, each once (an id asked twice is answered once);
  // missing ids are simply absent.
  std::future<std::vector<vector_record>> get(std::string collection,
                                              std::vector<std::string> ids);
  std::future<std::uint64_t> remove(std::string collection,
                                    std::vector<std::string> ids);
  std::future<std::uint64_t> remove_where(std::string collection, filter where);
  std::future<std::uint64_t> count(std::string collection);
  std::future<std::vector<search_hit>> search(std::string collection,
                                              search_request req);
  // One hit list per query, in query order, each what search() would return
  // for that query; one request for the whole batch.
  std::future<std::vector<std::vector<search_hit>>> search_batch(
      std::string collection, batch_search_request req);
  std::future<scan_page> scan(std::string collection, std::string after,
                              std::uint32_t limit);

  // The typed handle, for actor code (request(...).then).
  const vector_store_actor& actor() const { return handle_; }
  // The store's name or redacted URI, as errors name it.
  const std::string& name() const;

 private:
  vector_store_actor handle_;
  std::shared_ptr<bridge> bridge_;
  std::shared_ptr<const call_target> target_;
};

}  // namespace storage
