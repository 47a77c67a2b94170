// The timing decorator: every store call lands in relay_store_duration_seconds{op}, failures of
// the database itself in relay_store_errors_total{op,code}, and answers pass through untouched.
#include "store/store_fixture.hpp"

#include <relay/store/timed_store.hpp>
#include <relay/telemetry/metrics.hpp>

#include <doctest/doctest.h>

using namespace relay;
using namespace relay::store;
using namespace relay::store::test;

namespace {

telemetry::histogram& duration(telemetry::registry& r, std::string const& op)
{
    return r.get_histogram("relay_store_duration_seconds", "", {{"op", op}});
}

// A database that is down: every call fails with the code it is given.
class failing_store final : public store {
public:
    explicit failing_store(errc code) : code_(make_error_code(code)) {}

    result<user> create_user(std::string_view, std::string_view, unix_seconds) override { return code_; }
    result<user> find_user_by_email(std::string_view) override { return code_; }
    result<user> find_user_by_id(std::string_view) override { return code_; }
    result<std::vector<user>> list_users() override { return code_; }
    result<void> set_password_hash(std::string_view, std::string_view) override { return code_; }
    result<void> insert_refresh_token(refresh_token const&) override { return code_; }
    result<consumed_refresh_token> consume_refresh_token(std::string_view, unix_seconds) override { return code_; }
    result<std::optional<refresh_login>> revoke_refresh_token(std::string_view) override { return code_; }
    result<void> revoke_family(std::string_view) override { return code_; }
    result<void> revoke_all_refresh_tokens(std::string_view) override { return code_; }
    result<void> insert_reset_token(reset_token const&) override { return code_; }
    result<std::string> consume_reset_token(std::string_view, unix_seconds) override { return code_; }
    result<void> create_device(device const&, std::string_view) override { return code_; }
    result<device> get_device(std::string_view) override { return code_; }
    result<std::vector<device_access>> list_devices_for_user(std::string_view) override { return code_; }
    result<std::optional<role>> role_of(std::string_view, std::string_view) override { return code_; }
    result<void> rename_device(std::string_view, std::string_view) override { return code_; }
    result<void> delete_device(std::string_view) override { return code_; }
    result<void> set_device_secret(std::string_view, std::string_view) override { return code_; }
    result<void> set_device_key(std::string_view, std::string_view) override { return code_; }
    result<void> record_device_seen(std::string_view, unix_seconds, std::optional<std::string_view>,
                                    std::optional<std::string_view>) override { return code_; }
    result<std::vector<device>> list_devices() override { return code_; }
    result<void> add_member(std::string_view, std::string_view, role) override { return code_; }
    result<void> remove_member(std::string_view, std::string_view) override { return code_; }
    result<std::vector<member>> list_members(std::string_view) override { return code_; }
    result<std::vector<user_access>> users_with_access(std::string_view) override { return code_; }
    result<void> insert_session(webrtc_session const&) override { return code_; }
    result<void> mark_session_connected(std::string_view, unix_seconds, std::string_view,
                                        std::optional<std::int64_t>) override { return code_; }
    result<void> end_session(std::string_view, unix_seconds, std::string_view) override { return code_; }
    result<std::vector<webrtc_session>> list_sessions(std::string_view, std::size_t) override { return code_; }
    result<std::size_t> end_open_sessions(unix_seconds, std::string_view) override { return code_; }
    result<snapshot> export_snapshot() override { return code_; }
    result<void> import_snapshot(snapshot const&, import_mode) override { return code_; }
    boost::system::result<void, health_problem> check() override
    {
        if (code_)
            return health_problem{code_, "failing on purpose"};
        return {};
    }

private:
    boost::system::error_code code_;
};

} // namespace

TEST_CASE("a timed store answers like the store it wraps and times each call by operation")
{
    captured_log log;
    telemetry::registry metrics;
    auto s = make_timed_store(open_or_fail(":memory:", log.get()), metrics);

    // Nothing is rendered for an operation before its first call.
    CHECK(metrics.render().find("relay_store_duration_seconds") == std::string::npos);

    auto alice = make_user(*s, "alice@example.com");
    auto found = s->find_user_by_email("alice@example.com");
    REQUIRE(found);
    CHECK(found->id == alice.id);
    // An answer that is an error code passes through, and is no failure of the database.
    CHECK(s->find_user_by_email("nobody@example.com").error() == errc::user_not_found);
    CHECK(s->create_user("alice@example.com", "h", 1000).error() == errc::email_taken);
    CHECK(s->check());

    CHECK(duration(metrics, "create_user").count() == 2);
    CHECK(duration(metrics, "find_user_by_email").count() == 2);
    CHECK(duration(metrics, "check").count() == 1);
    CHECK(duration(metrics, "find_user_by_email").sum() >= 0);

    auto text = metrics.render();
    CHECK(text.find("# TYPE relay_store_duration_seconds histogram") != std::string::npos);
    CHECK(text.find("relay_store_duration_seconds_count{op=\"find_user_by_email\"} 2\n") != std::string::npos);
    CHECK(text.find("relay_store_duration_seconds_bucket{op=\"create_user\",le=\"+Inf\"} 2\n") != std::string::npos);
    CHECK(text.find("op=\"get_device\"") == std::string::npos);
    CHECK(text.find("relay_store_errors_total") == std::string::npos);
}

TEST_CASE("a timed store counts failures of the database by operation and code")
{
    telemetry::registry metrics;
    auto busy = make_timed_store(std::make_unique<failing_store>(errc::unavailable), metrics);
    auto broken = make_timed_store(std::make_unique<failing_store>(errc::internal), metrics);

    CHECK(busy->find_user_by_email("a@example.com").error() == errc::unavailable);
    CHECK(busy->find_user_by_email("a@example.com").error() == errc::unavailable);
    CHECK(broken->insert_session(webrtc_session{}).error() == errc::internal);
    CHECK(broken->record_device_seen("d", 1).error() == errc::internal);

    auto text = metrics.render();
    CHECK(text.find("# TYPE relay_store_errors_total counter") != std::string::npos);
    CHECK(text.find("relay_store_errors_total{code=\"unavailable\",op=\"find_user_by_email\"} 2\n") != std::string::npos);
    CHECK(text.find("relay_store_errors_total{code=\"internal\",op=\"insert_session\"} 1\n") != std::string::npos);
    CHECK(text.find("relay_store_errors_total{code=\"internal\",op=\"record_device_seen\"} 1\n") != std::string::npos);
    // Failed calls are timed too: a slow failure is what an operator looks for.
    CHECK(duration(metrics, "find_user_by_email").count() == 2);
}
