// Device keys in the store (docs/auth.md "Device keys"), on every backend: a device holds a
// sealed secret or an Ed25519 public key, never both; snapshots and migrations keep them.
#include "store/store_fixture.hpp"

using namespace relay::store;
using relay::errc;
using namespace relay::store::test;

namespace {

constexpr std::string_view key_a = "11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo"; // RFC 8032 TEST 1
constexpr std::string_view key_b = "PUAXw-hDiVqStwqnTRt-vJyYLM8uxJaMwM1V8Sr0Zgw"; // RFC 8032 TEST 2

device key_device(std::string id, std::string_view key)
{
    device d;
    d.device_id = std::move(id);
    d.name = "keyed";
    d.created_at = 1000;
    d.key_type = device_key_type::ed25519;
    d.public_key = std::string(key);
    return d;
}

} // namespace

RELAY_STORE_TEST("device keys: a device made with a key holds no secret, and lists show its key")
{
    auto&& [dir, log, s] = fresh_store<backend>{};
    auto [alice, bob] = alice_and_bob(*s);
    REQUIRE(s->create_device(key_device("k1", key_a), alice.id));
    make_device(*s, "s1", alice.id, "secreted");

    auto got = s->get_device("k1");
    REQUIRE(got);
    CHECK(got->key_type == device_key_type::ed25519);
    CHECK(got->public_key == key_a);
    CHECK(got->secret_sealed.empty());

    auto plain = s->get_device("s1");
    REQUIRE(plain);
    CHECK(plain->key_type == device_key_type::secret);
    CHECK(plain->public_key.empty());
    CHECK(plain->secret_sealed == "sealed:s1");

    // Lists read the same columns, and the role still comes after them.
    auto mine = s->list_devices_for_user(alice.id);
    REQUIRE(mine);
    REQUIRE(mine->size() == 2);
    CHECK(mine->at(0).device.device_id == "k1");
    CHECK(mine->at(0).device.key_type == device_key_type::ed25519);
    CHECK(mine->at(0).device.public_key == key_a);
    CHECK(mine->at(0).access == role::owner);
    CHECK(mine->at(1).device.key_type == device_key_type::secret);
    auto all = s->list_devices();
    REQUIRE(all);
    REQUIRE(all->size() == 2);
    CHECK(all->at(0).public_key == key_a);
}

RELAY_STORE_TEST("device keys: setting a key drops the secret, going back to a secret drops the key")
{
    auto&& [dir, log, s] = fresh_store<backend>{};
    auto [alice, bob] = alice_and_bob(*s);
    make_device(*s, "d1", alice.id);
    make_device(*s, "d2", alice.id);

    REQUIRE(s->set_device_key("d1", key_a));
    auto keyed = s->get_device("d1");
    REQUIRE(keyed);
    CHECK(keyed->key_type == device_key_type::ed25519);
    CHECK(keyed->public_key == key_a);
    CHECK(keyed->secret_sealed.empty());
    CHECK(s->get_device("d2")->secret_sealed == "sealed:d2"); // only that row

    REQUIRE(s->set_device_key("d1", key_b)); // replaced
    CHECK(s->get_device("d1")->public_key == key_b);

    REQUIRE(s->set_device_secret("d1", "sealed-again"));
    auto back = s->get_device("d1");
    REQUIRE(back);
    CHECK(back->key_type == device_key_type::secret);
    CHECK(back->public_key.empty());
    CHECK(back->secret_sealed == "sealed-again");

    CHECK(s->set_device_key("nope", key_a).error() == errc::device_not_found);
}

RELAY_STORE_TEST("device keys: a snapshot carries key type and public key to another store")
{
    auto&& [dir, log, s] = fresh_store<backend>{};
    auto&& [dir2, log2, target] = fresh_store<backend>{};
    auto alice = make_user(*s, "alice@example.com");
    REQUIRE(s->create_device(key_device("k1", key_a), alice.id));
    make_device(*s, "s1", alice.id);

    auto rows = s->export_snapshot();
    REQUIRE(rows);
    REQUIRE(target->import_snapshot(*rows, import_mode::into_empty));
    auto k1 = target->get_device("k1");
    REQUIRE(k1);
    CHECK(k1->key_type == device_key_type::ed25519);
    CHECK(k1->public_key == key_a);
    CHECK(k1->secret_sealed.empty());
    auto s1 = target->get_device("s1");
    REQUIRE(s1);
    CHECK(s1->key_type == device_key_type::secret);
    CHECK(s1->secret_sealed == "sealed:s1");
}

TEST_CASE("device keys: a PostgreSQL database of schema version 1 migrates, its devices keep their secrets")
{
    auto& server = relay::test::pg::shared_server();
    auto const url = server.create_database();
    auto const db = url.substr(url.rfind('/') + 1);
    captured_log log;
    {
        auto s = open_or_fail(url, log.get());
        make_device(*s, "old-1", make_user(*s, "alice@example.com").id);
    }
    server.admin_sql(db, "ALTER TABLE devices DROP COLUMN public_key, DROP COLUMN key_type; "
                         "DELETE FROM schema_migrations WHERE version = 2");

    auto s = open_or_fail(url, log.get());
    CHECK(server.admin_value(db, "SELECT max(version) FROM schema_migrations") == "2");
    auto d = s->get_device("old-1");
    REQUIRE(d);
    CHECK(d->key_type == device_key_type::secret);
    CHECK(d->secret_sealed == "sealed:old-1");
    CHECK(d->public_key.empty());
    REQUIRE(s->set_device_key("old-1", key_a));
    CHECK(s->get_device("old-1")->public_key == key_a);
}
