#include "admin.hpp"

#include <relay/auth/crypto.hpp>
#include <relay/auth/device_auth.hpp>
#include <relay/auth/device_key.hpp>
#include <relay/auth/email.hpp>
#include <relay/auth/password.hpp>
#include <relay/auth/secret_box.hpp>
#include <relay/protocol/timestamp.hpp>
#include <relay/protocol/validation.hpp>
#include <relay/store/store.hpp>

#include <relay/server/reset_notifier.hpp>

#include <fmt/format.h>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <iterator>
#include <map>
#include <memory>
#include <optional>

#include <termios.h>
#include <unistd.h>

namespace relayd {
namespace {

namespace store = relay::store;

/** Same lifetime as tokens from POST /api/auth/password-reset (docs/api.md). */
constexpr store::unix_seconds reset_token_ttl = 30 * 60;

// Exit statuses: 1 when the operation failed, 2 when the command line is wrong.
constexpr int failed = 1;
constexpr int usage_error = 2;

int fail(std::string const& message, int status = failed)
{
    std::fprintf(stderr, "relayd: %s\n", message.c_str());
    return status;
}

int usage(std::string const& message)
{
    return fail(message + " (see relayd --help)", usage_error);
}

store::unix_seconds unix_now()
{
    return std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch())
        .count();
}

std::string format_time(std::optional<store::unix_seconds> t)
{
    if (!t)
        return "never";
    return relay::protocol::format_timestamp(relay::protocol::timestamp(std::chrono::seconds(*t)));
}

/** Prints a value the operator must copy (a secret, a token) alone on stdout, after the sentence
 * that explains it on stderr, so `$(relayd device add …)` captures just the value. */
void print_value(std::string const& explanation, std::string const& value)
{
    std::fprintf(stderr, "%s\n", explanation.c_str());
    std::fflush(stderr);
    std::fprintf(stdout, "%s\n", value.c_str());
    std::fflush(stdout);
}

/** One line from stdin; with a terminal, prompted twice with echo off. */
std::optional<std::string> read_password(std::string& why)
{
    if (!::isatty(STDIN_FILENO)) {
        std::string line;
        if (!std::getline(std::cin, line)) {
            why = "no password on stdin (give it as one line, or run in a terminal to be prompted)";
            return std::nullopt;
        }
        if (!line.empty() && line.back() == '\r')
            line.pop_back();
        return line;
    }
    auto prompt = [](char const* text) -> std::optional<std::string> {
        std::fprintf(stderr, "%s", text);
        std::fflush(stderr);
        termios old{};
        bool restore = ::tcgetattr(STDIN_FILENO, &old) == 0;
        if (restore) {
            termios quiet = old;
            quiet.c_lflag &= ~static_cast<tcflag_t>(ECHO);
            ::tcsetattr(STDIN_FILENO, TCSAFLUSH, &quiet);
        }
        std::string line;
        bool ok = static_cast<bool>(std::getline(std::cin, line));
        if (restore)
            ::tcsetattr(STDIN_FILENO, TCSAFLUSH, &old);
        std::fprintf(stderr, "\n");
        if (!ok)
            return std::nullopt;
        return line;
    };
    auto first = prompt("Password: ");
    auto second = first ? prompt("Repeat password: ") : std::nullopt;
    if (!first || !second) {
        why = "no password entered";
        return std::nullopt;
    }
    if (*first != *second) {
        why = "the passwords do not match";
        return std::nullopt;
    }
    return first;
}

/** The store and the keys the running relay uses, for one admin command. */
struct admin {
    config& cfg;
    std::unique_ptr<store::store> db;
    relay::auth::password_hasher hasher;
    relay::auth::secret_box device_secrets;

    /** A store error as a sentence, with the database's location for anything unexpected. */
    std::string describe(boost::system::error_code ec) const
    {
        if (ec == relay::make_error_code(relay::errc::unavailable))
            return fmt::format("the database {} is busy or unreachable; try again",
                               store::redact_location(cfg.server.database));
        return fmt::format("database error on {}: {}", store::redact_location(cfg.server.database), ec.message());
    }

