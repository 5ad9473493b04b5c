// A SQLite file's write lock held by another connection until release(): a
// backend stuck the way a real one gets stuck, without a fake server.
#pragma once

#include <gtest/gtest.h>

#include <sqlite3.h>

#include <string>

namespace storage::test {

class sqlite_file_lock {
 public:
  explicit sqlite_file_lock(const std::string& path) {
    EXPECT_EQ(sqlite3_open(path.c_str(), &db_), SQLITE_OK);
    EXPECT_EQ(sqlite3_exec(db_, "BEGIN EXCLUSIVE", nullptr, nullptr, nullptr),
              SQLITE_OK);
  }
  void release() {
    if (!db_) return;
    sqlite3_exec(db_, "COMMIT", nullptr, nullptr, nullptr);
    sqlite3_close(db_);
    db_ = nullptr;
  }
  ~sqlite_file_lock() { release(); }
  sqlite_file_lock(const sqlite_file_lock&) = delete;
  sqlite_file_lock& operator=(const sqlite_file_lock&) = delete;

 private:
  sqlite3* db_ = nullptr;
};

}  // namespace storage::test
