// The transformer: maps each record of a batch (identity by default) and
// passes the batch on. It holds nothing: a batch goes out as soon as it came
// in, and credit from the writer goes straight to the reader, so this stage
// adds no buffer between them (the trap of CAF 0.17's stream stages).
#include "actors/migration/migration_pipeline.hpp"

namespace storage {

namespace {

struct transformer_state {
  caf::actor reader;
  caf::actor writer;
  migration_options opts;
};

using self_ptr = caf::stateful_actor<transformer_state>*;

caf::behavior migration_transformer(self_ptr self, caf::actor reader,
                                    migration_options opts) {
  self->state.reader = std::move(reader);
  self->state.opts = std::move(opts);
  self->set_exception_handler(
      [](caf::scheduled_actor*, std::exception_ptr& eptr) {
        return stage_exception(eptr, "transform", "");
      });
  return {
      [=](mpull_atom, std::uint64_t n) {
        self->state.writer =
            caf::actor_cast<caf::actor>(self->current_sender());
        self->send(self->state.reader, mpull_atom::value, n);
      },
      [=](migration_batch& b) {
        auto& fn = self->state.opts.transform;
        // The cursor and the last flag belong to the source's order and stay
        // as they are, even when every record of the batch is dropped.
        if (fn && !b.records.empty()) {
          std::vector<vector_record> out;
          out.reserve(b.records.size());
          for (auto& r : b.records)
            if (auto mapped = fn(std::move(r)))
              out.push_back(std::move(*mapped));
          b.records = std::move(out);
        }
        self->send(self->state.writer, std::move(b));
      },
  };
}

}  // namespace

caf::actor spawn_migration_transformer(caf::actor_system& sys,
                                       caf::actor reader,
                                       const migration_options& opts) {
  return sys.spawn(migration_transformer, std::move(reader), opts);
}

}  // namespace storage