    /**
     * Records an operator's action in the audit trail (docs/auth.md). A failure is a warning:
     * the action itself is done and the operator has its output.
     */
    void record(std::string action, std::optional<std::string> device_id, std::optional<std::string> target,
                std::string detail = "{}")
    {
        auto now_ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                          std::chrono::system_clock::now().time_since_epoch())
                          .count();
        store::audit_entry e{0, now_ms, "operator", std::move(action), std::move(device_id), std::move(target), "",
                             std::move(detail)};
        if (auto r = db->insert_audit(e); !r)
            std::fprintf(stderr, "relayd: warning: not recorded in the audit trail: %s\n", describe(r.error()).c_str());
    }

    int user_add(std::vector<std::string> const& args)
    {
        if (args.size() != 1)
            return usage("usage: relayd user add EMAIL");
        auto email = relay::auth::normalize_email(args[0]);
        if (!relay::auth::is_valid_email(email))
            return fail(fmt::format("'{}' is not a valid email address", args[0]));
        std::string why;
        auto password = read_password(why);
        if (!password)
            return fail(why);
        if (auto violation = relay::auth::check_password_policy(*password))
            return fail(violation->message);
        auto created = db->create_user(email, hasher.hash(*password), unix_now());
        if (!created) {
            if (created.error() == relay::make_error_code(relay::errc::email_taken))
                return fail(fmt::format("an account with email {} already exists", email));
            return fail(describe(created.error()));
        }
        fmt::print("created user {} ({})\n", created->email, created->id);
        return 0;
    }

    int user_list(std::vector<std::string> const& args)
    {
        if (!args.empty())
            return usage("usage: relayd user list");
        auto users = db->list_users();
        if (!users)
            return fail(describe(users.error()));
        fmt::print("user_id\temail\tcreated\n");
        for (auto const& u : *users)
            fmt::print("{}\t{}\t{}\n", u.id, u.email, format_time(u.created_at));
        return 0;
    }

    int user_reset_token(std::vector<std::string> const& args)
    {
        if (args.size() != 1)
            return usage("usage: relayd user reset-token EMAIL");
        auto email = relay::auth::normalize_email(args[0]);
        auto user = db->find_user_by_email(email);
        if (!user) {
            if (user.error() == relay::make_error_code(relay::errc::user_not_found))
                return fail(fmt::format("no account has email {}", email));
            return fail(describe(user.error()));
        }
        // Stored hashed like the tokens of POST /api/auth/password-reset; printed once.
        auto token = relay::auth::random_token(32);
        if (auto r = db->insert_reset_token(
                store::reset_token{relay::auth::sha256_hex(token), user->id, unix_now() + reset_token_ttl});
            !r)
            return fail(describe(r.error()));
        record("auth.reset_token_issued", std::nullopt, user->id);
        // The link goes with the explanation on stderr: stdout stays the token alone, for scripts.
        print_value(fmt::format("password-reset token for {}: single use, valid for 30 minutes; the user opens\n"
                                "password_reset_link={}\n"
                                "to choose a new password in the console, or sends the token with a new password to "
                                "POST /api/auth/password-reset/confirm",
                                user->email, relay::server::reset_link(cfg.server.public_url, token)),
                    token);
        return 0;
    }

