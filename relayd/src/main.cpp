#include <relay/relay.hpp>
int main() { return 0; }
