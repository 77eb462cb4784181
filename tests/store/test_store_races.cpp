// The SQL store's answer to lost races and unusable connections, without a cluster: a real
// SQLite connection wrapped so that COMMIT can fail the way a Galera certification failure does
// (rolled back, error 1213), optionally after "another node" wrote the row first. The real
// cluster runs the same paths in tests/integration/galera_test.py.
#include <filesystem>

#include <gtest/gtest.h>

#include "authd/store/credential_store.hpp"
#include "sql.hpp"

namespace authd::store::detail {
namespace {

struct Script {
  int lose_commits = 0;           // COMMITs that fail as a lost race
  std::string winner_hash;        // written by "the other node" before a lost COMMIT returns
  int commits = 0;                // COMMITs seen
  int opened = 0;                 // connections made
  bool unusable = false;          // usable() answers false
  bool retire = false;            // retire() answers true
};

class RacingConnection final : public SqlConnection {
public:
  RacingConnection(std::unique_ptr<SqlConnection> inner, Script& script) : m_inner(std::move(inner)), m_script(script) {}
  Result<std::int64_t> exec(std::string_view sql, const std::vector<SqlValue>& params) override {
    m_lost = false;
    if (sql == "COMMIT" && ++m_script.commits <= m_script.lose_commits) {
      (void)m_inner->exec("ROLLBACK", {});
      if (!m_script.winner_hash.empty()) {
        (void)m_inner->exec("UPDATE accounts SET password_hash = ?", {std::string_view(m_script.winner_hash)});
      }
      m_lost = true;
      return fail(ErrorKind::temporary, "mariadb: Deadlock found when trying to get lock (1213)");
    }
    return m_inner->exec(sql, params);
  }
  Status query(std::string_view sql, const std::vector<SqlValue>& params,
               const std::function<void(const Row&)>& row) override {
    return m_inner->query(sql, params, row);
  }
  std::int64_t last_insert_id() override { return m_inner->last_insert_id(); }
  bool broken() const override { return m_inner->broken(); }
  bool lost_race() const override { return m_lost; }
  bool usable() override { return !m_script.unusable; }
  bool retire() const override { return m_script.retire; }

private:
  std::unique_ptr<SqlConnection> m_inner;
  Script& m_script;
  bool m_lost = false;
};

class StoreRaces : public ::testing::Test {
protected:
  void SetUp() override {
    m_path = std::filesystem::temp_directory_path() /
             ("authd-races-" + std::string(::testing::UnitTest::GetInstance()->current_test_info()->name()) + ".db");
    std::filesystem::remove(m_path);
    auto connect = [this]() -> Result<std::unique_ptr<SqlConnection>> {
      auto inner = open_sqlite_connection(m_path.string(), 2000);
      if (!inner) {
        return inner;
      }
      ++m_script.opened;
      return std::unique_ptr<SqlConnection>(std::make_unique<RacingConnection>(std::move(*inner), m_script));
    };
    m_store = make_sql_store(std::make_unique<ConnectionPool>(connect, 2, std::chrono::milliseconds(2000)), k_sqlite,
                             [this] { ++m_retried; });
    ASSERT_TRUE(m_store->migrate());
    auto id = m_store->create({"rey", "5f4dcc3b5aa765d61d8327deb882cf99", true, {}, {}, {}, {}}, event("create"));
    ASSERT_TRUE(id);
    m_id = *id;
  }
  void TearDown() override {
    m_store.reset();
    std::filesystem::remove(m_path);
  }
  static Event event(const std::string& kind) { return Event{0, "rey", kind, "test", "md5", "bcrypt", ""}; }
  std::string stored() { return (*m_store->find("rey"))->password_hash; }
  std::size_t upgrades() {
    auto all = m_store->events("rey", 100);
    return static_cast<std::size_t>(std::count_if(all->begin(), all->end(), [](const Event& e) { return e.kind == "upgrade"; }));
  }