    int device_add(std::vector<std::string> const& args)
    {
        constexpr auto syntax = "usage: relayd device add ID --owner EMAIL [--name NAME] [--public-key KEY|@FILE]";
        std::optional<std::string> id, owner, name, public_key;
        for (std::size_t i = 0; i < args.size(); ++i) {
            auto const& a = args[i];
            if (a == "--owner" || a == "--name" || a == "--public-key") {
                if (i + 1 >= args.size())
                    return usage(a + " needs a value");
                (a == "--owner" ? owner : a == "--name" ? name : public_key) = args[++i];
            } else if (a.starts_with("--")) {
                return usage(fmt::format("unknown option {} for device add", a));
            } else if (!id) {
                id = a;
            } else {
                return usage(syntax);
            }
        }
        if (!id || !owner)
            return usage(syntax);
        if (!relay::protocol::is_valid_device_id(*id))
            return fail(fmt::format("'{}' is not a valid device id: 1 to 64 characters from A-Z a-z 0-9 . _ -, not . or ..", *id));
        if (!name)
            name = *id;
        if (!relay::protocol::is_valid_device_name(*name))
            return fail("the name must be 1 to 128 bytes, not blank, without control characters or invisible "
                        "direction marks");
        // A key device: only the public key is stored (docs/auth.md "Device keys").
        std::optional<std::string> key_text;
        if (public_key) {
            std::string text = *public_key;
            if (text.starts_with("@")) {
                std::ifstream in(text.substr(1), std::ios::binary);
                if (!in)
                    return fail(fmt::format("cannot read {}", text.substr(1)));
                text.assign(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
            }
            auto raw = relay::auth::parse_device_public_key(text);
            if (!raw)
                return fail("--public-key needs an Ed25519 public key: base64url without padding of its 32 bytes "
                            "(as relay-cli device keygen prints it), or @FILE with a PEM public key");
            key_text = relay::auth::device_public_key_text(*raw);
        }
        auto email = relay::auth::normalize_email(*owner);
        auto user = db->find_user_by_email(email);
        if (!user) {
            if (user.error() == relay::make_error_code(relay::errc::user_not_found))
                return fail(fmt::format("no account has email {}; create it first with: relayd user add {}", email, email));
            return fail(describe(user.error()));
        }
        // Sealed exactly as POST /api/devices does, so the relay can open it.
        std::string secret;
        store::device d;
        d.device_id = *id;
        d.name = *name;
        d.created_at = unix_now();
        if (key_text) {
            d.key_type = store::device_key_type::ed25519;
            d.public_key = *key_text;
        } else {
            secret = relay::auth::generate_device_secret();
            d.secret_sealed = device_secrets.seal(secret, *id);
        }
        if (auto r = db->create_device(d, user->id); !r) {
            if (r.error() == relay::make_error_code(relay::errc::device_exists))
                return fail(fmt::format("a device with id {} already exists", *id));
            return fail(describe(r.error()));
        }
        record("device.added", *id, user->id, key_text ? R"({"key_type":"ed25519"})" : "{}");
        if (key_text) {
            std::fprintf(stderr, "created device %s \"%s\" owned by %s; it authenticates with the Ed25519 key %s "
                                 "and has no secret\n",
                         id->c_str(), name->c_str(), user->email.c_str(), key_text->c_str());
            return 0;
        }
        print_value(fmt::format("created device {} \"{}\" owned by {}; its secret is shown only now:", *id, *name,
                                user->email),
                    secret);
        return 0;
    }

    int device_list(std::vector<std::string> const& args)
    {
        if (!args.empty())
            return usage("usage: relayd device list");
        auto devices = db->list_devices();
        if (!devices)
            return fail(describe(devices.error()));
        fmt::print("device_id\tname\towner\tlast_seen\n");
        for (auto const& d : *devices) {
            std::string owner = "-";
            if (auto members = db->list_members(d.device_id); members && !members->empty() &&
                                                              members->front().access == store::role::owner)
                owner = members->front().email;
            fmt::print("{}\t{}\t{}\t{}\n", d.device_id, d.name, owner, format_time(d.last_seen));
        }
        return 0;
    }

    int device_rotate(std::vector<std::string> const& args)
    {
        if (args.size() != 1)
            return usage("usage: relayd device rotate ID");
        auto const& id = args[0];
        auto secret = relay::auth::generate_device_secret();
        if (auto r = db->set_device_secret(id, device_secrets.seal(secret, id)); !r) {
            if (r.error() == relay::make_error_code(relay::errc::device_not_found))
                return fail(fmt::format("no device has id {}", id));
            return fail(describe(r.error()));
        }
        record("device.secret_rotated", id, std::nullopt);
        print_value(fmt::format("new secret for device {}; the old one no longer authenticates (a robot already "
                                "connected with it stays connected until it reconnects; POST "
                                "/api/devices/{}/secret disconnects it at once):",
                                id, id),
                    secret);
        return 0;
    }
};

/** Whether `location` is a SQLite file (not :memory:, not a PostgreSQL URL). */
bool is_sqlite_file(std::string_view location)
{
    return location != ":memory:" && !store::is_postgresql_location(location);
}

/** Whether a SQLite file exists; a PostgreSQL URL always "exists" (the server says otherwise). */
bool sqlite_file_missing(std::string const& location)
{
    std::error_code ec;
    return is_sqlite_file(location) && !std::filesystem::exists(location, ec) && !ec;
}

/** `relayd db …`: the schema and copying a deployment, on locations alone (no keys). */
struct database_admin {
    config const& cfg;

