#include "admin.hpp"

#include <relay/auth/crypto.hpp>
#include <relay/auth/device_auth.hpp>
#include <relay/auth/email.hpp>
#include <relay/auth/password.hpp>
#include <relay/auth/secret_box.hpp>
#include <relay/protocol/timestamp.hpp>
#include <relay/protocol/validation.hpp>
#include <relay/store/store.hpp>

#include <fmt/format.h>

#include <chrono>
#include <cstdio>
#include <iostream>
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
            return fmt::format("the database {} is busy or unreachable; try again", cfg.server.database);
        return fmt::format("database error on {}: {}", cfg.server.database, ec.message());
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
        print_value(fmt::format("password-reset token for {}: single use, valid for 30 minutes; the user sends it "
                                "with a new password to POST /api/auth/password-reset/confirm",
                                user->email),
                    token);
        return 0;
    }

    int device_add(std::vector<std::string> const& args)
    {
        constexpr auto syntax = "usage: relayd device add ID --owner EMAIL [--name NAME]";
        std::optional<std::string> id, owner, name;
        for (std::size_t i = 0; i < args.size(); ++i) {
            auto const& a = args[i];
            if (a == "--owner" || a == "--name") {
                if (i + 1 >= args.size())
                    return usage(a + " needs a value");
                (a == "--owner" ? owner : name) = args[++i];
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
        auto email = relay::auth::normalize_email(*owner);
        auto user = db->find_user_by_email(email);
        if (!user) {
            if (user.error() == relay::make_error_code(relay::errc::user_not_found))
                return fail(fmt::format("no account has email {}; create it first with: relayd user add {}", email, email));
            return fail(describe(user.error()));
        }
        // Sealed exactly as POST /api/devices does, so the relay can open it.
        auto secret = relay::auth::generate_device_secret();
        store::device d{*id, *name, device_secrets.seal(secret, *id), unix_now(), {}, {}, {}};
        if (auto r = db->create_device(d, user->id); !r) {
            if (r.error() == relay::make_error_code(relay::errc::device_exists))
                return fail(fmt::format("a device with id {} already exists", *id));
            return fail(describe(r.error()));
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
        print_value(fmt::format("new secret for device {}; the old one no longer authenticates (a robot already "
                                "connected with it stays connected until it reconnects; POST "
                                "/api/devices/{}/secret disconnects it at once):",
                                id, id),
                    secret);
        return 0;
    }
};

} // namespace

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