  std::filesystem::path m_path;
  Script m_script;
  std::unique_ptr<CredentialStore> m_store;
  std::int64_t m_id = 0;
  int m_retried = 0; // race_retried calls: what authd counts as authd_store_race_retries_total
};

constexpr std::string_view k_old = "5f4dcc3b5aa765d61d8327deb882cf99";

TEST_F(StoreRaces, ACasThatLosesToAnotherNodesWriteReportsTheLostRaceAndKeepsTheWinner) {
  m_script.lose_commits = m_script.commits + 1;
  m_script.winner_hash = "$2y$04$winnerwinnerwinnerwinneuJ1z3Hc5a0nGfUJDY0eHu0mWfWq2Ly";
  const int before = m_script.commits;
  auto won = m_store->swap_hash(m_id, k_old, "$2y$04$loserloserloserloserloeJ1z3Hc5a0nGfUJDY0eHu0mWfWq2Ly", event("upgrade"));
  ASSERT_TRUE(won) << won.error().message;
  EXPECT_FALSE(*won) << "the retry re-checks the CAS condition against the write that won";
  EXPECT_EQ(stored(), m_script.winner_hash);
  EXPECT_EQ(upgrades(), 0U) << "the lost attempt's event was rolled back with it";
  EXPECT_EQ(m_script.commits - before, 2) << "one lost commit, one retry (whose CAS matched nothing)";
  EXPECT_EQ(m_retried, 1) << "the retry is told (counted)";
}

TEST_F(StoreRaces, ALostRaceWithoutAWinnerIsRunAgainUntilItCommits) {
  m_script.lose_commits = m_script.commits + 3;
  auto won = m_store->swap_hash(m_id, k_old, "$2y$04$fresh", event("upgrade"));
  ASSERT_TRUE(won) << won.error().message;
  EXPECT_TRUE(*won);
  EXPECT_EQ(stored(), "$2y$04$fresh");
  EXPECT_EQ(upgrades(), 1U) << "exactly one event for the one write that committed";
  EXPECT_EQ(m_retried, 3) << "three lost commits, three retries told";
}

TEST_F(StoreRaces, RacesAreRetriedABoundedNumberOfTimesThenATemporaryFailure) {
  m_script.lose_commits = m_script.commits + 1000;
  const int before = m_script.commits;
  auto won = m_store->swap_hash(m_id, k_old, "$2y$04$fresh", event("upgrade"));
  ASSERT_FALSE(won);
  EXPECT_EQ(won.error().kind, ErrorKind::temporary) << "never a wrong answer, never a success";
  EXPECT_EQ(m_script.commits - before, 6);
  EXPECT_EQ(m_retried, 5) << "six attempts: five retries told, the last failure is the answer";
  m_script.lose_commits = 0;
  EXPECT_EQ(stored(), k_old);
  // An admin change and a familiar source go through the same retry.
  m_script.lose_commits = m_script.commits + 2;
  EXPECT_TRUE(m_store->set_hash("rey", "$2y$04$admin", event("password_change")));
  EXPECT_EQ(stored(), "$2y$04$admin");
  m_script.lose_commits = m_script.commits + 2;
  EXPECT_TRUE(m_store->remember_source(m_id, "198.51.100.7", now_seconds(), 0));
  EXPECT_TRUE(*m_store->familiar(m_id, "198.51.100.7", 0));
}

TEST_F(StoreRaces, AnUnusableConnectionIsNeverHandedOutAndARetiredOneIsClosed) {
  ASSERT_TRUE(m_store->find("rey"));
  const int opened = m_script.opened;
  m_script.unusable = true; // the node left the synced state: the idle connection is dropped
  ASSERT_TRUE(m_store->find("rey"));
  EXPECT_EQ(m_script.opened, opened + 1) << "a fresh connection instead of the unusable idle one";
  m_script.unusable = false;
  m_script.retire = true; // went to a fallback host: closed when its lease ends
  ASSERT_TRUE(m_store->find("rey"));
  ASSERT_TRUE(m_store->find("rey"));
  EXPECT_EQ(m_script.opened, opened + 2) << "each lease of a retired connection ends it";
}

} // namespace
} // namespace authd::store::detail