    store::store_options options() const
    {
        store::store_options o;
        o.pool_size = 1; // one command, one connection
        return o;
    }

    /** Refuses :memory: and a missing file as a source; an empty string when `location` is usable. */
    static std::string refuse(std::string const& location, std::string_view what)
    {
        if (location == ":memory:")
            return fmt::format("{} is :memory:, which lives only inside one process; name the relay's database file "
                               "or PostgreSQL URL",
                               what);
        if (sqlite_file_missing(location))
            return fmt::format("the database {} does not exist", location);
        return {};
    }

    int status(std::vector<std::string> const& args)
    {
        if (!args.empty())
            return usage("usage: relayd db status");
        auto const& location = cfg.server.database;
        if (location == ":memory:")
            return fail(refuse(location, "RELAY_DATABASE"));
        // A missing file is reported as version 0 (nothing to migrate from yet), not created.
        auto s = store::read_schema_status(location, options());
        if (!s)
            return fail(s.error().message);
        fmt::print("database {} ({})\n", store::redact_location(location), s->backend);
        fmt::print("schema version {}; this relayd knows version {}\n", s->current, s->known);
        std::size_t pending = 0;
        for (auto const& step : s->steps) {
            std::string state = "pending";
            if (step.applied)
                state = step.applied_at ? "applied " + format_time(step.applied_at)
                                        : std::string("applied (before steps were recorded)");
            else
                ++pending;
            fmt::print("  {:>3}  {:<58} {}\n", step.version, step.name, state);
        }
        if (s->current > s->known) {
            fmt::print("the schema is newer than this relayd knows: run the relayd that migrated it (or a newer "
                       "one), or restore a backup\n");
            return failed;
        }
        if (pending > 0) {
            fmt::print("{} step{} pending: run relayd db migrate\n", pending, pending == 1 ? "" : "s");
            return failed;
        }
        fmt::print("up to date\n");
        return 0;
    }

    int migrate(std::vector<std::string> const& args)
    {
        if (!args.empty())
            return usage("usage: relayd db migrate");
        auto const& location = cfg.server.database;
        if (location == ":memory:")
            return fail(refuse(location, "RELAY_DATABASE"));
        // A new file is created with every step, unless its key beside it says it was lost.
        if (auto why = refuse_lost_database(cfg); !why.empty())
            return fail(why);
        auto before = store::read_schema_status(location, options());
        if (!before)
            return fail(before.error().message);
        auto after = store::migrate_schema(location, options());
        if (!after)
            return fail(after.error().message);
        bool applied = false;
        for (auto const& step : after->steps)
            if (step.applied && step.version > before->current) {
                fmt::print("applied {} ({})\n", step.version, step.name);
                applied = true;
            }
        if (!applied)
            fmt::print("already at version {}\n", after->current);
        return 0;
    }

