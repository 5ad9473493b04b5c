// The reader: scans the source a page at a time, in the source's order, and
// hands out batches only against credit. It holds at most one page that did
// not fit the credit yet, so its memory is one page whatever the data size.
#include <chrono>
#include <deque>

#include "actors/migration/migration_pipeline.hpp"
#include "messages/caf_support.hpp"

namespace storage {

namespace {

struct reader_state {
  pipeline_ends ends;
  migration_options opts;
  std::string cursor;  // where the next scan starts
  caf::actor downstream;
  std::size_t credit = 0;
  std::deque<migration_batch> pending;  // split from the last page
  bool scanning = false;
  bool exhausted = false;
  // Records per page, lowered when records are large so a page stays near
  // opts.batch_bytes.
  std::uint32_t page_limit = 500;
};

using self_ptr = caf::stateful_actor<reader_state>*;

std::size_t record_bytes(const vector_record& r) {
  std::size_t n = r.id.size() + r.embedding.size() * sizeof(float) + 16;
  if (r.document) n += r.document->size();
  for (auto& [k, v] : r.metadata) {
    n += k.size() + 16;
    if (auto* s = std::get_if<std::string>(&v)) n += s->size();
  }
  return n;
}

std::size_t entry_bytes(const cache_entry& e) {
  return e.key.size() + e.value.size() + 24;
}

std::int64_t now_unix_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

// Next page size: opts.batch records, or fewer if that many would exceed
// opts.batch_bytes at the size the last page had.
void adapt_limit(reader_state& st, std::size_t bytes, std::size_t items) {
  if (items == 0) return;
  auto per = std::max<std::size_t>(1, bytes / items);
  auto fit = std::max<std::size_t>(1, st.opts.batch_bytes / per);
  st.page_limit =
      static_cast<std::uint32_t>(std::min<std::size_t>(st.opts.batch, fit));
}

// Splits one page into batches of at most opts.batch items and about
// opts.batch_bytes each. `resume` is where a batch that is not the page's
// last one resumes; the page's last batch resumes at `next`.
template <class Item, class Size, class Put>
void split(self_ptr self, std::vector<Item>& items, Size size, Put put,
           const std::string& next) {
  auto& st = self->state;
  std::size_t bytes_total = 0;
  migration_batch cur;
  std::size_t cur_items = 0, cur_bytes = 0;
  for (auto& item : items) {
    auto b = size(item);
    bytes_total += b;
    if (cur_items > 0 &&
        (cur_items >= st.opts.batch || cur_bytes + b > st.opts.batch_bytes)) {
      st.pending.push_back(std::move(cur));
      cur = migration_batch{};
      cur_items = cur_bytes = 0;
    }
    put(cur, std::move(item));
    ++cur_items;
    cur_bytes += b;
  }
  adapt_limit(st, bytes_total, items.size());
  if (cur_items > 0 || next.empty()) st.pending.push_back(std::move(cur));
  if (!st.pending.empty()) {
    st.pending.back().cursor = next;
    st.pending.back().last = next.empty();
  }
}

void pump(self_ptr self);

void on_vector_page(self_ptr self, scan_page& page) {
  auto& st = self->state;
  st.scanning = false;
  // Vector scans resume after an id, so every batch can name its own.
  split(
      self, page.records, record_bytes,
      [](migration_batch& b, vector_record r) {
        b.cursor = r.id;
        b.records.push_back(std::move(r));
      },
      page.next_cursor);
  st.cursor = page.next_cursor;
  st.exhausted = page.next_cursor.empty();
  pump(self);
}

// `read_at`: when the scan was sent. Each TTL in the page is what was left
// when the backend read it, no earlier than that, so the expiry taken from
// it is never later than the source's (taken at the answer's arrival, a
// slow scan or a busy reader moved it later by as much as they took).
void on_cache_page(self_ptr self, cache_scan_page& page, std::int64_t read_at) {
  auto& st = self->state;
  st.scanning = false;
  // A cache cursor is opaque (a Redis SCAN cursor): only the page's end is a
  // place to resume, so a batch before it resumes at the page's start and a
  // restart re-reads that page. Writes are idempotent, so that is harmless.
  auto page_start = st.cursor;
  split(
      self, page.entries, entry_bytes,
      [read_at, page_start](migration_batch& b, cache_entry e) {
        b.cursor = page_start;
        b.expiry_ms.push_back(e.ttl ? read_at + *e.ttl : 0);
        e.ttl.reset();
        b.entries.push_back(std::move(e));
      },
      page.next_cursor);
  st.cursor = page.next_cursor;
  st.exhausted = page.next_cursor.empty();
  pump(self);
}

void fail(self_ptr self, caf::error& e, const char* op) {
  auto& st = self->state;
  self->quit(to_caf_error(from_caf_error(e, op, st.ends.source_name)));
}

void scan(self_ptr self) {
  auto& st = self->state;
  st.scanning = true;
  if (st.ends.cache) {
    auto asked_at = now_unix_ms();
    self->request(st.ends.csource, migration_request_timeout, cscan_atom::value,
                  st.cursor, st.page_limit)
        .then([=](cache_scan_page& p) { on_cache_page(self, p, asked_at); },
              [=](caf::error& e) { fail(self, e, "scan"); });
  } else {
    self->request(st.ends.vsource, migration_request_timeout, vscan_atom::value,
                  st.ends.collection, st.cursor, st.page_limit)
        .then([=](scan_page& p) { on_vector_page(self, p); },
              [=](caf::error& e) { fail(self, e, "scan"); });
  }
}

void pump(self_ptr self) {
  auto& st = self->state;
  while (st.credit > 0 && !st.pending.empty()) {
    self->send(st.downstream, std::move(st.pending.front()));
    st.pending.pop_front();
    --st.credit;
  }
  // A new page only when the last one is handed out and credit remains:
  // what the writer cannot take yet stays in the source.
  if (st.credit > 0 && st.pending.empty() && !st.scanning && !st.exhausted)
    scan(self);
}

caf::behavior migration_reader(self_ptr self, pipeline_ends ends,
                               migration_options opts, std::string cursor) {
  auto& st = self->state;
  st.ends = std::move(ends);
  st.opts = std::move(opts);
  st.opts.batch = std::max<std::uint32_t>(1, st.opts.batch);
  st.opts.batch_bytes = std::max<std::size_t>(1, st.opts.batch_bytes);
  st.page_limit = st.opts.batch;
  st.cursor = std::move(cursor);
  auto store = st.ends.source_name;
  self->set_exception_handler(
      [store](caf::scheduled_actor*, std::exception_ptr& eptr) {
        return stage_exception(eptr, "scan", store);
      });
  return {
      [=](mpull_atom, std::uint64_t n) {
        self->state.downstream =
            caf::actor_cast<caf::actor>(self->current_sender());
        self->state.credit += n;
        pump(self);
      },
  };
}

}  // namespace

caf::actor spawn_migration_reader(caf::actor_system& sys,
                                  const pipeline_ends& ends,
                                  const migration_options& opts,
                                  std::string cursor) {
  return sys.spawn(migration_reader, ends, opts, std::move(cursor));
}

caf::error stage_exception(std::exception_ptr& eptr, const char* op,
                           const std::string& store) {
  try {
    std::rethrow_exception(eptr);
  } catch (const store_error& e) {
    return to_caf_error(e.with_context(op, store));
  } catch (const std::exception& e) {
    return to_caf_error(store_error(errc::internal, e.what(), op, store));
  } catch (...) {
    return to_caf_error(
        store_error(errc::internal, "unknown exception", op, store));
  }
}

}  // namespace storage
