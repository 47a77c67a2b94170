#pragma once
/** @file The relay under test: one relay-bench starts itself (--spawn) or one already running
 * (--relay), and what can be read about its process (RSS, CPU time) from /proc. */
#include "options.hpp"

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include <sys/types.h>

namespace relay::support {
class child_process;
}

namespace relay::bench {

/** A relay to talk to. Spawned ones are stopped (SIGTERM, then SIGKILL) on destruction. */
class relay_target {
public:
    /** Starts or finds the relay described by `opts`; throws std::runtime_error with the reason
     * (including the relay's own output when it failed to start). */
    static std::unique_ptr<relay_target> open(target_options const& opts, std::size_t node = 0);
    /** Every node `opts` names (--relay URL1,URL2,…), in order; the one relay otherwise. */
    static std::vector<std::unique_ptr<relay_target>> open_nodes(target_options const& opts);
    ~relay_target();
    relay_target(relay_target const&) = delete;
    relay_target& operator=(relay_target const&) = delete;

    std::string const& host() const noexcept { return host_; }
    std::uint16_t port() const noexcept { return port_; }
    /** The relay's pid, or 0 when unknown (an existing relay without --relayd-pid). */
    pid_t pid() const noexcept { return pid_; }
    bool spawned() const noexcept { return spawned_; }
    /** Settings given to a spawned relay, for the report. Empty for an existing relay. */
    std::map<std::string, std::string> const& settings() const noexcept { return settings_; }

private:
    relay_target() = default;

    std::string host_;
    std::uint16_t port_ = 0;
    pid_t pid_ = 0;
    bool spawned_ = false;
    std::string log_path_;
    std::string database_dir_; ///< the temporary directory of a fresh SQLite file, removed at the end
    std::map<std::string, std::string> settings_;
    std::unique_ptr<support::child_process> process_; ///< the spawned relay
};

/** A spawned relay's setting as the report shows it: secrets hidden, a database URL without
 * its password. */
std::string setting_for_report(std::string const& key, std::string const& value);

/** A process's VmRSS in KiB from /proc/<pid>/status; -1 when it cannot be read. */
long read_rss_kb(pid_t pid);

/** A process's open descriptors (the entries of /proc/<pid>/fd); -1 when they cannot be read. */
long read_descriptor_count(pid_t pid);

/** User plus system CPU seconds a process has used so far, from /proc/<pid>/stat; -1 on failure. */
double read_cpu_seconds(pid_t pid);

/** CPU seconds of a process and of its children, live ones (each of its connections, for
 * PostgreSQL) and those it has waited for; -1 when `pid` cannot be read. */
double read_tree_cpu_seconds(pid_t pid);

/** This process's own user plus system CPU seconds. */
double own_cpu_seconds();

/** Raises this process's open-file limit to its hard limit; returns the new soft limit. A
 * spawned relay inherits it. */
unsigned long raise_open_file_limit();

} // namespace relay::bench
