#pragma once
/** @file Users, devices and shares made through the relay's HTTP API (contract section 2),
 * the way the apps make them. Setup only: nothing here is measured. */
#include <cstdint>
#include <string>
#include <vector>

namespace relay::bench {

/** A registered, logged-in user. */
struct account {
    std::string email;
    std::string user_id;
    std::string access_token;
    std::string refresh_token;
};

/** A device and the secret its robot signs challenges with. */
struct device {
    std::string device_id;
    std::string secret;
};

/** Where the relay's HTTP API is, and how many connections may set it up in parallel. */
struct http_setup {
    std::string host;
    std::uint16_t port = 0;
    unsigned workers = 4;
    /** Makes emails unique across runs against the same relay. */
    std::string run_tag;

    /** Registers and logs in `count` users; throws std::runtime_error on any refusal. */
    std::vector<account> create_accounts(std::size_t count) const;

    /** Creates one device per entry of `owners` (an index into `accounts`). */
    std::vector<device> create_devices(std::vector<account> const& accounts, std::vector<std::size_t> const& owners) const;

    /** One share: `owner` (an index into accounts) shares `device` with `viewer` as a viewer. */
    struct share_request {
        std::size_t device;
        std::size_t owner;
        std::size_t viewer;
    };

    /** Makes every share of `requests`. */
    void share(std::vector<account> const& accounts, std::vector<device> const& devices,
               std::vector<share_request> const& requests) const;

    /** GET /stats as JSON text. */
    std::string stats() const;
};

/** A short random hex tag. */
std::string random_tag();

} // namespace relay::bench
