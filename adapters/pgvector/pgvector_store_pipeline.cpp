// Several statements in one round trip: libpq's pipeline mode, polled
// against the same deadline as exec(). A batch search sends its queries this
// way, so a batch costs the round trips of one search, not one per query.
#include "adapters/pgvector/pgvector_store_detail.hpp"

namespace storage::pgv {

std::vector<result> connection::exec_pipeline(
    const std::vector<statement>& stmts) {
  std::vector<result> out;
  if (stmts.empty()) return out;
  ready_to_send();
  if (PQenterPipelineMode(conn_) != 1)
    fail_connection("entering pipeline mode");
  for (auto& s : stmts) send(s.sql, s.args);
  if (PQpipelineSync(conn_) != 1) fail_connection("sending a statement");
  auto deadline = this->deadline();
  flush(deadline);
  // Every result is read, even after a failure, so the connection comes out
  // of the pipeline idle and usable; the first failure is thrown after.
  std::optional<result> failed;
  out.reserve(stmts.size());
  for (std::size_t i = 0; i < stmts.size(); ++i) {
    result last(nullptr);
    while (PGresult* r = next_result(deadline)) last = result(r);
    if (!last.get()) fail_connection("reading an answer");
    auto status = PQresultStatus(last.get());
    if (status == PGRES_FATAL_ERROR && !failed) failed.emplace(std::move(last));
    if (status == PGRES_COMMAND_OK || status == PGRES_TUPLES_OK)
      out.push_back(std::move(last));
    else if (!failed)
      fail_connection("running a pipeline");  // aborted with no error first
  }
  result sync(next_result(deadline));
  if (!sync.get() || PQresultStatus(sync.get()) != PGRES_PIPELINE_SYNC)
    fail_connection("ending a pipeline");
  if (PQexitPipelineMode(conn_) != 1) fail_connection("leaving pipeline mode");
  if (failed) fail_statement(*failed);
  return out;
}

}  // namespace storage::pgv
