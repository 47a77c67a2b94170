// relayd's admin subcommands on the relay's database, and a restart of relayd on a file-backed
// database keeping accounts, devices, memberships and tokens (docs/api.md, "Administration").
#include "integration/api_test_helpers.hpp"

#include <relay/auth/encoding.hpp>
#include <relay/auth/secret_box.hpp>
#include <relay/store/store.hpp>

#include <csignal>
#include <fstream>

#include <sys/stat.h>

using namespace api_test;

namespace {

/** A temporary database that relayd and its admin commands share. */
struct database : file_database {
    std::pair<int, std::string> admin(std::vector<std::string> const& args, std::string const& input = {}) const
    {
        return run_relayd(args, env, input);
    }

    std::string sealed_secret_of(std::string const& device_id) const
    {
        auto db = relay::store::open_store(path);
        REQUIRE(db.has_value());
        auto row = (*db)->get_device(device_id);
        REQUIRE(row.has_value());
        return row->secret_sealed;
    }

    std::optional<std::string> open_secret(std::string const& device_id) const
    {
        std::ifstream in(path + ".key");
        std::string hex;
        std::getline(in, hex);
        auto raw = relay::auth::hex_decode(hex);
        REQUIRE(raw);
        return relay::auth::secret_box(*raw).open(sealed_secret_of(device_id), device_id);
    }
};

} // namespace

TEST_CASE("relayd user add, list and reset-token")
{
    database db;
    // docs/api.md: relayd user add
    auto [st, out] = db.admin({"user", "add", "ann@example.com"}, "correct horse battery staple\n");
    CAPTURE(out);
    REQUIRE(st == 0);
    CHECK(out.find("created user ann@example.com (u_") != std::string::npos);

    auto dup = db.admin({"user", "add", "ANN@example.com"}, "another good password\n");
    CHECK(dup.first == 1);
    CHECK(dup.second.find("an account with email ann@example.com already exists") != std::string::npos);
    auto weak = db.admin({"user", "add", "bob@example.com"}, "short\n");
    CHECK(weak.first == 1);
    CHECK(weak.second.find("at least 10 characters") != std::string::npos);
    auto bad_email = db.admin({"user", "add", "bob"}, "correct horse battery staple\n");
    CHECK(bad_email.first == 1);
    CHECK(bad_email.second.find("'bob' is not a valid email address") != std::string::npos);
    // (An empty stdin is not tried: run_relayd's child keeps the pipe's write end open.)
    auto empty = db.admin({"user", "add", "bob@example.com"}, "\n");
    CHECK(empty.first == 1);
    CHECK(empty.second.find("at least 10 characters") != std::string::npos);
    CHECK(db.admin({"user", "add"}).first == 2);
    CHECK(db.admin({"user", "add", "bob@example.com"}, "windows line end\r\n").first == 0);

    auto [lst, listing] = db.admin({"user", "list"});
    CAPTURE(listing);
    CHECK(lst == 0);
    CHECK(listing.find("user_id\temail\tcreated\n") != std::string::npos);
    CHECK(listing.find("\tann@example.com\t") != std::string::npos);
    CHECK(listing.find("\tbob@example.com\t") != std::string::npos);

    // The accounts work on a relay over the same database, also with registration closed.
    auto env = db.env;
    env["RELAY_OPEN_REGISTRATION"] = "false";
    relayd_process relayd(env);
    login(relayd.port(), "ann@example.com");
    login(relayd.port(), "bob@example.com", "windows line end");
    CHECK(http_json(relayd.port(), "POST", "/api/auth/register",
                    json::object{{"email", "cid@example.com"}, {"password", good_password}})
              .error_code() == "REGISTRATION_CLOSED");

    // docs/api.md: relayd user reset-token
    auto [rst, reset_out] = db.admin({"user", "reset-token", "ann@example.com"});
    CAPTURE(reset_out);
    REQUIRE(rst == 0);
    auto token = last_line(reset_out);
    CHECK(token.size() == 43);
    CHECK(reset_out.find("single use, valid for 30 minutes") != std::string::npos);
    // The console page that takes it, relative without RELAY_PUBLIC_URL.
    CHECK(reset_out.find("password_reset_link=/console/#/reset?token=" + token + "\n") != std::string::npos);
    CHECK(http_json(relayd.port(), "POST", "/api/auth/password-reset/confirm",
                    json::object{{"token", token}, {"new_password", "a much better passphrase"}})
              .status == 204);
    login(relayd.port(), "ann@example.com", "a much better passphrase");
    CHECK(http_json(relayd.port(), "POST", "/api/auth/password-reset/confirm",
                    json::object{{"token", token}, {"new_password", "yet another passphrase"}})
              .error_code() == "INVALID_TOKEN");

    auto public_env = db.env;
    public_env["RELAY_PUBLIC_URL"] = "https://relay.example.com/base/";
    auto [pst, public_out] = run_relayd({"user", "reset-token", "ann@example.com"}, public_env);
    CAPTURE(public_out);
    REQUIRE(pst == 0);
    CHECK(public_out.find("password_reset_link=https://relay.example.com/base/console/#/reset?token=" +
                          last_line(public_out) + "\n") != std::string::npos);

    auto unknown = db.admin({"user", "reset-token", "nobody@example.com"});
    CHECK(unknown.first == 1);
    CHECK(unknown.second.find("no account has email nobody@example.com") != std::string::npos);
}

