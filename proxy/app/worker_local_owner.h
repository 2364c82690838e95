#pragma once
// A shared_ptr to the same object whose reference count belongs to one worker.
//
// A session holds its settings snapshot (InboundSettings, OutboundSettings) by shared_ptr, so that a
// reload never frees them under it. Copied from the process-wide pointer, every session's start and end
// is an atomic add on the snapshot's one control block, a cache line every worker writes. A worker
// instead makes its own owner once per snapshot: a control block of its own, holding one reference to the
// shared one, which the aliasing constructor lends to every copy. Its sessions' copies then touch only
// memory of their own worker; the shared count moves once per worker and snapshot.
#include <memory>

namespace mxguard::app {

template <typename T>
std::shared_ptr<T> worker_local_owner(std::shared_ptr<T> shared) {
  if (!shared) return shared;
  T* object = shared.get();
  auto holder = std::make_shared<std::shared_ptr<T>>(std::move(shared));
  return std::shared_ptr<T>(std::move(holder), object);
}

}  // namespace mxguard::app
