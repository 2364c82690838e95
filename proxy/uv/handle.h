#pragma once
// proxy/'s name for the RAII owner of a libuv handle. There is one implementation, in policy/libuv
// (policy/ may not depend on proxy/, the other way round is allowed).
#include "policy/libuv/handle.h"

namespace mxguard::uv {

template <typename T>
using Handle = libuv::Handle<T>;

}  // namespace mxguard::uv