TEST_CASE("relayd device add, list and rotate")
{
    database db;
    REQUIRE(db.admin({"user", "add", "ann@example.com"}, good_password + "\n").first == 0);

    // docs/api.md: relayd device add
    auto [st, out] = db.admin({"device", "add", "wimz-001", "--owner", "ann@example.com", "--name", "Kitchen robot"});
    CAPTURE(out);
    REQUIRE(st == 0);
    auto secret = last_line(out);
    CHECK(secret.size() == 43);
    CHECK(out.find("its secret is shown only now") != std::string::npos);
    // Sealed with the relay's key, bound to the id: the relay can open it.
    CHECK(db.open_secret("wimz-001") == secret);

    // --flag=value works like --flag value; the name defaults to the id.
    CHECK(db.admin({"device", "add", "wimz-002", "--owner=ann@example.com"}).first == 0);

    auto dup = db.admin({"device", "add", "wimz-001", "--owner", "ann@example.com"});
    CHECK(dup.first == 1);
    CHECK(dup.second.find("a device with id wimz-001 already exists") != std::string::npos);
    auto no_owner = db.admin({"device", "add", "wimz-003", "--owner", "nobody@example.com"});
    CHECK(no_owner.first == 1);
    CHECK(no_owner.second.find("no account has email nobody@example.com") != std::string::npos);
    auto bad_id = db.admin({"device", "add", "bad id", "--owner", "ann@example.com"});
    CHECK(bad_id.first == 1);
    CHECK(bad_id.second.find("not a valid device id") != std::string::npos);
    CHECK(db.admin({"device", "add", "wimz-003"}).first == 2);
    CHECK(db.admin({"device", "add", "wimz-003", "--owner", "ann@example.com", "--colour", "red"}).first == 2);

    // docs/api.md: relayd device list
    auto [lst, listing] = db.admin({"device", "list"});
    CAPTURE(listing);
    CHECK(lst == 0);
    CHECK(listing.find("device_id\tname\towner\tlast_seen\n") != std::string::npos);
    CHECK(listing.find("wimz-001\tKitchen robot\tann@example.com\tnever\n") != std::string::npos);
    CHECK(listing.find("wimz-002\twimz-002\tann@example.com\tnever\n") != std::string::npos);

    // The owner sees the devices through the API.
    relayd_process relayd(db.env);
    auto ann = std::string(login(relayd.port(), "ann@example.com").at("access_token").as_string());
    auto devices = http_get(relayd.port(), "/api/devices", ann).json().as_array();
    REQUIRE(devices.size() == 2);
    CHECK(devices[0].at("device_id") == "wimz-001");
    CHECK(devices[0].at("name") == "Kitchen robot");
    CHECK(devices[0].at("role") == "owner");

    // docs/api.md: relayd device rotate
    auto [rst, rotated] = db.admin({"device", "rotate", "wimz-001"});
    CAPTURE(rotated);
    REQUIRE(rst == 0);
    auto fresh = last_line(rotated);
    CHECK(fresh.size() == 43);
    CHECK(fresh != secret);
    CHECK(db.open_secret("wimz-001") == fresh);
    auto unknown = db.admin({"device", "rotate", "wimz-404"});
    CHECK(unknown.first == 1);
    CHECK(unknown.second.find("no device has id wimz-404") != std::string::npos);
}

TEST_CASE("admin commands refuse what they cannot do")
{
    auto memory = run_relayd({"user", "list"}, test_env());
    CHECK(memory.first == 1);
    CHECK(memory.second.find("RELAY_DATABASE is :memory:") != std::string::npos);
    database db;
    auto unknown = db.admin({"user", "delete", "ann@example.com"});
    CHECK(unknown.first == 2);
    CHECK(unknown.second.find("unknown command 'user delete'") != std::string::npos);
    CHECK(db.admin({"device"}).first == 2);
    CHECK(db.admin({"user", "list", "extra"}).first == 2);
    auto missing_dir = run_relayd({"user", "list"}, test_env({{"RELAY_DATABASE", db.dir.path() + "/no/such/dir/relay.db"}}));
    CHECK(missing_dir.first == 1);
}

