#include "admin.hpp"

#include <cstdio>

namespace relayd {

int run_admin(config cfg, std::vector<std::string> const& words)
{
    std::fprintf(stderr, "relayd: '%s' needs the account store, which this build does not have yet\n",
                 words.front().c_str());
    return 2;
}

} // namespace relayd
