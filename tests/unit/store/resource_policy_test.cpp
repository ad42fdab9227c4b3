// Resource policies in the store (store.h): one per project, kept across a restart, replaced by
// the next put, and gone with their project.
#include <gtest/gtest.h>
#include <stdlib.h>

#include <filesystem>

#include "store/store.h"

namespace kiln::store {
namespace {

namespace fs = std::filesystem;

TEST(ResourcePolicy, OnePerProjectKeptAndDeletedWithIt) {
  std::string tmpl = (fs::temp_directory_path() / "kiln-policy-XXXXXX").string();
  ASSERT_NE(::mkdtemp(tmpl.data()), nullptr);
  const fs::path file = fs::path(tmpl) / "kiln.db";
  {
    auto store = open_sqlite(file).value();
    auto missing = store->put_resource_policy("app", "{}");
    ASSERT_FALSE(missing);
    EXPECT_EQ(missing.error().code(), ErrorCode::kNotFound);
    ASSERT_TRUE(store->create_project({"app", 1, 1, "{}"}));
    EXPECT_EQ(store->get_resource_policy("app").value(), std::nullopt);
    ASSERT_TRUE(store->put_resource_policy("app", R"({"v":1})"));
    ASSERT_TRUE(store->put_resource_policy("app", R"({"v":2})"));
  }
  auto store = open_sqlite(file).value();  // a restart
  EXPECT_EQ(store->get_resource_policy("app").value(), std::optional<std::string>(R"({"v":2})"));
  ASSERT_TRUE(store->update_project({"app", 1, 2, "{}"}));  // an update keeps it
  EXPECT_TRUE(store->get_resource_policy("app").value());
  EXPECT_TRUE(store->delete_resource_policy("app").value());
  EXPECT_FALSE(store->delete_resource_policy("app").value());
  ASSERT_TRUE(store->put_resource_policy("app", "{}"));
  ASSERT_TRUE(store->delete_project("app").value());
  ASSERT_TRUE(store->create_project({"app", 3, 3, "{}"}));
  EXPECT_EQ(store->get_resource_policy("app").value(), std::nullopt);
  store.reset();
  fs::remove_all(tmpl);
}

}  // namespace
}  // namespace kiln::store
