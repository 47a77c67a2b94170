#pragma once
/** @file Umbrella header: everything a program embedding librelay needs. */
#include <relay/protocol/close_code.hpp>
#include <relay/protocol/errc.hpp>
