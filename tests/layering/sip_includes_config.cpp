// Compiled by the layering tests with only parley_sip's include path: pure SIP
// code must not see the config module, so this include must fail to resolve.
#include "parley/config/config.hpp"
#include "parley/sip/message.hpp"

int layeringProbe() { return 0; }