TEST_CASE("a restart keeps accounts, devices, memberships and tokens")
{
    database db;
    std::string ann_access, ann_refresh, bob_access, bob_id, secret;
    {
        relayd_process relayd(db.env);
        auto port = relayd.port();
        register_user(port, "ann@example.com");
        bob_id = register_user(port, "bob@example.com");
        auto pair = login(port, "ann@example.com");
        ann_access = std::string(pair.at("access_token").as_string());
        ann_refresh = std::string(pair.at("refresh_token").as_string());
        bob_access = std::string(login(port, "bob@example.com").at("access_token").as_string());
        secret = std::string(create_device(port, ann_access, "wimz-001").at("device_secret").as_string());
        REQUIRE(http_json(port, "POST", "/api/devices/wimz-001/members",
                          json::object{{"email", "bob@example.com"}, {"role", "operator"}}, ann_access)
                    .status == 201);
        CHECK(relayd.stop(SIGTERM) == 0);
    }
    relayd_process relayd(db.env);
    auto port = relayd.port();
    // Access tokens survive (same RELAY_JWT_SECRET), and so do refresh tokens.
    auto devices = http_get(port, "/api/devices", ann_access);
    REQUIRE(devices.status == 200);
    REQUIRE(devices.json().as_array().size() == 1);
    CHECK(devices.json().as_array()[0].at("name") == "Kitchen robot");
    CHECK(http_get(port, "/api/devices/wimz-001", bob_access).json().at("role") == "operator");
    auto members = http_get(port, "/api/devices/wimz-001/members", ann_access).json().as_array();
    REQUIRE(members.size() == 2);
    CHECK(members[1].at("user_id").as_string() == bob_id);
    CHECK(http_json(port, "POST", "/api/auth/refresh", json::object{{"refresh_token", ann_refresh}}).status == 200);
    login(port, "bob@example.com");
    // The device secret still opens with the key kept beside the database.
    CHECK(db.open_secret("wimz-001") == secret);
    CHECK(http_json(port, "POST", "/api/auth/register", json::object{{"email", "ann@example.com"}, {"password", good_password}})
              .error_code() == "EMAIL_TAKEN");
}

TEST_CASE("a login upgrades a password hash made with weaker scrypt parameters")
{
    database db;
    REQUIRE(db.admin({"user", "add", "ann@example.com"}, good_password + "\n").first == 0);
    auto stored_hash = [&] {
        auto store = relay::store::open_store(db.path);
        REQUIRE(store.has_value());
        auto user = (*store)->find_user_by_email("ann@example.com");
        REQUIRE(user.has_value());
        return user->password_hash;
    };
    CHECK(stored_hash().starts_with("$scrypt$ln=10,"));
    auto env = db.env;
    env["RELAY_SCRYPT_LN"] = "11";
    relayd_process relayd(env);
    // A failed login changes nothing; a successful one stores a hash with the new cost.
    CHECK(http_json(relayd.port(), "POST", "/api/auth/login",
                    json::object{{"email", "ann@example.com"}, {"password", "wrong password"}})
              .status == 401);
    CHECK(stored_hash().starts_with("$scrypt$ln=10,"));
    login(relayd.port(), "ann@example.com");
    CHECK(stored_hash().starts_with("$scrypt$ln=11,"));
    login(relayd.port(), "ann@example.com");
}

TEST_CASE("in dev mode without RELAY_JWT_SECRET, the generated secret is kept beside the database")
{
    database db;
    auto env = db.env;
    env.erase("RELAY_JWT_SECRET");
    env["RELAY_DEV"] = "true";
    std::string access;
    {
        relayd_process relayd(env);
        register_user(relayd.port(), "ann@example.com");
        access = std::string(login(relayd.port(), "ann@example.com").at("access_token").as_string());
        CHECK(relayd.output().find(db.path + ".jwt") != std::string::npos); // the warning names the file
        CHECK(relayd.stop(SIGTERM) == 0);
    }
    // The README's flow: stop the relay, start it again, and the app's login still holds.
    relayd_process again(env);
    CHECK(http_get(again.port(), "/api/devices", access).status == 200);
    CHECK(again.output().find("access tokens will not survive a restart") == std::string::npos);
    // Readable by its owner only, like the device-secret key.
    struct stat st {};
    REQUIRE(::stat((db.path + ".jwt").c_str(), &st) == 0);
    CHECK((st.st_mode & 0777) == 0600);
}

TEST_CASE("outside dev mode, or on :memory:, a missing RELAY_JWT_SECRET stays random and says so")
{
    database db;
    auto env = db.env;
    env.erase("RELAY_JWT_SECRET");
    relayd_process relayd(env);
    CHECK(relayd.output().find("access tokens will not survive a restart") != std::string::npos);
    struct stat st {};
    CHECK(::stat((db.path + ".jwt").c_str(), &st) != 0);

    // Dev mode on an in-memory database has nowhere to keep it.
    relayd_process memory(env_map{{"RELAY_SCRYPT_LN", "10"}, {"RELAY_DEV", "true"}});
    CHECK(memory.output().find("access tokens will not survive a restart") != std::string::npos);
}