    int copy(std::vector<std::string> const& args)
    {
        constexpr auto syntax = "usage: relayd db copy --from LOCATION --to LOCATION [--replace]";
        std::optional<std::string> from, to;
        store::copy_options how;
        for (std::size_t i = 0; i < args.size(); ++i) {
            auto const& a = args[i];
            if (a == "--replace") {
                how.mode = store::import_mode::replace;
            } else if (a == "--from" || a == "--to") {
                if (i + 1 >= args.size())
                    return usage(a + " needs a value");
                (a == "--from" ? from : to) = args[++i];
            } else if (a.starts_with("--")) {
                return usage(fmt::format("unknown option {} for db copy", a));
            } else {
                return usage(syntax);
            }
        }
        if (!from || !to)
            return usage(syntax);
        if (auto why = refuse(*from, "the source"); !why.empty())
            return fail(why);
        if (*to == ":memory:")
            return fail(refuse(*to, "the target"));
        auto const shown_from = store::redact_location(*from);
        auto const shown_to = store::redact_location(*to);
        if (*from == *to)
            return fail(fmt::format("the source and the target are the same database ({})", shown_from));

        auto copied = store::copy_store(*from, *to, how, options());
        if (!copied) {
            if (copied.error().code == relay::make_error_code(relay::errc::forbidden))
                return fail(fmt::format("the target {} already holds accounts, devices or tokens; nothing was copied. "
                                        "Copy into an empty database, or add --replace to delete everything it "
                                        "holds first",
                                        shown_to));
            return fail(copied.error().message);
        }
        auto const& n = *copied;
        fmt::print("copied {} to {} in one transaction: {} users, {} refresh tokens, {} reset tokens, {} devices, "
                   "{} memberships, {} WebRTC sessions, {} audit entries\n",
                   shown_from, shown_to, n.users, n.refresh_tokens, n.reset_tokens, n.devices, n.memberships,
                   n.sessions, n.audit_entries);
        // Device secrets are sealed with the source relay's key: another key opens none of them.
        std::error_code ec;
        auto const key_file = *from + ".key";
        if (is_sqlite_file(*from) && std::filesystem::exists(key_file, ec)) {
            fmt::print("the relay on {} must use the same device-secret key, or robots cannot authenticate: set its "
                       "RELAY_SECRET_KEY to the content of {}{}\n",
                       shown_to, key_file,
                       is_sqlite_file(*to) ? fmt::format(" (or copy that file to {}.key)", *to) : std::string());
        } else {
            fmt::print("the relay on {} must use the same RELAY_SECRET_KEY as the relay on {}, or robots cannot "
                       "authenticate\n",
                       shown_to, shown_from);
        }
        return 0;
    }
};

} // namespace

int run_db(config const& cfg, std::vector<std::string> const& words)
{
    if (words.size() < 2)
        return usage("'db' needs a command: status, migrate or copy");
    auto const& command = words[1];
    std::vector<std::string> args(words.begin() + 2, words.end());
    using handler = int (database_admin::*)(std::vector<std::string> const&);
    std::map<std::string, handler, std::less<>> const commands = {
        {"status", &database_admin::status},
        {"migrate", &database_admin::migrate},
        {"copy", &database_admin::copy},
    };
    auto it = commands.find(command);
    if (it == commands.end())
        return usage(fmt::format("unknown command 'db {}'", command));
    for (auto const& w : cfg.warnings)
        std::fprintf(stderr, "relayd: warning: %s\n", w.c_str());
    database_admin a{cfg};
    return (a.*(it->second))(args);
}

int run_admin(config cfg, std::vector<std::string> const& words)
{
    auto const& group = words.at(0);
    if (words.size() < 2)
        return usage(fmt::format("'{}' needs a command", group));
    auto const& command = words[1];
    std::vector<std::string> args(words.begin() + 2, words.end());

    using handler = int (admin::*)(std::vector<std::string> const&);
    std::map<std::string, handler, std::less<>> const commands = {
        {"user add", &admin::user_add},
        {"user list", &admin::user_list},
        {"user reset-token", &admin::user_reset_token},
        {"device add", &admin::device_add},
        {"device list", &admin::device_list},
        {"device rotate", &admin::device_rotate},
    };
    auto it = commands.find(group + " " + command);
    if (it == commands.end())
        return usage(fmt::format("unknown command '{} {}'", group, command));

    if (cfg.server.database == ":memory:")
        return fail("RELAY_DATABASE is :memory:; admin commands need the relay's database file");
    // The same sealing key as the relay: device secrets sealed here must open there. The JWT
    // secret is about serving: admin commands neither need nor create it.
    if (auto e = prepare_secret_key(cfg); !e.empty())
        return fail(e);
    for (auto const& w : cfg.warnings)
        std::fprintf(stderr, "relayd: warning: %s\n", w.c_str());

    store::store_options options;
    auto opened = store::open_store(cfg.server.database, options);
    if (!opened)
        return fail(opened.error().message);
    try {
        admin a{cfg, std::move(*opened),
                relay::auth::password_hasher(relay::auth::scrypt_params{cfg.server.scrypt_log_n, 8, 1}),
                relay::auth::secret_box(cfg.server.secret_key)};
        return (a.*(it->second))(args);
    } catch (std::exception const& e) {
        // Only OpenSSL running out of memory or randomness gets here.
        return fail(e.what());
    }
}

} // namespace relayd
