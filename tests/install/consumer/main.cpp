// A third party's program: uses the installed headers and libraries only.
#include <relay/relay.hpp>

#include <iostream>

int main()
{
    auto code = relay::errc::device_offline;
    std::cout << relay::wire_name(code) << ' ' << relay::http_status(code) << '\n';
    return 0;
}
