// worker_local_owner: the same object, kept alive as long as any copy is, with a reference count of its own.
#include "proxy/app/worker_local_owner.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace mxguard::app {
namespace {

TEST(WorkerLocalOwner, CopiesCountOnTheirOwnControlBlockNotTheSharedOne) {
  auto shared = std::make_shared<const std::string>("settings");
  auto local = worker_local_owner(shared);
  ASSERT_EQ(local.get(), shared.get()) << "the same object";
  EXPECT_EQ(shared.use_count(), 2) << "the worker's owner holds one reference";
  std::vector<std::shared_ptr<const std::string>> sessions(100, local);
  EXPECT_EQ(shared.use_count(), 2) << "sessions' copies do not touch the shared count";
  EXPECT_EQ(local.use_count(), 101);
  EXPECT_TRUE(local.owner_before(shared) || shared.owner_before(local)) << "two control blocks";
}

TEST(WorkerLocalOwner, TheObjectLivesUntilTheLastCopyOfEitherIsGone) {
  std::weak_ptr<const std::string> watch;
  std::shared_ptr<const std::string> session;
  {
    auto shared = std::make_shared<const std::string>("old snapshot");
    watch = shared;
    session = worker_local_owner(shared);
  }   // the process dropped it (a reload) and so did the worker: a session still holds it
  ASSERT_FALSE(watch.expired());
  EXPECT_EQ(*session, "old snapshot");
  session.reset();
  EXPECT_TRUE(watch.expired());
}

TEST(WorkerLocalOwner, NullStaysNull) {
  EXPECT_EQ(worker_local_owner(std::shared_ptr<const int>()), nullptr);
}

}  // namespace
}  // namespace mxguard::app
